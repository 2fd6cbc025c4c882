"""DaemonSets against a real master with controllers, scheduler and hollow nodes: one pod per eligible node."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from kajitori.api.apps import DaemonSet
from kajitori.api.core import Node, Pod, Taint
from kajitori.api.registry import by_model, by_name
from kajitori.client import ApiClient, ApiError, NotFoundError
from kajitori.informer import Informer
from master.controllers.daemon_placement import REVISION_HASH_LABEL, target_node
from master.controllers.pod_state import is_active, is_ready
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import active, app_pods, deployment, ready
from tests.support.cluster import wait_for_events
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def daemonset(name: str, *, image: str = "kajitori/busybox:1", node_selector: dict[str, str] | None = None,
              tolerations: list[dict[str, Any]] | None = None, strategy: dict[str, Any] | None = None) -> DaemonSet:  # fmt: skip
    pod_spec: dict[str, Any] = {"containers": [{"name": "agent", "image": image, "command": ["sleep", "3600"]}]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if tolerations:
        pod_spec["tolerations"] = tolerations
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
    }
    if strategy:
        spec["updateStrategy"] = strategy
    return DaemonSet.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": spec})


def pods_by_node(client: ApiClient, app_name: str) -> dict[str, list[Pod]]:
    result: dict[str, list[Pod]] = {}
    for pod in active(app_pods(client, app_name)):
        result.setdefault(pod.spec.nodeName or "<unbound>", []).append(pod)
    return result


def one_ready_pod_on(client: ApiClient, app_name: str, nodes: set[str]) -> bool:
    """Exactly one live pod on each of ``nodes``, all ready, and no other live pod."""
    placed = pods_by_node(client, app_name)
    return set(placed) == nodes and all(len(p) == 1 and is_ready(p[0]) for p in placed.values())


def settled(client: ApiClient, name: str, desired: int) -> bool:
    ds = client.get(DaemonSet, name, "default")
    s = ds.status
    return (s.observedGeneration or 0) >= (ds.metadata.generation or 0) and (
        s.desiredNumberScheduled, s.currentNumberScheduled, s.numberReady, s.updatedNumberScheduled, s.numberAvailable
    ) == (desired,) * 5


def test_one_pod_per_node_a_new_node_gets_one_a_deleted_node_loses_it(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    hollow(["node-a", "node-b", "node-c"])
    client.create(daemonset("agent"))
    wait_for(lambda: one_ready_pod_on(client, "agent", {"node-a", "node-b", "node-c"}), what="a ready pod on each node")
    wait_for(lambda: settled(client, "agent", 3), what="status 3/3")
    for pod in active(app_pods(client, "agent")):
        # Placed the Kubernetes >= 1.12 way: the controller names the node, the scheduler binds.
        required = pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution  # type: ignore[union-attr]
        fields = required.nodeSelectorTerms[0].matchFields  # type: ignore[union-attr]
        assert [(f.key, f.values) for f in fields or []] == [("metadata.name", [pod.spec.nodeName])]
        assert [(r.kind, r.name, r.controller) for r in pod.metadata.ownerReferences or []] == [("DaemonSet", "agent", True)]
        assert REVISION_HASH_LABEL in (pod.metadata.labels or {})
    wait_for_events(client, {"SuccessfulCreate", "Scheduled"})

    hollow(["node-d"])
    wait_for(lambda: one_ready_pod_on(client, "agent", {"node-a", "node-b", "node-c", "node-d"}), what="node-d gets one")
    wait_for(lambda: settled(client, "agent", 4), what="status 4/4")

    out = CliRunner().invoke(app, ["get", "ds", "--kubeconfig", str(cluster_master.kubeconfig)])
    assert out.exit_code == 0, out.output
    header, row = out.output.splitlines()[:2]
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"]
    assert row.split()[:7] == ["agent", "4", "4", "4", "4", "4", "<none>"]
    described = CliRunner().invoke(app, ["describe", "ds", "agent", "--kubeconfig", str(cluster_master.kubeconfig)])
    assert described.exit_code == 0, described.output
    assert "Desired Number of Nodes Scheduled:" in described.output
    assert "Pods Status:" in described.output and "4 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described.output
    assert "SuccessfulCreate" in described.output

    client.delete(Node, "node-c")
    wait_for(lambda: "node-c" not in pods_by_node(client, "agent"), what="node-c's pod deleted")
    wait_for(lambda: settled(client, "agent", 3), what="status 3/3 again")


def test_a_node_that_no_longer_matches_the_node_selector_loses_its_pod(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"], labels={"logs": "yes"})
    hollow(["node-c"])
    client.create(daemonset("shipper", node_selector={"logs": "yes"}))
    wait_for(lambda: one_ready_pod_on(client, "shipper", {"node-a", "node-b"}), what="pods on the labelled nodes only")
    on_a = pods_by_node(client, "shipper")["node-a"][0].metadata.uid

    client.patch(Node, "node-b", {"metadata": {"labels": {"logs": "no"}}})
    client.patch(Node, "node-c", {"metadata": {"labels": {"logs": "yes"}}})
    wait_for(lambda: one_ready_pod_on(client, "shipper", {"node-a", "node-c"}), what="node-b's pod gone, node-c's made")
    assert pods_by_node(client, "shipper")["node-a"][0].metadata.uid == on_a, "node-a's pod was left alone"
    wait_for(lambda: settled(client, "shipper", 2), what="status 2/2")
    wait_for_events(client, {"SuccessfulDelete"})


def test_a_tainted_node_gets_a_pod_only_with_a_toleration(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    # Registered with its taint (a kubelet's --register-with-taints). A taint patched on just before
    # the DaemonSet is made may reach the controller's node cache after the DaemonSet does; the pod
    # it then places on node-t rightly stays, as in Kubernetes (a NoSchedule taint evicts nothing).
    hollow(["node-t"], taints=[Taint(key="dedicated", value="infra", effect="NoSchedule")])
    client.create(daemonset("plain"))
    client.create(daemonset("tolerant", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]))
    wait_for(lambda: one_ready_pod_on(client, "tolerant", {"node-a", "node-t"}), what="tolerant on both nodes")
    wait_for(lambda: one_ready_pod_on(client, "plain", {"node-a"}), what="plain on node-a only")
    wait_for(lambda: settled(client, "plain", 1), what="plain wants 1 node")

    # A cordoned node keeps and gets daemon pods (they tolerate node.kubernetes.io/unschedulable).
    client.patch(Node, "node-t", {"spec": {"unschedulable": True, "taints": None}})
    wait_for(lambda: one_ready_pod_on(client, "plain", {"node-a", "node-t"}), what="plain on the cordoned node")


def test_rolling_update_never_exceeds_max_unavailable(client: ApiClient, hollow: Callable[..., HollowCluster],
                                                      cluster_master: MasterProcess) -> None:  # fmt: skip
    nodes = {f"node-{i}" for i in range(5)}
    hollow(sorted(nodes))
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}
    client.create(daemonset("roll", strategy=strategy))
    wait_for(lambda: one_ready_pod_on(client, "roll", nodes) and settled(client, "roll", 5), what="first rollout")

    # Every pod event: how many nodes lack a ready pod?
    informer = Informer(client, Pod, namespace="default", label_selector="app=roll")
    observed: list[int] = []
    lock = threading.Lock()

    def check(*_args: object) -> None:
        serving = {p.spec.nodeName for p in informer.list() if is_active(p) and is_ready(p)}
        with lock:
            observed.append(len(nodes - serving))

    informer.add_handlers(check, check, check)
    informer.start()
    assert informer.wait_synced(60)
    client.patch(DaemonSet, "roll", {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "kajitori/busybox:2"}]}}}}, "default")

    status = CliRunner().invoke(app, ["rollout", "status", "daemonset/roll", "--timeout", "60",
                                      "--kubeconfig", str(cluster_master.kubeconfig)])  # fmt: skip
    assert status.exit_code == 0, status.output
    assert 'daemon set "roll" successfully rolled out' in status.output
    wait_for(lambda: one_ready_pod_on(client, "roll", nodes) and all(
        p.spec.containers[0].image == "kajitori/busybox:2" for p in active(app_pods(client, "roll"))
    ), what="every node on the new template")  # fmt: skip
    informer.stop()
    with lock:
        worst = max(observed)
    print(f"\nrolling update of 5 nodes, maxUnavailable 2: {len(observed)} pod events, at most {worst} node(s) without a ready pod")
    assert worst <= 2, observed
    assert worst >= 1, "pods were replaced"
    assert len({(p.metadata.labels or {})[REVISION_HASH_LABEL] for p in active(app_pods(client, "roll"))}) == 1


def test_surge_keeps_every_node_served_during_an_update(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    nodes = {"node-a", "node-b", "node-c"}
    hollow(sorted(nodes))
    client.create(daemonset("surge", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}))
    wait_for(lambda: one_ready_pod_on(client, "surge", nodes) and settled(client, "surge", 3), what="first rollout")

    informer = Informer(client, Pod, namespace="default", label_selector="app=surge")
    unserved: list[int] = []
    doubled: list[int] = []
    lock = threading.Lock()

    def check(*_args: object) -> None:
        pods = [p for p in informer.list() if is_active(p)]
        serving = {p.spec.nodeName for p in pods if is_ready(p)}
        per_node = [sum(1 for p in pods if target_node(p) == n) for n in nodes]
        with lock:
            unserved.append(len(nodes - serving))
            doubled.append(sum(1 for count in per_node if count > 1))

    informer.add_handlers(check, check, check)
    informer.start()
    assert informer.wait_synced(60)
    client.patch(DaemonSet, "surge", {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "kajitori/busybox:2"}]}}}}, "default")
    wait_for(lambda: one_ready_pod_on(client, "surge", nodes) and settled(client, "surge", 3) and all(
        p.spec.containers[0].image == "kajitori/busybox:2" for p in active(app_pods(client, "surge"))
    ), what="every node on the new template")  # fmt: skip
    informer.stop()
    with lock:
        assert max(unserved) == 0, unserved
        assert max(doubled) == 1, doubled


def test_a_pod_that_does_not_fit_its_node_is_reported_as_failed_placement(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"], cpu="1")
    big = daemonset("big").to_dict()
    big["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "2"}}
    client.create_raw(by_model(DaemonSet), big, "default")

    def failed_placement() -> list[str]:
        events = client.list_raw(by_name("events"), "default")["items"]
        return [e["message"] for e in events if e["reason"] == "FailedPlacement" and e["involvedObject"]["name"] == "big"]

    messages = wait_for(failed_placement, what="a FailedPlacement event")
    assert "on node-a" in messages[0] and "Insufficient cpu" in messages[0], messages
    pods = active(app_pods(client, "big"))
    assert len(pods) == 1 and not pods[0].spec.nodeName, "one pending pod, not one per retry"
    status = client.get(DaemonSet, "big", "default").status
    assert (status.desiredNumberScheduled, status.numberReady, status.numberUnavailable) == (1, 0, 1)


def test_on_delete_replaces_only_deleted_pods(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    client.create(daemonset("manual", strategy={"type": "OnDelete"}))
    wait_for(lambda: one_ready_pod_on(client, "manual", {"node-a", "node-b"}), what="first pods")
    client.patch(DaemonSet, "manual", {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "kajitori/busybox:2"}]}}}}, "default")
    wait_for(lambda: (client.get(DaemonSet, "manual", "default").status.observedGeneration or 0) == 2, what="update observed")
    victim = pods_by_node(client, "manual")["node-a"][0]
    client.delete(Pod, victim.metadata.name or "", "default")
    wait_for(lambda: one_ready_pod_on(client, "manual", {"node-a", "node-b"})
             and pods_by_node(client, "manual")["node-a"][0].metadata.uid != victim.metadata.uid, what="node-a replaced")  # fmt: skip
    images = {n: p[0].spec.containers[0].image for n, p in pods_by_node(client, "manual").items()}
    assert images == {"node-a": "kajitori/busybox:2", "node-b": "kajitori/busybox:1"}
    status = client.get(DaemonSet, "manual", "default").status
    assert (status.desiredNumberScheduled, status.updatedNumberScheduled) == (2, 1)


def test_daemon_pods_stay_on_a_silent_node_while_other_pods_are_evicted(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    nodes = hollow(["node-a", "node-b"])
    client.create(daemonset("stay"))
    client.create(deployment("movable", replicas=2))
    wait_for(lambda: one_ready_pod_on(client, "stay", {"node-a", "node-b"}), what="daemon pods")
    wait_for(lambda: {p.spec.nodeName for p in ready(app_pods(client, "movable"))} == {"node-a", "node-b"}, what="spread")
    daemon_uid = pods_by_node(client, "stay")["node-a"][0].metadata.uid
    movable_on_a = [p.metadata.name for p in active(app_pods(client, "movable")) if p.spec.nodeName == "node-a"]

    nodes.silence("node-a")
    wait_for(lambda: any(t.key == "node.kubernetes.io/unreachable" and t.effect == "NoExecute"
                         for t in client.get(Node, "node-a").spec.taints or []), what="node-a tainted unreachable", timeout=30)  # fmt: skip

    def evicted() -> bool:
        names = {p.metadata.name for p in app_pods(client, "movable")}
        return not names & set(movable_on_a)

    wait_for(evicted, what="the Deployment's pod evicted from node-a", timeout=30)
    pods = [p for p in app_pods(client, "stay") if p.spec.nodeName == "node-a"]
    assert [(p.metadata.uid, p.metadata.deletionTimestamp) for p in pods] == [(daemon_uid, None)], "the daemon pod stays"
    wait_for_events(client, {"TaintManagerEviction"})
    # Kubernetes: an unreachable node (NoSchedule taint) is not a node that should run a new pod; its pod may stay.
    wait_for(lambda: client.get(DaemonSet, "stay", "default").status.numberMisscheduled == 1, what="misscheduled 1")

    nodes.revive("node-a")
    wait_for(lambda: not client.get(Node, "node-a").spec.taints, what="node-a back")
    wait_for(lambda: client.get(DaemonSet, "stay", "default").status.desiredNumberScheduled == 2, what="desired 2 again")
    assert [p.metadata.uid for p in app_pods(client, "stay") if p.spec.nodeName == "node-a"] == [daemon_uid]


def test_deleting_the_daemonset_deletes_its_pods(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    client.create(daemonset("gone"))
    client.create(daemonset("gone-fg"))
    wait_for(lambda: one_ready_pod_on(client, "gone", {"node-a", "node-b"}), what="pods")
    wait_for(lambda: one_ready_pod_on(client, "gone-fg", {"node-a", "node-b"}), what="pods")
    client.delete(DaemonSet, "gone", "default")
    wait_for(lambda: not app_pods(client, "gone"), what="pods collected after a background delete")
    client.delete(DaemonSet, "gone-fg", "default", propagation_policy="Foreground")
    wait_for(lambda: not app_pods(client, "gone-fg") and _gone(client, "gone-fg"), what="foreground: pods, then the DaemonSet")


def _gone(client: ApiClient, name: str) -> bool:
    try:
        client.get(DaemonSet, name, "default")
    except NotFoundError:
        return True
    return False


def test_a_selector_that_does_not_match_the_template_is_refused(client: ApiClient) -> None:
    body = daemonset("bad").to_dict()
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiError) as refused:
        client.create_raw(by_model(DaemonSet), body, "default")
    assert refused.value.code == 422
    assert refused.value.causes[0]["field"].startswith("spec")
    assert "`selector` does not match template `labels`" in refused.value.message


def test_kubectl_rollout_history_and_undo_of_a_daemonset_use_its_controller_revisions(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    from kajitori.api.apps import ControllerRevision
    from tests.integration.api.test_kubectl_protobuf import kubectl_binary, run

    hollow(["node-a"])
    client.create(daemonset("logs"))
    wait_for(lambda: settled(client, "logs", 1), what="logs settled")
    client.patch(DaemonSet, "logs", {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "kajitori/busybox:2"}]}}}}, "default")

    def image() -> str | None:
        pods = [p for p in active(app_pods(client, "logs")) if is_ready(p)]
        return pods[0].spec.containers[0].image if len(pods) == 1 else None

    wait_for(lambda: image() == "kajitori/busybox:2" and settled(client, "logs", 1), what="logs on busybox:2")
    revisions = sorted((r.revision, r.metadata.name) for r in client.list(ControllerRevision, "default").items)
    assert [number for number, _ in revisions] == [1, 2]
    if kubectl_binary("1.33") is not None:
        history = run(cluster_master, "1.33", "rollout", "history", "daemonset/logs", "-n", "default").stdout.split()
        assert history[:4] == ["daemonset.apps/logs", "REVISION", "CHANGE-CAUSE", "1"]
        assert run(cluster_master, "1.33", "rollout", "undo", "daemonset/logs", "-n", "default").stdout.strip() == "daemonset.apps/logs rolled back"
        wait_for(lambda: image() == "kajitori/busybox:1" and settled(client, "logs", 1), what="logs back on busybox:1")
        wait_for(lambda: sorted(r.revision for r in client.list(ControllerRevision, "default").items) == [2, 3], what="revision 1 renumbered 3")

    # Kajitori's own rollout history and undo read the same ControllerRevisions.
    kube = ["-n", "default", "--kubeconfig", str(cluster_master.kubeconfig)]
    numbers = sorted(r.revision for r in client.list(ControllerRevision, "default").items)
    said = CliRunner().invoke(app, ["rollout", "history", "ds/logs", *kube])
    assert said.exit_code == 0, said.output
    assert said.output.split()[:3] == ["daemonset.apps/logs", "REVISION", "CHANGE-CAUSE"]
    assert said.output.split()[3::2] == [str(n) for n in numbers]
    before = image()
    other = "kajitori/busybox:2" if before == "kajitori/busybox:1" else "kajitori/busybox:1"
    said = CliRunner().invoke(app, ["rollout", "undo", "daemonset/logs", *kube])
    assert (said.exit_code, said.output.strip()) == (0, "daemonset.apps/logs rolled back")
    wait_for(lambda: image() == other and settled(client, "logs", 1), what=f"logs back on {other}")
    said = CliRunner().invoke(app, ["rollout", "undo", "daemonset/logs", "--to-revision", "99", *kube])
    assert said.exit_code == 1 and "unable to find specified revision 99 in history" in said.output

"""The scheduler's choices and messages, cascading deletes and namespace deletion, on a real master."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kajitori.api.apps import Deployment, ReplicaSet
from kajitori.api.core import ConfigMap, Namespace, Pod, Service, Taint
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, NotFoundError
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import app_pods, deployment, rolled_out

pytestmark = pytest.mark.integration


def _pod(name: str, cpu: str, namespace: str = "default") -> Pod:
    return Pod.model_validate({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "kajitori/busybox:1", "resources": {"requests": {"cpu": cpu}}}]},
    })  # fmt: skip


def test_seed_example_the_node_with_most_room_after_placement_wins(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    sizes = {"small": ("4", "16Gi"), "medium": ("10", "16Gi"), "large": ("15", "16Gi")}
    hollow(list(sizes), sizes)
    client.create(_pod("five-cpus", "5"))
    pod = wait_for(lambda: client.get(Pod, "five-cpus", "default").spec.nodeName, what="binding")
    assert pod == "large"

    def scheduled_events() -> list[dict[str, str]]:
        items = client.list_raw(by_name("events"), "default", field_selector="involvedObject.name=five-cpus")["items"]
        return [e for e in items if e["reason"] == "Scheduled"]

    events = wait_for(scheduled_events, what="Scheduled event")
    assert events[0]["message"] == "Successfully assigned default/five-cpus to large"

def test_unschedulable_pod_says_why_in_kubernetes_words(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    sizes = {"small": ("4", "16Gi"), "medium": ("10", "16Gi"), "large": ("15", "16Gi")}
    hollow(["small", "medium"], sizes)
    # Registered tainted: a taint written just before the pod may reach the scheduler's cache after
    # the pod does, and the pod would (rightly) be bound to the untainted node it saw.
    hollow(["large"], sizes, taints=[Taint(key="dedicated", value="gpu", effect="NoSchedule")])
    client.create(_pod("greedy", "12"))

    def condition() -> str | None:
        pod = client.get(Pod, "greedy", "default")
        cond = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
        unschedulable = cond is not None and cond.reason == "Unschedulable" and cond.status == "False"
        # A try made before the scheduler's cache held all three nodes counts fewer; a node's
        # arrival makes it try again, so the answer for all three follows.
        return cond.message if unschedulable and cond.message and cond.message.startswith("0/3 ") else None  # type: ignore[union-attr]

    message = wait_for(condition, what="PodScheduled=False over the three nodes")
    assert message == "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
    events = wait_for(lambda: [e for e in client.list_raw(by_name("events"), "default", field_selector="involvedObject.name=greedy")["items"]
                               if e["reason"] == "FailedScheduling" and e["message"] == message], what="FailedScheduling event")  # fmt: skip
    assert events[0]["type"] == "Warning"
    assert client.get(Pod, "greedy", "default").spec.nodeName is None

    # A node that fits arrives: the parked pod is tried again at once.
    extra = HollowCluster(client, ["huge"], cpu="32")
    extra.register()
    extra.start()
    try:
        assert wait_for(lambda: client.get(Pod, "greedy", "default").spec.nodeName, what="binding") == "huge"
    finally:
        extra.stop()


def _gone(client: ApiClient, model: type, name: str, namespace: str | None = "default") -> bool:
    try:
        client.get(model, name, namespace)
    except NotFoundError:
        return True
    return False


def test_cascading_deletes(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    for name in ("bg", "fg", "orphan"):
        client.create(deployment(name, replicas=2))
    for name in ("bg", "fg", "orphan"):
        wait_for(lambda n=name: rolled_out(client, n), what=f"{name} rolled out")  # type: ignore[misc]

    # Background: the Deployment goes at once, the collector removes its ReplicaSet and pods.
    client.delete(Deployment, "bg", "default")
    assert _gone(client, Deployment, "bg")
    wait_for(lambda: not app_pods(client, "bg") and not client.list(ReplicaSet, "default", label_selector="app=bg").items,
             what="bg's ReplicaSet and pods collected")  # fmt: skip

    # Foreground: the Deployment stays (deletionTimestamp, finalizer) until its dependents are gone.
    client.delete(Deployment, "fg", "default", propagation_policy="Foreground")
    held = client.get(Deployment, "fg", "default")
    assert held.metadata.deletionTimestamp and "foregroundDeletion" in (held.metadata.finalizers or [])
    wait_for(lambda: _gone(client, Deployment, "fg"), what="fg gone after its dependents")
    assert not app_pods(client, "fg")
    assert not client.list(ReplicaSet, "default", label_selector="app=fg").items

    # Orphan: the ReplicaSet goes, its pods stay, without the owner reference.
    rs = client.list(ReplicaSet, "default", label_selector="app=orphan").items[0]
    client.delete(Deployment, "orphan", "default", propagation_policy="Orphan")
    wait_for(lambda: _gone(client, Deployment, "orphan"), what="orphan deployment gone")
    client.delete(ReplicaSet, rs.metadata.name or "", "default", propagation_policy="Orphan")
    wait_for(lambda: _gone(client, ReplicaSet, rs.metadata.name or ""), what="orphan ReplicaSet gone")
    pods = app_pods(client, "orphan")
    assert len(pods) == 2
    assert all(not p.metadata.ownerReferences for p in pods)


def test_deleting_a_namespace_deletes_everything_in_it(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    client.create(Namespace.model_validate({"metadata": {"name": "scratch"}}))
    client.create(deployment("web", replicas=2, namespace="scratch"))
    client.create(ConfigMap.model_validate({"metadata": {"name": "conf", "namespace": "scratch"}, "data": {"a": "1"}}))
    client.create(Service.model_validate({"metadata": {"name": "web", "namespace": "scratch"},
                                          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))  # fmt: skip
    wait_for(lambda: rolled_out(client, "web", "scratch"), what="rolled out in scratch")

    client.delete(Namespace, "scratch")
    assert client.get(Namespace, "scratch").status.phase == "Terminating"
    wait_for(lambda: _gone(client, Namespace, "scratch", None), what="namespace gone", timeout=30)
    for kind in ("pods", "deployments", "replicasets", "configmaps", "services", "endpoints"):
        assert not client.list_raw(by_name(kind), "scratch")["items"], kind

"""Deployments against a real master with controllers: scale, rolling update step by step, undo."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from cli.main import app
from kajitori.api.apps import Deployment, ReplicaSet
from kajitori.api.core import Pod
from kajitori.api.registry import by_model
from kajitori.client import ApiClient
from kajitori.informer import Informer
from master.controllers.pod_state import is_active, is_ready
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import active, app_pods, deployment, ready, rolled_out
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def test_scale_up_and_down(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    client.create(deployment("web", replicas=3))
    wait_for(lambda: rolled_out(client, "web"), what="3 available replicas")
    assert len(ready(app_pods(client, "web"))) == 3

    client.patch_raw(by_model(Deployment), "web", {"spec": {"replicas": 6}}, "default", subresource="scale")
    wait_for(lambda: rolled_out(client, "web") and len(ready(app_pods(client, "web"))) == 6, what="6 ready pods")
    pods = active(app_pods(client, "web"))
    assert {p.spec.nodeName for p in pods} == {"node-a", "node-b"}, "replicas spread over both nodes"
    assert all(p.metadata.ownerReferences and p.metadata.ownerReferences[0].kind == "ReplicaSet" for p in pods)

    client.patch_raw(by_model(Deployment), "web", {"spec": {"replicas": 2}}, "default", subresource="scale")
    wait_for(lambda: len(app_pods(client, "web")) == 2, what="surplus pods deleted")
    assert len(ready(app_pods(client, "web"))) == 2
    rs = client.list(ReplicaSet, "default").items
    assert [r.spec.replicas for r in rs] == [2]


def test_rolling_update_respects_surge_and_unavailability(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    client.create(deployment("roll", replicas=4, strategy=strategy, image="kajitori/busybox:1"))
    wait_for(lambda: rolled_out(client, "roll"), what="first rollout")

    # Watch every pod event and check the invariant on each state the watch shows.
    informer = Informer(client, Pod, namespace="default", label_selector="app=roll")
    violations: list[str] = []
    states: list[tuple[int, int]] = []
    lock = threading.Lock()

    def check(*_args: object) -> None:
        pods = informer.list()
        alive = sum(1 for p in pods if is_active(p))
        available = sum(1 for p in pods if is_active(p) and is_ready(p))
        with lock:
            states.append((alive, available))
            if alive > 4 + 1:
                violations.append(f"{alive} pods > replicas + maxSurge")
            if available < 4 - 1:
                violations.append(f"{available} available < replicas - maxUnavailable")

    informer.add_handlers(check, check, check)
    informer.start()
    try:
        assert informer.wait_synced(60)
        result = CliRunner().invoke(app, ["set", "image", "deployment/roll", "app=kajitori/busybox:2",
                                          "--kubeconfig", str(client_kubeconfig(client))])  # fmt: skip
        assert result.exit_code == 0, result.output
        wait_for(lambda: rolled_out(client, "roll") and all(
            p.spec.containers[0].image == "kajitori/busybox:2" for p in active(app_pods(client, "roll"))
        ), what="second rollout", timeout=60)  # fmt: skip
        wait_for(lambda: len(app_pods(client, "roll")) == 4, what="old pods gone")
    finally:
        informer.stop()
    assert not violations, violations
    assert len(states) > 8, f"the rollout was observed in {len(states)} steps"
    assert max(a for a, _ in states) == 5, "the surge was used"
    revisions = sorted(int((r.metadata.annotations or {})["deployment.kubernetes.io/revision"]) for r in client.list(ReplicaSet, "default").items)
    assert revisions == [1, 2]


def client_kubeconfig(client: ApiClient) -> str:
    return client.config.source


def test_rollout_undo_restores_the_previous_template(client: ApiClient, hollow: Callable[..., HollowCluster],
                                                     cluster_master: MasterProcess) -> None:  # fmt: skip
    hollow(["node-a"])
    client.create(deployment("undo", replicas=2, image="kajitori/busybox:1"))
    wait_for(lambda: rolled_out(client, "undo"), what="first rollout")
    runner = CliRunner()
    kube = ["--kubeconfig", str(cluster_master.kubeconfig)]
    assert runner.invoke(app, ["set", "image", "deployment/undo", "app=kajitori/busybox:2", *kube]).exit_code == 0
    wait_for(lambda: rolled_out(client, "undo") and client.get(Deployment, "undo", "default").metadata.annotations.get("deployment.kubernetes.io/revision") == "2", what="revision 2")  # type: ignore[union-attr]

    history = runner.invoke(app, ["rollout", "history", "deployment/undo", *kube])
    assert history.exit_code == 0, history.output
    assert [line.split()[0] for line in history.output.splitlines()[2:]] == ["1", "2"]

    result = runner.invoke(app, ["rollout", "undo", "deployment/undo", *kube])
    assert result.exit_code == 0, result.output
    assert "rolled back" in result.output
    status = runner.invoke(app, ["rollout", "status", "deployment/undo", "--timeout", "60", *kube])
    assert status.exit_code == 0, status.output
    assert 'deployment "undo" successfully rolled out' in status.output

    d = client.get(Deployment, "undo", "default")
    assert d.spec.template.spec.containers[0].image == "kajitori/busybox:1"
    assert (d.metadata.annotations or {}).get("deployment.kubernetes.io/revision") == "3"
    wait_for(lambda: len(app_pods(client, "undo")) == 2 and all(
        p.spec.containers[0].image == "kajitori/busybox:1" for p in app_pods(client, "undo")
    ), what="pods of the first template again")  # fmt: skip
    by_image = {r.spec.template.spec.containers[0].image: r for r in client.list(ReplicaSet, "default").items}  # type: ignore[union-attr]
    assert by_image["kajitori/busybox:1"].metadata.annotations["deployment.kubernetes.io/revision"] == "3"  # type: ignore[index]
    assert by_image["kajitori/busybox:1"].spec.replicas == 2
    assert by_image["kajitori/busybox:2"].spec.replicas == 0

    again = runner.invoke(app, ["rollout", "undo", "deployment/undo", "--to-revision", "2", *kube])
    assert again.exit_code == 0, again.output
    wait_for(lambda: rolled_out(client, "undo") and client.get(Deployment, "undo", "default").spec.template.spec.containers[0].image == "kajitori/busybox:2", what="back to revision 2")


def test_a_stuck_rollout_exceeds_its_progress_deadline(client: ApiClient, hollow: Callable[..., HollowCluster],
                                                       cluster_master: MasterProcess) -> None:  # fmt: skip
    hollow(["node-a"])
    stuck = deployment("stuck", replicas=2)
    stuck.spec.progressDeadlineSeconds = 2
    assert stuck.spec.template.spec is not None
    stuck.spec.template.spec.nodeSelector = {"disk": "ssd"}  # no node has it: the pods stay Pending
    client.create(stuck)

    # A limit, not a window: it answers as soon as the 2 s deadline is seen exceeded.
    status = CliRunner().invoke(app, ["rollout", "status", "deployment/stuck", "--timeout", "120",
                                      "--kubeconfig", str(cluster_master.kubeconfig)])  # fmt: skip
    assert status.exit_code == 1, status.output
    assert 'error: deployment "stuck" exceeded its progress deadline' in status.output

    conditions = {c.type: c for c in client.get(Deployment, "stuck", "default").status.conditions or []}
    assert (conditions["Progressing"].status, conditions["Progressing"].reason) == ("False", "ProgressDeadlineExceeded")
    assert conditions["Available"].status == "False"

    # Once a node fits, the pods run: progress again, and the rollout completes.
    hollow(["node-ssd"], labels={"disk": "ssd"})
    wait_for(lambda: rolled_out(client, "stuck"), what="the rollout completes on the new node")
    conditions = {c.type: c for c in client.get(Deployment, "stuck", "default").status.conditions or []}
    assert (conditions["Progressing"].status, conditions["Progressing"].reason) == ("True", "NewReplicaSetAvailable")

"""Node loss and Endpoints against a real master with controllers and hollow nodes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from kajitori.api.coordination import Lease
from kajitori.api.core import Endpoints, Node, Pod, Service
from kajitori.client import ApiClient, NotFoundError
from kajitori.clock import parse_time
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import active, app_pods, deployment, ready, rolled_out
from tests.support.cluster import wait_for_events
from tests.support.present import present

pytestmark = pytest.mark.integration


def _ready_status(client: ApiClient, name: str) -> str:
    node = client.get(Node, name)
    return next((c.status for c in node.status.conditions or [] if c.type == "Ready"), "")


def _ready_beat(client: ApiClient, name: str) -> str | None:
    node = client.get(Node, name)
    return next((c.lastHeartbeatTime for c in node.status.conditions or [] if c.type == "Ready"), None)


def _taints(client: ApiClient, name: str) -> set[tuple[str, str]]:
    return {(t.key, t.effect) for t in client.get(Node, name).spec.taints or []}


def test_pods_of_a_silent_node_are_recreated_on_the_healthy_one(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    nodes = hollow(["node-a", "node-b"])
    client.create(deployment("survivor", replicas=4))
    wait_for(lambda: rolled_out(client, "survivor"), what="4 available replicas")
    on_a = [present(p.metadata.name) for p in active(app_pods(client, "survivor")) if p.spec.nodeName == "node-a"]
    assert on_a, "the spread put pods on node-a"

    nodes.silence("node-a")
    silent_since = time.monotonic()
    time.sleep(0.5)  # a renewal already under way lands
    lease = client.get(Lease, "node-a", "kube-node-lease")
    last_beat = max(t for t in (parse_time(lease.spec.renewTime), parse_time(_ready_beat(client, "node-a"))) if t)
    wait_for(lambda: _ready_status(client, "node-a") == "Unknown", what="node-a NotReady", timeout=30)
    not_ready_after = time.monotonic() - silent_since
    cond = next(c for c in client.get(Node, "node-a").status.conditions or [] if c.type == "Ready")
    assert (cond.reason, cond.message) == ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    wait_for(lambda: ("node.kubernetes.io/unreachable", "NoExecute") in _taints(client, "node-a"), what="taint")
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in _taints(client, "node-a")

    def recovered() -> bool:
        pods = app_pods(client, "survivor")
        return len(ready(pods)) == 4 and all(p.spec.nodeName == "node-b" for p in pods)

    wait_for(recovered, what="4 ready pods on node-b", timeout=45)
    replaced_after = time.monotonic() - silent_since
    since_beat = time.time() - last_beat
    print(f"\nnode-a NotReady {not_ready_after:.1f}s after silence; its pods replaced on node-b "
          f"{replaced_after:.1f}s after silence, {since_beat:.1f}s after its last heartbeat")
    for name in on_a:
        with pytest.raises(NotFoundError):
            client.get(Pod, name, "default")
    wait_for_events(client, {"NodeNotReady", "TaintManagerEviction"})

    nodes.revive("node-a")
    wait_for(lambda: _ready_status(client, "node-a") == "True" and not _taints(client, "node-a"), what="node-a back, untainted")


def test_endpoints_follow_readiness(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    nodes = hollow(["node-a"])
    service = Service.model_validate({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })  # fmt: skip
    client.create(service)
    client.create(deployment("web", replicas=2, ports=[{"name": "http", "containerPort": 8080}]))
    wait_for(lambda: rolled_out(client, "web"), what="2 ready pods")

    def addresses() -> tuple[set[str], set[str], list[int]]:
        try:
            ep = client.get(Endpoints, "web", "default")
        except NotFoundError:
            return set(), set(), []
        ready_ips = {a.ip for s in ep.subsets or [] for a in s.addresses or []}
        not_ready = {a.ip for s in ep.subsets or [] for a in s.notReadyAddresses or []}
        ports = [p.port for s in ep.subsets or [] for p in s.ports or []]
        return ready_ips, not_ready, ports

    pods = ready(app_pods(client, "web"))
    ips = {p.status.podIP for p in pods}
    wait_for(lambda: addresses()[0] == ips, what="both pods in addresses")
    assert addresses()[2] == [8080], "the named targetPort resolved to the container port"
    ep = client.get(Endpoints, "web", "default")
    address = ep.subsets[0].addresses[0]  # type: ignore[index]
    assert address.nodeName == "node-a" and address.targetRef and address.targetRef.kind == "Pod"

    nodes.set_ready(pods[0], False)
    wait_for(lambda: addresses()[:2] == ({pods[1].status.podIP}, {pods[0].status.podIP}), what="one pod not ready")
    nodes.set_ready(client.get(Pod, pods[0].metadata.name or "", "default"), True)
    wait_for(lambda: addresses()[:2] == (ips, set()), what="ready again")

    # The master's own endpoints (no selector) are left alone.
    kube = client.get(Endpoints, "kubernetes", "default")
    assert kube.subsets and kube.subsets[0].addresses

"""Endpoints, node lifecycle and garbage collection on filled caches: the exact writes."""

from __future__ import annotations

from kajitori.api.apps import ReplicaSet
from kajitori.api.coordination import Lease
from kajitori.api.core import Endpoints, Node, Pod, Service
from kajitori.clock import FakeClock
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.endpoints import EndpointsController
from master.controllers.garbage_collector import GarbageCollector
from master.controllers.node_lifecycle import NodeLifecycleController
from master.settings import ControllerSettings
from tests.unit.controllers.builders import node, pod, replicaset
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


def _ctx(clock: FakeClock | None = None) -> tuple[LoopContext, FakeInformers, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    return LoopContext(client=client, informers=informers, recorder=recorder, clock=clock or FakeClock()), informers, client, recorder


def test_endpoints_split_ready_and_not_ready_and_resolve_named_ports() -> None:
    ctx, informers, client, _ = _ctx()
    ctrl = EndpointsController(ctx)
    informers.informer(Service).add(Service.model_validate({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }))  # fmt: skip
    ports = [{"name": "http", "containerPort": 8080}]
    informers.informer(Pod).add(
        pod("b", ip="10.244.0.3", ports=ports),
        pod("a", ip="10.244.0.2", ports=ports),
        pod("slow", ip="10.244.0.4", ready=False, ports=ports),
        pod("pending", node=None, ports=ports),
        pod("other", ip="10.244.0.9", labels={"app": "db"}, ports=ports),
    )
    ctrl.reconcile("default/web")
    [(verb, kind, name, body)] = client.writes
    assert (verb, kind, name) == ("create", "Endpoints", "web")
    [subset] = body.subsets
    assert [a.ip for a in subset.addresses] == ["10.244.0.2", "10.244.0.3"]
    assert [a.ip for a in subset.notReadyAddresses] == ["10.244.0.4"]
    assert [(p.name, p.port) for p in subset.ports] == [("http", 8080)]
    assert subset.addresses[0].targetRef.name == "a" and subset.addresses[0].nodeName == "n1"


def test_endpoints_unchanged_means_no_write_and_selectorless_is_left_alone() -> None:
    ctx, informers, client, _ = _ctx()
    ctrl = EndpointsController(ctx)
    informers.informer(Service).add(Service.model_validate({
        "metadata": {"name": "kubernetes", "namespace": "default"}, "spec": {"ports": [{"port": 443}]},
    }))  # fmt: skip
    informers.informer(Endpoints).add(Endpoints.model_validate({"metadata": {"name": "kubernetes", "namespace": "default"}}))
    ctrl.reconcile("default/kubernetes")
    assert client.writes == []


def _lifecycle() -> tuple[NodeLifecycleController, FakeInformers, RecordingClient, RecordingRecorder, FakeClock]:
    clock = FakeClock()
    ctx, informers, client, recorder = _ctx(clock)
    ctx.settings = ControllerSettings(node_monitor_grace_s=6.0, pod_eviction_timeout_s=2.0)
    return NodeLifecycleController(ctx), informers, client, recorder, clock


def test_a_silent_node_becomes_unknown_then_tainted_then_its_pods_go() -> None:
    ctrl, informers, client, recorder, clock = _lifecycle()
    nodes, pods = informers.informer(Node), informers.informer(Pod)
    nodes.add(node("n1"))
    nodes.add(node("n2"))  # a healthy node: evictions are not halted by a full disruption
    pods.add(pod("web-1"))
    informers.informer(Lease).add(Lease.model_validate({
        "metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"renewTime": "2023-11-14T22:13:20.123456Z"},
    }))  # fmt: skip
    try:
        ctrl.reconcile("n1")
    except Requeue as again:
        assert 6.0 <= again.after_s <= 6.5
    assert client.writes == []

    clock.advance(6.5)
    ctrl.reconcile("n1")
    assert client.verbs() == [("update_status", "Node", "n1"), ("update_status", "Pod", "web-1")]
    ready = next(c for c in client.writes[0][3].status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason, ready.message) == ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert ("Normal", "n1", "NodeNotReady", "Node n1 status is now: NodeNotReady") in recorder.events

    client.writes.clear()
    nodes.add(node("n1", ready="Unknown"))
    ctrl.reconcile("n1")
    [(verb, kind, _name, updated)] = client.writes
    assert (verb, kind) == ("update", "Node")
    assert {(t.key, t.effect) for t in updated.spec.taints} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute"),
    }  # fmt: skip

    client.writes.clear()
    nodes.add(updated)
    try:
        ctrl.reconcile("n1")
    except Requeue as again:
        assert again.after_s <= 2.1
    assert client.writes == []
    clock.advance(2.1)
    ctrl.reconcile("n1")
    assert client.writes == [("delete", "Pod", "web-1", {"grace_period_seconds": 0})]


def test_no_eviction_while_no_node_is_ready_and_the_clock_restarts_after() -> None:
    ctrl, informers, client, _, clock = _lifecycle()
    unreachable = [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
                   {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]  # fmt: skip
    nodes = informers.informer(Node)
    nodes.add(node("n1", ready="Unknown", taints=unreachable))
    nodes.add(node("n2", ready="Unknown", taints=unreachable))
    informers.informer(Pod).add(pod("web-1"))
    for _ in range(3):
        clock.advance(10.0)
        try:
            ctrl.reconcile("n1")
        except Requeue:
            pass
    assert client.writes == []

    # n2 is back: n1's pods get their full toleration from now, then go.
    nodes.add(node("n2"))
    try:
        ctrl.reconcile("n1")
    except Requeue as again:
        assert 1.9 <= again.after_s <= 2.1
    assert client.writes == []
    clock.advance(2.1)
    ctrl.reconcile("n1")
    assert client.writes == [("delete", "Pod", "web-1", {"grace_period_seconds": 0})]


def test_a_node_heartbeating_again_loses_its_taints() -> None:
    ctrl, informers, client, _, _ = _lifecycle()
    taints = [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
              {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}, {"key": "dedicated", "effect": "NoSchedule"}]  # fmt: skip
    informers.informer(Node).add(node("n1", taints=taints))
    try:
        ctrl.reconcile("n1")
    except Requeue:
        pass
    [(verb, _kind, _name, updated)] = client.writes
    assert verb == "update"
    assert [t.key for t in updated.spec.taints] == ["dedicated"]


def test_garbage_collector_deletes_a_pod_whose_owner_is_gone() -> None:
    ctx, informers, client, _ = _ctx()
    gc = GarbageCollector(ctx)
    gone_owner = replicaset("gone", uid="gone-uid")
    informers.informer(Pod).add(pod("orphaned", owner=gone_owner))
    gc.reconcile("Pod|default/orphaned")
    # The version it saw is a precondition: an Orphan deletion of the owner may just have taken
    # the reference off (then the API answers 409 and the collector waits for the change).
    seen = informers.informer(Pod).get("default/orphaned").metadata.resourceVersion
    assert client.writes == [("delete", "Pod", "orphaned", {"uid": "uid-orphaned", "resource_version": seen})]


def test_garbage_collector_keeps_a_pod_whose_owner_lives_and_confirms_absence_live() -> None:
    ctx, informers, client, _ = _ctx()
    gc = GarbageCollector(ctx)
    owner = replicaset("web", uid="rs-uid")
    informers.informer(ReplicaSet).add(owner)
    informers.informer(Pod).add(pod("kept", owner=owner))
    gc.reconcile("Pod|default/kept")
    # The owner is not cached yet but exists: the live read saves the pod.
    late = replicaset("late", uid="late-uid")
    client.live[("ReplicaSet", "late")] = {"metadata": {"name": "late", "uid": "late-uid"}}
    informers.informer(Pod).add(pod("young", owner=late))
    gc.reconcile("Pod|default/young")
    assert client.writes == []


def test_foreground_deletion_deletes_dependents_then_removes_the_finalizer() -> None:
    ctx, informers, client, _ = _ctx()
    gc = GarbageCollector(ctx)
    owner = replicaset("web", uid="rs-uid")
    owner.metadata.deletionTimestamp = "2024-01-01T00:00:00Z"
    owner.metadata.finalizers = ["foregroundDeletion"]
    informers.informer(ReplicaSet).add(owner)
    informers.informer(Pod).add(pod("dep", owner=owner))
    gc.reconcile("ReplicaSet|default/web")
    assert client.writes == [("delete", "Pod", "dep", {"propagation_policy": None})]
    client.writes.clear()
    informers.informer(Pod).objects.clear()
    gc.reconcile("ReplicaSet|default/web")
    [(verb, kind, name, updated)] = client.writes
    assert (verb, kind, name, updated.metadata.finalizers) == ("update", "ReplicaSet", "web", None)


def test_a_pods_hostname_is_published_only_by_the_service_its_subdomain_names() -> None:
    ctx, informers, client, _ = _ctx()
    ctrl = EndpointsController(ctx)
    for name in ("nginx", "other"):
        informers.informer(Service).add(Service.model_validate({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "web", "port": 80}]},
        }))  # fmt: skip
    web0 = pod("web-0", ip="10.244.0.5")
    web0.spec.hostname, web0.spec.subdomain = "web-0", "nginx"
    informers.informer(Pod).add(web0)
    ctrl.reconcile("default/nginx")
    ctrl.reconcile("default/other")
    hostnames = {name: [a.hostname for s in body.subsets or [] for a in s.addresses or []] for _v, _k, name, body in client.writes}
    assert hostnames == {"nginx": ["web-0"], "other": [None]}

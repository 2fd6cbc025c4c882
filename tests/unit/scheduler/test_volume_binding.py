"""The scheduler's VolumeBinding: bound volumes pin a pod, unbound Immediate claims stop it,
WaitForFirstConsumer claims get the chosen node before the pod is bound."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kajitori.api.core import Node, Pod
from kajitori.api.storage import PersistentVolumeClaim, StorageClass
from master.controllers.context import LoopContext
from master.scheduler.scheduler import Scheduler
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder
from tests.unit.controllers.test_persistentvolume import claim, local_path, pv


def node(name: str) -> Node:
    return Node.model_validate({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    })  # fmt: skip


def pod_using(*claims: str) -> Pod:
    return Pod.model_validate({
        "metadata": {"name": "db", "namespace": "default", "uid": "pod-uid"},
        "spec": {"containers": [{"name": "c", "image": "i"}],
                 "volumes": [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]},
    })  # fmt: skip


MADE: list[Scheduler] = []


@pytest.fixture(autouse=True)
def stop_schedulers() -> Iterator[None]:
    """Stop every scheduler a test made: a binding that waits for a WaitForFirstConsumer claim
    nobody binds waits until the scheduler stops (or 120 s), and its thread held the whole
    unit run's exit for two minutes."""
    yield
    while MADE:
        MADE.pop().stop()


def scheduler_with(*objects: object) -> tuple[Scheduler, FakeInformers, RecordingClient]:
    informers, client = FakeInformers(), RecordingClient()
    scheduler = Scheduler(LoopContext(client=client, informers=informers, recorder=RecordingRecorder()))
    MADE.append(scheduler)
    for obj in objects:
        informers.informer(type(obj)).add(obj)  # type: ignore[arg-type]
        if isinstance(obj, Node):
            scheduler.cache.set_node(obj)
    return scheduler, informers, client


def conditions(client: RecordingClient) -> list[str]:
    return [c.message for _v, _k, _n, p in client.writes if _v == "update_status" for c in p.status.conditions or []]


def test_a_pod_whose_volume_lives_on_one_node_goes_only_there() -> None:
    ref = {"namespace": "default", "name": "data", "uid": "uid-data"}
    scheduler, _informers, _client = scheduler_with(node("node1"), node("node2"), node("node3"), pv("pv1", claim_ref=ref, node="node2", phase="Bound"),
                                                  claim(volume="pv1"), pod_using("data"))  # fmt: skip
    for _ in range(10):
        scheduler.cache.forget_assumed("default/db")
        assert scheduler.schedule_one("default/db") == "node2"


def test_a_conflict_is_said_as_kubernetes_says_it() -> None:
    ref = {"namespace": "default", "name": "data", "uid": "uid-data"}
    scheduler, _informers, client = scheduler_with(node("node1"), node("node3"), pv("pv1", claim_ref=ref, node="node2", phase="Bound"),
                                                   claim(volume="pv1"), pod_using("data"))  # fmt: skip
    assert scheduler.schedule_one("default/db") is None
    assert conditions(client) == ["0/2 nodes are available: 2 node(s) had volume node affinity conflict."]


def test_an_unbound_immediate_claim_keeps_the_pod_pending() -> None:
    scheduler, _informers, client = scheduler_with(node("node1"), claim(), pod_using("data"))
    assert scheduler.schedule_one("default/db") is None
    assert conditions(client) == ["0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."]


def test_a_missing_claim_is_named() -> None:
    scheduler, _informers, client = scheduler_with(node("node1"), pod_using("nope"))
    assert scheduler.schedule_one("default/db") is None
    assert conditions(client) == ['0/1 nodes are available: persistentvolumeclaim "nope" not found.']


def test_a_wait_for_first_consumer_claim_gets_the_node_then_the_pod_is_bound_once_it_is_bound() -> None:
    waiting = claim(sc="local-path")
    scheduler, informers, client = scheduler_with(node("node1"), local_path(), waiting, pod_using("data"))
    chosen = scheduler.schedule_one("default/db")
    assert chosen == "node1"
    # The binder thread annotates the claim, then waits for the PV controller to bind it.
    bound = waiting.model_copy(deep=True)
    bound.spec.volumeName = "pvc-uid-data"
    informers.informer(PersistentVolumeClaim).add(bound)
    scheduler._binder.shutdown(wait=True)
    assert client.verbs() == [("patch", "PersistentVolumeClaim", "data"), ("bind", "Pod", "db")]
    assert client.writes[0][3] == {"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "node1"}}}


def test_a_wait_for_first_consumer_claim_of_a_static_class_needs_a_node_with_a_free_volume() -> None:
    static = StorageClass.model_validate({"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
                                          "volumeBindingMode": "WaitForFirstConsumer"})  # fmt: skip
    scheduler, _informers, _client = scheduler_with(node("node1"), node("node2"), static, claim(sc="local"),
                                                   pv("disk2", sc="local", node="node2"), pod_using("data"))  # fmt: skip
    assert scheduler.schedule_one("default/db") == "node2"
    scheduler2, _i, client2 = scheduler_with(node("node1"), static, claim(sc="local"), pv("disk2", sc="local", node="node2"), pod_using("data"))
    assert scheduler2.schedule_one("default/db") is None
    assert conditions(client2) == ["0/1 nodes are available: 1 node(s) didn't find available persistent volumes to bind."]

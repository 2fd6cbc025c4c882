"""The ReplicaSet's loop over v1 ReplicationControllers: an equality selector, the same writes."""

from __future__ import annotations

from kajitori.api.core import Pod, ReplicationController
from kajitori.clock import FakeClock
from master.controllers.context import LoopContext
from master.controllers.replicaset import ReplicationControllerController
from tests.unit.controllers.builders import pod
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


def _rc(replicas: int) -> ReplicationController:
    return ReplicationController.model_validate(
        {"metadata": {"name": "web", "namespace": "default", "uid": "rc-uid", "generation": 1, "resourceVersion": "1"},
         "spec": {"replicas": replicas, "selector": {"app": "web"},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "img:1"}]}}}}
    )  # fmt: skip


def _controller() -> tuple[ReplicationControllerController, FakeInformers, RecordingClient]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder, clock=FakeClock())
    return ReplicationControllerController(ctx), informers, client


def test_adopts_only_the_orphan_its_selector_matches() -> None:
    ctrl, informers, client = _controller()
    informers.informer(ReplicationController).add(_rc(replicas=1))
    informers.informer(Pod).add(pod("orphan"), pod("other", labels={"app": "db"}))
    ctrl.reconcile("default/web")
    patches = [w for w in client.writes if w[0] == "patch"]
    assert [(v, k, n) for v, k, n, _ in patches] == [("patch", "Pod", "orphan")]
    assert patches[0][3]["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"


def test_creates_the_missing_pods_owned_by_the_replicationcontroller_and_writes_its_status() -> None:
    ctrl, informers, client = _controller()
    rc = _rc(replicas=3)
    informers.informer(ReplicationController).add(rc)
    informers.informer(Pod).add(pod("web-a", owner=rc))
    ctrl.reconcile("default/web")
    creates = [w[3] for w in client.writes if w[0] == "create"]
    assert len(creates) == 2
    ref = creates[0].metadata.ownerReferences[0]
    assert (ref.apiVersion, ref.kind, ref.uid, ref.controller) == ("v1", "ReplicationController", "rc-uid", True)
    status = [w[3] for w in client.writes if w[0] == "update_status"]
    assert [(type(s).__name__, s.status.replicas, s.status.observedGeneration) for s in status] == [("ReplicationController", 1, 1)]


def test_scales_down_the_surplus() -> None:
    ctrl, informers, client = _controller()
    rc = _rc(replicas=1)
    informers.informer(ReplicationController).add(rc)
    informers.informer(Pod).add(pod("a", owner=rc, created="2024-01-01T00:00:00Z"), pod("b", owner=rc, created="2024-01-02T00:00:00Z"))
    ctrl.reconcile("default/web")
    assert [(verb, name) for verb, _kind, name in client.verbs() if verb == "delete"] == [("delete", "b")]

"""The ReplicaSet controller on a filled cache: the exact writes one reconcile makes."""

from __future__ import annotations

from kajitori.api.apps import ReplicaSet
from kajitori.api.core import Pod
from kajitori.clock import FakeClock
from master.controllers.context import LoopContext
from master.controllers.replicaset import ReplicaSetController
from tests.unit.controllers.builders import pod, replicaset
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


def _controller() -> tuple[ReplicaSetController, FakeInformers, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder, clock=FakeClock())
    return ReplicaSetController(ctx), informers, client, recorder


def test_creates_the_missing_pods_with_owner_reference() -> None:
    ctrl, informers, client, recorder = _controller()
    rs = replicaset(replicas=3)
    informers.informer(ReplicaSet).add(rs)
    informers.informer(Pod).add(pod("web-a", owner=rs))
    ctrl.reconcile("default/web")
    creates = [w for w in client.writes if w[0] == "create"]
    assert [(v, k, n) for v, k, n, _ in creates] == [("create", "Pod", "web-")] * 2
    body = creates[0][3]
    assert body.metadata.labels == {"app": "web"}
    ref = body.metadata.ownerReferences[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.blockOwnerDeletion) == ("ReplicaSet", "web", "rs-uid", True, True)
    status = [w[3] for w in client.writes if w[0] == "update_status"]
    assert [(s.status.replicas, s.status.readyReplicas, s.status.availableReplicas) for s in status] == [(1, 1, 1)]
    assert ("Normal", "web", "SuccessfulCreate", "Created 2 pod(s)") in recorder.events


def test_waits_for_its_own_creations_before_counting_again() -> None:
    ctrl, informers, client, _ = _controller()
    informers.informer(ReplicaSet).add(replicaset(replicas=2))
    ctrl.reconcile("default/web")
    ctrl.reconcile("default/web")  # the cache has not seen the two pods yet: no more creates
    assert [w[0] for w in client.writes].count("create") == 2


def test_scales_down_the_least_valuable_pods_first() -> None:
    ctrl, informers, client, _ = _controller()
    rs = replicaset(replicas=1)
    informers.informer(ReplicaSet).add(rs)
    informers.informer(Pod).add(
        pod("old-ready", owner=rs, created="2024-01-01T00:00:00Z"),
        pod("not-ready", owner=rs, ready=False),
        pod("unscheduled", owner=rs, node=None),
        pod("new-ready", owner=rs, created="2024-01-02T00:00:00Z"),
    )
    ctrl.reconcile("default/web")
    deleted = [name for verb, _kind, name in client.verbs() if verb == "delete"]
    assert sorted(deleted) == ["new-ready", "not-ready", "unscheduled"]


def test_adopts_a_matching_orphan() -> None:
    ctrl, informers, client, _ = _controller()
    informers.informer(ReplicaSet).add(replicaset(replicas=1))
    informers.informer(Pod).add(pod("orphan"))
    ctrl.reconcile("default/web")
    patches = [w for w in client.writes if w[0] == "patch"]
    assert [(v, k, n) for v, k, n, _ in patches] == [("patch", "Pod", "orphan")]
    assert patches[0][3]["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"


def test_gone_replicaset_writes_nothing() -> None:
    ctrl, _, client, _ = _controller()
    ctrl.reconcile("default/missing")
    assert client.writes == []

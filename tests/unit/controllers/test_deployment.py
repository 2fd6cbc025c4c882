"""The Deployment controller on a filled cache: rolling steps as exact ReplicaSet writes."""

from __future__ import annotations

import pytest

from kajitori.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet
from kajitori.api.core import Pod
from kajitori.clock import FakeClock
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.deployment import (
    HASH_LABEL,
    REVISION,
    DeploymentController,
    resolve_fraction,
    template_hash,
)
from tests.support.present import present
from tests.unit.controllers.builders import deployment, pod, replicaset
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder, fake


def _controller() -> tuple[DeploymentController, FakeInformers, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder, clock=FakeClock(start=1_800_000_000))
    return DeploymentController(ctx), informers, client, recorder


def _reconcile(ctrl: DeploymentController) -> float | None:
    """One pass; the delay it asked to be looked at again after, if any."""
    try:
        ctrl.reconcile("default/web")
    except Requeue as req:
        return req.after_s
    return None


def _template(image: str) -> dict:
    return {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": image}]}}


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        pytest.param(1, 10, True, 1, id="int"),
        pytest.param("25%", 10, True, 3, id="surge-rounds-up"),
        pytest.param("25%", 10, False, 2, id="unavailable-rounds-down"),
        pytest.param("100%", 3, False, 3, id="all"),
    ],
)
def test_resolve_fraction(value: int | str, total: int, round_up: bool, expected: int) -> None:
    assert resolve_fraction(value, total, round_up=round_up) == expected


def test_first_reconcile_creates_the_new_replicaset_at_full_size() -> None:
    ctrl, informers, client, recorder = _controller()
    d = deployment(replicas=4)
    informers.informer(Deployment).add(d)
    ctrl.reconcile("default/web")
    create = next(w for w in client.writes if w[0] == "create")
    rs = create[3]
    pod_hash = template_hash(d.spec.template)
    assert rs.metadata.name == f"web-{pod_hash}"
    assert rs.spec.replicas == 4
    assert rs.spec.template.metadata.labels == {"app": "web", HASH_LABEL: pod_hash}
    assert rs.spec.selector.matchLabels == {"app": "web", HASH_LABEL: pod_hash}
    assert rs.metadata.annotations[REVISION] == "1"
    assert rs.metadata.ownerReferences[0].uid == "deploy-uid"
    assert ("patch", "Deployment", "web") in client.verbs()
    assert recorder.events[0][2:] == ("ScalingReplicaSet", f"Scaled up replica set web-{pod_hash} to 4")


def _rolling_state(new_replicas: int, new_ready: int) -> tuple[DeploymentController, RecordingClient]:
    ctrl, informers, client, _ = _controller()
    d = deployment(replicas=4, surge=1, unavailable=1, image="img:2")
    informers.informer(Deployment).add(d)
    old = replicaset("web-old", 4, uid="old", owner=d, template=_template("img:1"), annotations={REVISION: "1"})
    new_template = _template("img:2")
    new_template["metadata"]["labels"][HASH_LABEL] = template_hash(d.spec.template)
    new = replicaset("web-new", new_replicas, uid="new", owner=d, template=new_template, annotations={REVISION: "2"})
    informers.informer(ReplicaSet).add(old, new)
    informers.informer(Pod).add(*[pod(f"old-{i}", owner=old) for i in range(4)])
    informers.informer(Pod).add(*[pod(f"new-{i}", owner=new, ready=i < new_ready) for i in range(new_replicas)])
    return ctrl, client


@pytest.mark.parametrize(
    ("new_replicas", "new_ready", "expected"),
    [
        pytest.param(0, 0, [("web-new", 1)], id="surge-one-new"),
        pytest.param(1, 0, [("web-old", 3)], id="then-one-old-down-within-unavailability"),
        pytest.param(1, 1, [("web-old", 2)], id="new-ready-two-old-down-keeping-three-available"),
    ],
)
def test_rolling_update_one_step(new_replicas: int, new_ready: int, expected: list[tuple[str, int]]) -> None:
    ctrl, client = _rolling_state(new_replicas, new_ready)
    _reconcile(ctrl)
    scaled = [(w[2], w[3].spec.replicas) for w in client.writes if w[0] == "update" and w[1] == "ReplicaSet"]
    assert scaled == expected


def test_status_counts_updated_and_available() -> None:
    ctrl, client = _rolling_state(1, 1)
    _reconcile(ctrl)
    status = next(w[3].status for w in client.writes if w[0] == "update_status")
    assert (status.replicas, status.updatedReplicas, status.availableReplicas, status.observedGeneration) == (5, 1, 5, 2)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "ReplicaSetUpdated")}


def _last_status(client: RecordingClient) -> DeploymentStatus:
    return [w[3].status for w in client.writes if w[0] == "update_status"][-1]  # type: ignore[no-any-return]


def _progressing(status: DeploymentStatus) -> DeploymentCondition:
    return next(c for c in status.conditions or [] if c.type == "Progressing")


def test_a_rollout_without_progress_exceeds_its_deadline_and_progress_resumes_it() -> None:
    ctrl, client = _rolling_state(1, 0)
    clock = ctrl.ctx.clock
    assert isinstance(clock, FakeClock)
    d = present(ctrl.deployments.get("default/web"))
    d.spec.progressDeadlineSeconds = 30
    # A rollout under way is looked at again when its deadline would fall.
    assert _reconcile(ctrl) == pytest.approx(30.0)
    d.status = _last_status(client)
    progressing = _progressing(d.status)
    assert (progressing.status, progressing.reason) == ("True", "ReplicaSetUpdated")

    clock.advance(10)
    assert _reconcile(ctrl) == pytest.approx(20.0)  # no step forward: the deadline stays where it was

    clock.advance(21)
    client.writes.clear()
    assert _reconcile(ctrl) is None
    d.status = _last_status(client)
    progressing = _progressing(d.status)
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    assert progressing.message == 'ReplicaSet "web-new" has timed out progressing.'
    assert ctrl.ctx.recorder.events[-1][2] == "ProgressDeadlineExceeded"  # type: ignore[attr-defined]

    # A pod of the new ReplicaSet becomes ready: progress again, a fresh deadline.
    new = ctrl.replicasets.get("default/web-new")
    fake(ctrl.pods).add(pod("new-0", owner=new, ready=True))
    assert _reconcile(ctrl) == pytest.approx(30.0)
    progressing = _progressing(_last_status(client))
    assert (progressing.status, progressing.reason) == ("True", "ReplicaSetUpdated")


def test_a_complete_rollout_has_no_deadline() -> None:
    ctrl, informers, client, _ = _controller()
    d = deployment(replicas=2, image="img:2")
    informers.informer(Deployment).add(d)
    template = _template("img:2")
    template["metadata"]["labels"][HASH_LABEL] = template_hash(d.spec.template)
    new = replicaset("web-new", 2, uid="new", owner=d, template=template, annotations={REVISION: "1"})
    informers.informer(ReplicaSet).add(new)
    informers.informer(Pod).add(*[pod(f"new-{i}", owner=new, ready=True) for i in range(2)])
    assert _reconcile(ctrl) is None
    progressing = _progressing(_last_status(client))
    assert (progressing.status, progressing.reason) == ("True", "NewReplicaSetAvailable")

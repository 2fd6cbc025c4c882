"""The Deployment controller on a filled cache: rolling steps as exact ReplicaSet writes."""

from __future__ import annotations

import pytest

from kajitori.api.apps import Deployment, ReplicaSet
from kajitori.api.core import Pod
from kajitori.clock import FakeClock
from master.controllers.context import LoopContext
from master.controllers.deployment import (
    HASH_LABEL,
    REVISION,
    DeploymentController,
    resolve_fraction,
    template_hash,
)
from tests.unit.controllers.builders import deployment, pod, replicaset
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


def _controller() -> tuple[DeploymentController, FakeInformers, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder, clock=FakeClock(start=1_800_000_000))
    return DeploymentController(ctx), informers, client, recorder


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
    ctrl.reconcile("default/web")
    scaled = [(w[2], w[3].spec.replicas) for w in client.writes if w[0] == "update" and w[1] == "ReplicaSet"]
    assert scaled == expected


def test_status_counts_updated_and_available() -> None:
    ctrl, client = _rolling_state(1, 1)
    ctrl.reconcile("default/web")
    status = next(w[3].status for w in client.writes if w[0] == "update_status")
    assert (status.replicas, status.updatedReplicas, status.availableReplicas, status.observedGeneration) == (5, 1, 5, 2)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "ReplicaSetUpdated")}

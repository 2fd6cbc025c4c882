"""A StatefulSet's names and the decisions of one pass: order, scale-down, rolling update, partition."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.apps import StatefulSet
from kajitori.api.core import Pod
from master.controllers.revisions import revision_data, template_of
from master.controllers.statefulset_rules import (
    claim_name,
    next_actions,
    ordinal_of,
    pod_name,
    template_hash,
)

TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def sts(replicas: int = 3, *, policy: str = "OrderedReady", partition: int = 0, max_unavailable: int | None = None,
        strategy: str = "RollingUpdate") -> StatefulSet:  # fmt: skip
    update: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"partition": partition, "maxUnavailable": max_unavailable}
    return StatefulSet.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE, "serviceName": "nginx",
                 "podManagementPolicy": policy, "updateStrategy": update},
    })  # fmt: skip


def pod(ordinal: int, *, ready: bool = True, phase: str = "Running", revision: str = "new", terminating: bool = False) -> Pod:
    meta: dict[str, Any] = {"name": f"web-{ordinal}", "namespace": "default", "labels": {"controller-revision-hash": revision}}
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    return Pod.model_validate({"metadata": meta, "spec": {"containers": [{"name": "c", "image": "i"}]},
                               "status": {"phase": phase, "conditions": conditions}})  # fmt: skip


def decide(s: StatefulSet, *pods: Pod) -> tuple[list[int], list[str]]:
    actions = next_actions(s, {int((p.metadata.name or "").rsplit("-", 1)[1]): p for p in pods}, update_revision="new", now=1e10)
    return actions.create, actions.delete


def test_names() -> None:
    assert pod_name("web", 0) == "web-0" and claim_name("www", "web", 1) == "www-web-1"
    assert [ordinal_of("web", n) for n in ("web-0", "web-12", "web-01", "web-x", "webby-1", "other-web-1")] == [0, 12, None, None, None, None]
    assert template_hash(TEMPLATE) == template_hash(dict(TEMPLATE)) != template_hash({**TEMPLATE, "spec": {}})
    assert template_hash(TEMPLATE) != template_hash(TEMPLATE, 1)
    assert template_of(revision_data(TEMPLATE)) == TEMPLATE


@pytest.mark.parametrize(
    ("the_set", "pods", "create", "delete"),
    [
        pytest.param(sts(3), [], [0], [], id="ordered-starts-with-0"),
        pytest.param(sts(3), [pod(0, ready=False)], [], [], id="ordered-waits-for-0-ready"),
        pytest.param(sts(3), [pod(0, phase="Pending", ready=False)], [], [], id="ordered-waits-for-0-running"),
        pytest.param(sts(3), [pod(0)], [1], [], id="ordered-then-1"),
        pytest.param(sts(3), [pod(0), pod(2)], [1], [], id="ordered-fills-the-gap"),
        pytest.param(sts(3, policy="Parallel"), [], [0, 1, 2], [], id="parallel-all-at-once"),
        pytest.param(sts(3, policy="Parallel"), [pod(0, ready=False)], [1, 2], [], id="parallel-does-not-wait"),
        pytest.param(sts(3), [pod(0), pod(1, phase="Failed")], [], ["web-1"], id="failed-pod-replaced"),
        pytest.param(sts(1), [pod(0), pod(1), pod(2)], [], ["web-2"], id="scale-down-highest-first"),
        pytest.param(sts(1), [pod(0), pod(1), pod(2, terminating=True)], [], [], id="scale-down-one-at-a-time"),
        pytest.param(sts(1), [pod(0, ready=False), pod(1), pod(2)], [], [], id="scale-down-waits-for-healthy"),
        pytest.param(sts(1, policy="Parallel"), [pod(0), pod(1), pod(2)], [], ["web-2", "web-1"], id="parallel-scale-down"),
        pytest.param(sts(3), [pod(0, revision="old"), pod(1, revision="old"), pod(2, revision="old")], [], ["web-2"], id="update-highest-first"),
        pytest.param(sts(3), [pod(0, revision="old"), pod(1, revision="old"), pod(2, ready=False)], [], [], id="update-waits-for-ready"),
        pytest.param(sts(3, partition=2), [pod(0, revision="old"), pod(1, revision="old"), pod(2)], [], [], id="partition-holds"),
        pytest.param(sts(3, partition=1), [pod(0, revision="old"), pod(1, revision="old"), pod(2)], [], ["web-1"], id="partition-lowered"),
        pytest.param(sts(3, policy="Parallel", max_unavailable=2), [pod(0, revision="old"), pod(1, revision="old"), pod(2, revision="old")],
                     [], ["web-2", "web-1"], id="max-unavailable-2"),
        pytest.param(sts(3, strategy="OnDelete"), [pod(0, revision="old"), pod(1, revision="old"), pod(2, revision="old")], [], [], id="on-delete"),
    ],
)
def test_one_pass_decides(the_set: StatefulSet, pods: list[Pod], create: list[int], delete: list[str]) -> None:
    assert decide(the_set, *pods) == (create, delete)

"""Node affinity by node name (matchFields metadata.name), as DaemonSet pods are placed."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.core import Node, Pod
from master.scheduler.cache import NodeInfo, PodFacts
from master.scheduler.filters import AFFINITY_MISMATCH, failure_reasons


def pod_with_terms(*terms: dict[str, Any]) -> PodFacts:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}
    return PodFacts.of(Pod.model_validate({
        "metadata": {"name": "agent-x", "namespace": "default"},
        "spec": {"containers": [{"name": "agent", "image": "img:1"}], "affinity": affinity},
    }))  # fmt: skip


def node(name: str, labels: dict[str, str] | None = None) -> NodeInfo:
    return NodeInfo.of(Node.model_validate({
        "metadata": {"name": name, "labels": labels or {}},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }))  # fmt: skip


def name_is(*names: str, operator: str = "In") -> dict[str, Any]:
    return {"key": "metadata.name", "operator": operator, "values": list(names)}


@pytest.mark.parametrize(
    ("facts", "the_node", "fits"),
    [
        pytest.param(pod_with_terms({"matchFields": [name_is("n2")]}), node("n2"), True, id="named-node"),
        pytest.param(pod_with_terms({"matchFields": [name_is("n2")]}), node("n1"), False, id="other-node"),
        pytest.param(pod_with_terms({"matchFields": [name_is("n1", operator="NotIn")]}), node("n2"), True, id="not-in"),
        pytest.param(
            pod_with_terms({"matchFields": [name_is("n2")], "matchExpressions": [{"key": "disk", "operator": "Exists"}]}),
            node("n2"), False, id="fields-and-expressions-both-hold",
        ),
        pytest.param(pod_with_terms({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
                                    {"matchFields": [name_is("n2")]}), node("n2"), True, id="terms-are-ored"),
        pytest.param(pod_with_terms({"matchFields": [name_is("n2")]}), node("n2", {"metadata.name": "n1"}), True,
                     id="a-label-of-that-name-is-not-the-field"),
    ],
)  # fmt: skip
def test_match_fields_on_the_node_name(facts: PodFacts, the_node: NodeInfo, fits: bool) -> None:
    assert failure_reasons(facts, the_node) == (() if fits else (AFFINITY_MISMATCH,))

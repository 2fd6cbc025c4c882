"""Scheduler filters, scores and the unschedulable message, as tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kajitori.api.core import Node, Pod
from master.scheduler.cache import NodeInfo, PodFacts
from master.scheduler.filters import failure_reasons, unschedulable_message
from master.scheduler.scheduler import feasible_nodes_to_find
from master.scheduler.scores import score_nodes


def make_pod(cpu: str | None = None, memory: str | None = None, **spec: Any) -> PodFacts:
    container: dict[str, Any] = {"name": "app", "image": "img:1"}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if requests:
        container["resources"] = {"requests": requests}
    if "host_port" in spec:
        container["ports"] = [{"containerPort": 80, "hostPort": spec.pop("host_port")}]
    return PodFacts.of(Pod.model_validate({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [container], **spec}}))


def make_node(name: str = "n1", cpu: str = "4", memory: str = "8Gi", *, ready: bool = True, labels: dict[str, str] | None = None,
              taints: list[dict[str, str]] | None = None, unschedulable: bool = False) -> NodeInfo:  # fmt: skip
    return NodeInfo.of(Node.model_validate({
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints, "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }))  # fmt: skip


def _with_used_port(node: NodeInfo) -> NodeInfo:
    node.add(make_pod(host_port=8080))
    return node


UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}  # fmt: skip


@pytest.mark.parametrize(
    ("pod", "node", "reasons"),
    [
        pytest.param(make_pod("1"), make_node(), (), id="fits"),
        pytest.param(make_pod("5"), make_node(cpu="4"), ("Insufficient cpu",), id="cpu"),
        pytest.param(make_pod("5", "16Gi"), make_node(cpu="4"), ("Insufficient cpu", "Insufficient memory"), id="cpu-and-memory"),
        pytest.param(make_pod(), make_node(ready=False), ("node(s) were not ready",), id="not-ready"),
        pytest.param(make_pod(), make_node(unschedulable=True), ("node(s) were unschedulable",), id="cordoned"),
        pytest.param(make_pod(), make_node(taints=[UNREACHABLE]),
                     ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",), id="untolerated-taint"),
        pytest.param(make_pod(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]),
                     make_node(taints=[UNREACHABLE]), (), id="tolerated-taint"),
        pytest.param(make_pod(tolerations=[{"operator": "Exists"}]), make_node(taints=[UNREACHABLE]), (), id="tolerate-everything"),
        pytest.param(make_pod(), make_node(taints=[{"key": "soft", "effect": "PreferNoSchedule"}]), (), id="prefer-no-schedule-passes"),
        pytest.param(make_pod(nodeSelector={"disk": "ssd"}), make_node(labels={"disk": "hdd"}),
                     ("node(s) didn't match Pod's node affinity/selector",), id="node-selector"),
        pytest.param(make_pod(affinity=AFFINITY), make_node(labels={"disk": "ssd"}), (), id="required-affinity-match"),
        pytest.param(make_pod(affinity=AFFINITY), make_node(), ("node(s) didn't match Pod's node affinity/selector",), id="required-affinity-miss"),
        pytest.param(make_pod(host_port=8080), _with_used_port(make_node()),
                     ("node(s) didn't have free ports for the requested pod ports",), id="host-port-taken"),
        pytest.param(make_pod(host_port=9090), _with_used_port(make_node()), (), id="other-host-port"),
    ],
)
def test_filters(pod: PodFacts, node: NodeInfo, reasons: tuple[str, ...]) -> None:
    assert failure_reasons(pod, node) == reasons


def test_seed_example_five_cpus_goes_to_the_fifteen_cpu_node() -> None:
    pod = make_pod("5")
    nodes = [make_node("small", "4"), make_node("medium", "10"), make_node("large", "15")]
    feasible = [n for n in nodes if not failure_reasons(pod, n)]
    assert [n.name for n in feasible] == ["medium", "large"]
    totals = score_nodes(pod, feasible)
    assert totals[1] > totals[0]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param({"b": 2, "a": 0}, "a", id="fewer-replicas-of-the-owner-wins"),
        pytest.param({"a": 3, "b": 1}, "b", id="spread"),
    ],
)
def test_spread_prefers_nodes_with_fewer_replicas(counts: dict[str, int], expected: str) -> None:
    pod_doc = {"metadata": {"name": "p", "namespace": "default", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid", "controller": True}]},
        "spec": {"containers": [{"name": "app", "image": "img:1"}]}}  # fmt: skip
    pod = PodFacts.of(Pod.model_validate(pod_doc))
    nodes = []
    for name in ("a", "b"):
        node = make_node(name, "64", "256Gi")
        for _ in range(counts[name]):
            node.add(pod)
        nodes.append(node)
    totals = score_nodes(pod, nodes)
    assert nodes[totals.index(max(totals))].name == expected


@pytest.mark.parametrize(
    ("total", "reasons", "message"),
    [
        pytest.param(3, Counter({"Insufficient cpu": 1, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }": 2}),
                     "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.",
                     id="kubernetes-form"),
        pytest.param(0, Counter(), "no nodes available to schedule pods", id="no-nodes"),
    ],
)
def test_unschedulable_message(total: int, reasons: Counter[str], message: str) -> None:
    assert unschedulable_message(total, reasons) == message


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [pytest.param(50, 50, id="small-all"), pytest.param(1000, 420, id="thousand-42pct"), pytest.param(5000, 500, id="5000-10pct")],
)
def test_feasible_nodes_to_find(nodes: int, expected: int) -> None:
    assert feasible_nodes_to_find(nodes) == expected

"""Scheduling filters: can this pod run on this node? Each names why not, as Kubernetes does.

A filter takes the pod's facts and a node's info and returns the reasons it fails
(an empty tuple when the node fits). The reasons are Kubernetes' own strings, so the
summary of a pod that fits nowhere reads like kube-scheduler's::

    0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.

Filters run in ``FILTERS`` order and a node stops at its first failing filter (as
kube-scheduler's framework does), so each node counts once in the summary, except
that the resource filter names every resource that is short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from kajitori.api.core import NodeSelectorTerm, Taint
from master.placement_rules import requirement_matches, tolerates, untolerated_taint
from master.scheduler.cache import NodeInfo, PodFacts
from master.scheduler.volumes import volume_reasons

Filter = Callable[[PodFacts, NodeInfo], tuple[str, ...]]

UNSCHEDULABLE = "node(s) were unschedulable"
NOT_READY = "node(s) were not ready"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"


def term_matches(term: NodeSelectorTerm, node: NodeInfo) -> bool:
    """All expressions of a term hold (a term with none matches nothing, as in Kubernetes)."""
    expressions = term.matchExpressions or []
    fields = term.matchFields or []
    if not expressions and not fields:
        return False
    if not all(requirement_matches(r, node.labels) for r in expressions):
        return False
    return all(requirement_matches(r, {"metadata.name": node.name}) for r in fields)


# -- the filters, in order --------------------------------------------------------------


def node_unschedulable(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    if not node.unschedulable:
        return ()
    spec_taint = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
    if any(tolerates(t, spec_taint) for t in pod.tolerations):
        return ()
    return (UNSCHEDULABLE,)


def taint_toleration(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    if not node.taints:
        return ()
    taint = untolerated_taint(pod.tolerations, node.taints, ("NoSchedule", "NoExecute"))
    if taint is None:
        return ()
    return (f"node(s) had untolerated taint {{{taint.key}: {taint.value or ''}}}",)


def node_ready(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    return () if node.ready else (NOT_READY,)


def node_affinity(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    for key, value in pod.node_selector.items():
        if node.labels.get(key) != value:
            return (AFFINITY_MISMATCH,)
    if pod.required_terms and not any(term_matches(t, node) for t in pod.required_terms):
        return (AFFINITY_MISMATCH,)
    return ()


def _ports_conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    if a[1] != b[1] or a[2] != b[2]:
        return False
    return a[0] == b[0] or "0.0.0.0" in (a[0], b[0])


def node_ports(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    if not pod.host_ports or not node.host_ports:
        return ()
    for wanted in pod.host_ports:
        if any(_ports_conflict(wanted, used) for used in node.host_ports):
            return (PORTS_TAKEN,)
    return ()


def resources_fit(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    reasons: list[str] = []
    if node.pod_count + 1 > node.allocatable_pods:
        reasons.append(TOO_MANY_PODS)
    if pod.cpu_m and node.requested_cpu_m + pod.cpu_m > node.allocatable_cpu_m:
        reasons.append("Insufficient cpu")
    if pod.memory_b and node.requested_memory_b + pod.memory_b > node.allocatable_memory_b:
        reasons.append("Insufficient memory")
    return tuple(reasons)


def volume_binding(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    return volume_reasons(pod.volumes, node.name, node.labels)


FILTERS: tuple[Filter, ...] = (
    node_unschedulable, taint_toleration, node_ready, node_affinity, volume_binding, node_ports, resources_fit
)


def failure_reasons(pod: PodFacts, node: NodeInfo) -> tuple[str, ...]:
    """Why the node does not fit (its first failing filter), or () when it fits."""
    for check in FILTERS:
        reasons = check(pod, node)
        if reasons:
            return reasons
    return ()


def unschedulable_message(total_nodes: int, reasons: Counter[str]) -> str:
    """kube-scheduler's FitError text: ``0/N nodes are available: <count> <reason>, ...``."""
    if total_nodes == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    return f"0/{total_nodes} nodes are available: {', '.join(parts)}."

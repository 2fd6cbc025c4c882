"""Scheduling scores: how good is each feasible node? Every score ends up in 0..100.

A ``Score`` has a weight, a raw function of (pod, node) and a normalization over
the feasible nodes, as kube-scheduler's score plugins have Score and NormalizeScore.
The node with the highest weighted sum wins; ties are broken at random.

- least allocated (weight 1): the share of CPU and memory left free after placing
  the pod. A 5-CPU pod on nodes of 10 and 15 CPUs: 50 vs 67, the 15-CPU node wins.
- balanced allocation (1): CPU and memory used in the same proportion.
- spread (2): fewer pods of the same owner on the node.
- preferred node affinity (2): the summed weights of matching preferred terms.
- taint toleration (3): fewer untolerated PreferNoSchedule taints.

Scoring uses the non-zero requests (a pod without requests counts as 100m CPU and
200 MiB), so empty pods still spread, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from master.placement_rules import untolerated_taint
from master.scheduler.cache import NodeInfo, PodFacts
from master.scheduler.filters import term_matches

MAX_SCORE = 100.0


@dataclass(frozen=True)
class Score:
    name: str
    weight: float
    raw: Callable[[PodFacts, NodeInfo], float]
    normalize: Callable[[list[float]], list[float]] | None = None
    applies: Callable[[PodFacts], bool] = lambda _pod: True


def least_allocated(pod: PodFacts, node: NodeInfo) -> float:
    def free_share(requested: int, capacity: int) -> float:
        if capacity <= 0:
            return 0.0
        return max(0.0, (capacity - requested) * MAX_SCORE / capacity)

    cpu = free_share(node.nonzero_cpu_m + pod.nonzero_cpu_m, node.allocatable_cpu_m)
    memory = free_share(node.nonzero_memory_b + pod.nonzero_memory_b, node.allocatable_memory_b)
    return (cpu + memory) / 2


def balanced_allocation(pod: PodFacts, node: NodeInfo) -> float:
    if node.allocatable_cpu_m <= 0 or node.allocatable_memory_b <= 0:
        return 0.0
    cpu = min(1.0, (node.requested_cpu_m + pod.cpu_m) / node.allocatable_cpu_m)
    memory = min(1.0, (node.requested_memory_b + pod.memory_b) / node.allocatable_memory_b)
    # Kubernetes: 1 - standard deviation of the two fractions (|a-b|/2 for two values).
    return (1.0 - abs(cpu - memory) / 2) * MAX_SCORE


def owner_pods(pod: PodFacts, node: NodeInfo) -> float:
    return float(node.owner_counts.get(pod.owner_uid or "", 0))


def preferred_affinity(pod: PodFacts, node: NodeInfo) -> float:
    return float(sum(t.weight for t in pod.preferred_terms if term_matches(t.preference, node)))


def prefer_no_schedule_taints(pod: PodFacts, node: NodeInfo) -> float:
    count = 0
    remaining = [t for t in node.taints if t.effect == "PreferNoSchedule"]
    while remaining:
        taint = untolerated_taint(pod.tolerations, remaining, ("PreferNoSchedule",))
        if taint is None:
            break
        count += 1
        remaining.remove(taint)
    return float(count)


def fewer_is_better(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    if top <= 0:
        return [MAX_SCORE] * len(values)
    return [(top - v) * MAX_SCORE / top for v in values]


def more_is_better(values: list[float]) -> list[float]:
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [v * MAX_SCORE / top for v in values]


SCORES: tuple[Score, ...] = (
    Score("LeastAllocated", 1, least_allocated),
    Score("BalancedAllocation", 1, balanced_allocation),
    Score("Spread", 2, owner_pods, fewer_is_better, lambda pod: pod.owner_uid is not None),
    Score("NodeAffinity", 2, preferred_affinity, more_is_better, lambda pod: bool(pod.preferred_terms)),
    Score("TaintToleration", 3, prefer_no_schedule_taints, fewer_is_better),
)


def resource_scores(pod: PodFacts, nodes: list[NodeInfo]) -> list[float]:
    """LeastAllocated + BalancedAllocation (both weight 1) in one pass: the same sums as
    ``least_allocated`` and ``balanced_allocation``, without two calls per node."""
    out: list[float] = []
    nz_cpu, nz_memory, cpu, memory = pod.nonzero_cpu_m, pod.nonzero_memory_b, pod.cpu_m, pod.memory_b
    for node in nodes:
        cap_cpu, cap_memory = node.allocatable_cpu_m, node.allocatable_memory_b
        if cap_cpu <= 0 or cap_memory <= 0:
            out.append(least_allocated(pod, node) + balanced_allocation(pod, node))
            continue
        free_cpu = max(0.0, (cap_cpu - node.nonzero_cpu_m - nz_cpu) * MAX_SCORE / cap_cpu)
        free_memory = max(0.0, (cap_memory - node.nonzero_memory_b - nz_memory) * MAX_SCORE / cap_memory)
        cpu_share = min(1.0, (node.requested_cpu_m + cpu) / cap_cpu)
        memory_share = min(1.0, (node.requested_memory_b + memory) / cap_memory)
        out.append((free_cpu + free_memory) / 2 + (1.0 - abs(cpu_share - memory_share) / 2) * MAX_SCORE)
    return out


def score_nodes(pod: PodFacts, nodes: list[NodeInfo], scores: tuple[Score, ...] = SCORES) -> list[float]:
    """The weighted total of every score, per node (same order as ``nodes``)."""
    fused = scores[:2] == SCORES[:2]
    totals = resource_scores(pod, nodes) if fused else [0.0] * len(nodes)
    for score in scores[2:] if fused else scores:
        if not score.applies(pod):
            continue
        if score.name == "TaintToleration" and not any(n.taints for n in nodes):
            continue  # nothing to tell apart: skip the work
        raw = [score.raw(pod, node) for node in nodes]
        values = score.normalize(raw) if score.normalize else raw
        for i, value in enumerate(values):
            totals[i] += score.weight * value
    return totals

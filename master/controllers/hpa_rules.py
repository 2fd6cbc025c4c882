"""How many replicas an HPA wants: Kubernetes' replica calculator and its behavior, as pure rules.

``desired_from_utilization`` is the replica calculator for a Resource metric:

1. pods being deleted or Failed are ignored; pods not Ready (for CPU, as Kubernetes'
   initialization period) are "unready"; Ready pods without a sample are "missing";
2. the usage ratio is the ready pods' usage over their requests, divided by the target;
   within the 10 % tolerance nothing changes;
3. conservatively: on a scale-down, missing pods count as using 100 % of their request
   (or the target, if higher); on a scale-up, missing and unready pods count as using
   nothing; if that flips the direction or lands within tolerance, nothing changes;
4. desired = ceil(ratio * pods counted).

``stabilized`` and ``limited_by_policies`` are the behavior: a scale-down takes the
highest recommendation of the window (default 300 s), a scale-up the lowest of its
window (default 0); then the policies (default up: 4 pods or 100 % per 15 s, the larger;
down: 100 % per 15 s) bound the change from the replicas at the start of each period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kajitori.api.autoscaling import DEFAULT_SCALE_DOWN_WINDOW, HPAScalingPolicy, HPAScalingRules

TOLERANCE = 0.1


class NoMetrics(Exception):
    """No Ready pod has a sample (or a request): the HPA cannot compute a utilization."""


@dataclass(frozen=True)
class PodSample:
    """One pod as the calculator sees it: readiness, the request, the usage (None: no sample)."""

    name: str
    ready: bool
    request: float
    usage: float | None
    ignored: bool = False  # being deleted, or Failed


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    at: float


@dataclass(frozen=True)
class ScaleEvent:
    """A change the HPA made: +n or -n replicas at a time."""

    change: int
    at: float


def utilization(pods: list[PodSample]) -> int:
    """The ready pods' usage in percent of their requests (what status.currentMetrics shows)."""
    counted = [p for p in pods if not p.ignored and p.ready and p.usage is not None]
    requests = sum(p.request for p in counted)
    if not counted or requests <= 0:
        raise NoMetrics("no ready pod with both a sample and a request")
    return int(sum(p.usage or 0.0 for p in counted) * 100 / requests)


def desired_from_utilization(current: int, pods: list[PodSample], target: int) -> int:
    """Kubernetes' GetResourceReplicas: the replicas the pods' utilization asks for, `target` in percent."""
    live = [p for p in pods if not p.ignored]
    ready = [p for p in live if p.ready and p.usage is not None]
    unready = [p for p in live if not p.ready]
    missing = [p for p in live if p.ready and p.usage is None]
    ratio = utilization(ready) / target
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current
        return math.ceil(ratio * len(ready))
    usage = {p.name: p.usage or 0.0 for p in ready}
    requests = {p.name: p.request for p in ready}
    for p in missing:
        usage[p.name] = p.request * max(100, target) / 100 if ratio < 1.0 else 0.0
        requests[p.name] = p.request
    if scale_up_with_unready:
        for p in unready:
            usage[p.name], requests[p.name] = 0.0, p.request
    new_ratio = (sum(usage.values()) * 100 / sum(requests.values())) / target
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    desired = math.ceil(new_ratio * len(usage))
    if (new_ratio < 1.0 and desired > current) or (new_ratio > 1.0 and desired < current):
        return current
    return desired


DEFAULT_UP = HPAScalingRules(
    stabilizationWindowSeconds=0,
    selectPolicy="Max",
    policies=[HPAScalingPolicy(type="Pods", value=4, periodSeconds=15), HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)],
)
DEFAULT_DOWN = HPAScalingRules(
    stabilizationWindowSeconds=DEFAULT_SCALE_DOWN_WINDOW,
    selectPolicy="Max",
    policies=[HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)],
)


def stabilized(
    desired: int, current: int, history: list[Recommendation], *, now: float, up: HPAScalingRules, down: HPAScalingRules
) -> int:
    """The recommendation after the windows: no lower than any of the scale-down window, no higher than any of the scale-up window."""
    up_window = up.stabilizationWindowSeconds if up.stabilizationWindowSeconds is not None else 0
    down_window = down.stabilizationWindowSeconds if down.stabilizationWindowSeconds is not None else DEFAULT_SCALE_DOWN_WINDOW
    up_bound, down_bound = desired, desired
    for rec in history:
        if rec.at > now - up_window:
            up_bound = min(up_bound, rec.replicas)
        if rec.at > now - down_window:
            down_bound = max(down_bound, rec.replicas)
    # Kubernetes' stabilizeRecommendationWithBehaviors: move from current only as far as every window agrees.
    return min(max(current, up_bound), down_bound)


def limited_by_policies(desired: int, current: int, events: list[ScaleEvent], *, now: float, rules: HPAScalingRules) -> int:
    """The replicas the policies of the direction allow (selectPolicy Max: the most change, Min: the least)."""
    if rules.selectPolicy == "Disabled":
        return current
    scaling_up = desired > current
    limits = []
    for policy in rules.policies or []:
        changed = sum(e.change for e in events if e.at > now - policy.periodSeconds and (e.change > 0) == scaling_up)
        start = current - changed
        if scaling_up:
            limits.append(start + policy.value if policy.type == "Pods" else math.ceil(start * (1 + policy.value / 100)))
        else:
            limits.append(start - policy.value if policy.type == "Pods" else math.ceil(start * (1 - policy.value / 100)))
    if not limits:
        return desired
    pick = max if (rules.selectPolicy or "Max") == "Max" else min
    if scaling_up:
        return min(desired, pick(limits))
    return max(desired, (min if pick is max else max)(limits))


def clamp(desired: int, *, min_replicas: int, max_replicas: int) -> tuple[int, str | None]:
    """The replicas within [min, max], and the ScalingLimited reason when bounded."""
    if desired > max_replicas:
        return max_replicas, "TooManyReplicas"
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas"
    return desired, None

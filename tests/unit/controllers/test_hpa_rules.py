"""The HPA's decisions as tables: the replica calculator, the windows, the policies, the bounds."""

from __future__ import annotations

import pytest

from kajitori.api.autoscaling import HPAScalingPolicy, HPAScalingRules
from master.controllers.hpa_rules import (
    DEFAULT_DOWN,
    DEFAULT_UP,
    NoMetrics,
    PodSample,
    Recommendation,
    ScaleEvent,
    clamp,
    desired_from_utilization,
    limited_by_policies,
    stabilized,
)


def pods(*usages: float | None, request: float = 1.0, ready: bool = True) -> list[PodSample]:
    kind = "ready" if ready and None not in usages else "other"
    return [PodSample(f"{kind}-{i}", ready, request, u) for i, u in enumerate(usages)]


@pytest.mark.parametrize(
    ("current", "samples", "target", "want"),
    [
        pytest.param(2, pods(0.9, 0.9), 50, 4, id="twice-the-target-doubles"),
        pytest.param(3, pods(0.54, 0.5, 0.5), 50, 3, id="within-10-percent-tolerance"),
        pytest.param(4, pods(0.1, 0.1, 0.1, 0.1), 50, 1, id="a-fifth-of-the-target-scales-down"),
        pytest.param(1, pods(1.0, request=0.5), 50, 4, id="usage-over-request-percent"),
        pytest.param(3, [*pods(0.6, 0.6), *pods(None)], 50, 3, id="missing-pod-counted-at-0-stops-a-small-scale-up"),
        pytest.param(3, [*pods(1.0, 1.0), *pods(None)], 50, 4, id="missing-pod-at-0-on-scale-up"),
        pytest.param(3, [*pods(0.1, 0.1), *pods(None)], 50, 3, id="missing-pod-at-100-percent-on-scale-down"),
        pytest.param(4, [*pods(0.0, 0.0), *pods(None)], 50, 2, id="missing-pod-at-the-request-limits-scale-down"),
        pytest.param(4, [*pods(0.0, 0.0), *pods(None)], 10, 4, id="missing-pod-flipping-the-direction-changes-nothing"),
        pytest.param(2, [*pods(1.0), *pods(None, ready=False)], 50, 2, id="unready-pod-at-0-keeps-it-within-tolerance"),
        pytest.param(2, [*pods(1.5), *pods(None, ready=False)], 50, 3, id="unready-pod-at-0-damps-a-scale-up"),
        pytest.param(2, [*pods(0.1), *pods(None, ready=False)], 50, 1, id="unready-pods-ignored-on-scale-down"),
        pytest.param(2, [*pods(0.9, 0.9), PodSample("gone", True, 1.0, 5.0, ignored=True)], 50, 4, id="deleted-pod-ignored"),
    ],
)
def test_replicas_from_utilization(current: int, samples: list[PodSample], target: int, want: int) -> None:
    assert desired_from_utilization(current, samples, target) == want


def test_no_ready_pod_with_a_sample_is_no_metrics() -> None:
    with pytest.raises(NoMetrics):
        desired_from_utilization(2, [*pods(None), *pods(1.0, ready=False)], 50)


@pytest.mark.parametrize(
    ("desired", "current", "history", "want"),
    [
        pytest.param(2, 5, [Recommendation(5, 1000.0 - 100)], 5, id="down-held-by-a-recommendation-in-the-window"),
        pytest.param(2, 5, [Recommendation(5, 1000.0 - 301)], 2, id="down-once-the-window-passed"),
        pytest.param(2, 5, [Recommendation(4, 1000.0 - 100), Recommendation(3, 1000.0 - 50)], 4, id="down-to-the-window-highest"),
        pytest.param(8, 5, [Recommendation(2, 1000.0 - 100)], 8, id="up-not-held-by-default"),
    ],
)
def test_stabilization_window(desired: int, current: int, history: list[Recommendation], want: int) -> None:
    assert stabilized(desired, current, history, now=1000.0, up=DEFAULT_UP, down=DEFAULT_DOWN) == want


def test_a_scale_up_window_takes_the_lowest_recommendation() -> None:
    up = HPAScalingRules(stabilizationWindowSeconds=60)
    assert stabilized(8, 2, [Recommendation(3, 990.0)], now=1000.0, up=up, down=DEFAULT_DOWN) == 3


@pytest.mark.parametrize(
    ("desired", "current", "events", "rules", "want"),
    [
        pytest.param(20, 2, [], DEFAULT_UP, 6, id="up-4-pods-beats-100-percent-of-2"),
        pytest.param(40, 10, [], DEFAULT_UP, 20, id="up-100-percent-beats-4-pods-of-10"),
        pytest.param(40, 10, [ScaleEvent(5, 995.0)], DEFAULT_UP, 10, id="up-counted-from-the-start-of-the-period"),
        pytest.param(1, 10, [], DEFAULT_DOWN, 1, id="down-100-percent-allows-all"),
        pytest.param(
            1, 10, [],
            HPAScalingRules(policies=[HPAScalingPolicy(type="Pods", value=2, periodSeconds=60)]), 8, id="down-2-pods-per-minute",
        ),
        pytest.param(
            1, 10, [ScaleEvent(-2, 980.0)],
            HPAScalingRules(policies=[HPAScalingPolicy(type="Pods", value=2, periodSeconds=60)]), 10, id="down-budget-spent",
        ),
        pytest.param(
            1, 10, [],
            HPAScalingRules(selectPolicy="Min", policies=[HPAScalingPolicy(type="Pods", value=2, periodSeconds=60),
                                                          HPAScalingPolicy(type="Percent", value=50, periodSeconds=60)]),
            8, id="down-min-picks-the-least-change",
        ),
        pytest.param(1, 10, [], HPAScalingRules(selectPolicy="Disabled"), 10, id="disabled"),
    ],
)  # fmt: skip
def test_policies(desired: int, current: int, events: list[ScaleEvent], rules: HPAScalingRules, want: int) -> None:
    assert limited_by_policies(desired, current, events, now=1000.0, rules=rules) == want


@pytest.mark.parametrize(
    ("desired", "want"),
    [pytest.param(0, (1, "TooFewReplicas"), id="min"), pytest.param(9, (5, "TooManyReplicas"), id="max"), pytest.param(3, (3, None), id="within")],
)
def test_clamp(desired: int, want: tuple[int, str | None]) -> None:
    assert clamp(desired, min_replicas=1, max_replicas=5) == want

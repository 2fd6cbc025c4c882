"""``python_gc_duration_seconds{generation}``: how long each pass of Python's garbage collector held the process.

A pass holds the GIL from start to end: no request is answered, no heartbeat sent and no
event fanned out meanwhile. A full pass (generation 2) walks every tracked object of the
process, so its length grows with the heap: with 1,000 watches open on the master it was
40-100 ms (bench/watch_fanout's max write latency). kube-apiserver exports Go's collector
pauses as ``go_gc_duration_seconds`` for the same reason: a latency tail that no request
metric explains.

Timed by a ``gc.callbacks`` hook, which Python calls at the start and the end of every
pass, on the thread that triggered it and with no other pass possible in between. What a
pass pays: two clock reads, a bisect and two adds.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = 3


class GCPauses(Collector):
    """Counts each collector pass by generation and length; ``install`` hooks it into ``gc``."""

    def __init__(self) -> None:
        self._started = 0.0
        # per generation: a count per bucket (not cumulative; the last is +Inf), and the sum
        self.counts = [[0] * (len(BUCKETS) + 1) for _ in range(GENERATIONS)]
        self.sums = [0.0] * GENERATIONS

    def install(self, registry: CollectorRegistry) -> GCPauses:
        registry.register(self)
        gc.callbacks.append(self._on_pass)
        return self

    def uninstall(self, registry: CollectorRegistry) -> None:
        gc.callbacks.remove(self._on_pass)
        registry.unregister(self)

    def _on_pass(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = info["generation"]
        self.counts[generation][bisect_left(BUCKETS, seconds)] += 1
        self.sums[generation] += seconds

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "python_gc_duration_seconds", "Time each garbage collector pass held the process, by generation (2: a full pass).",
            labels=["generation"],
        )  # fmt: skip
        for generation in range(GENERATIONS):
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip([*BUCKETS, float("inf")], self.counts[generation], strict=True):
                cumulative += in_bucket
                buckets.append((floatToGoString(bound), cumulative))
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())

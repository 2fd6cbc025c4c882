"""``python_gc_duration_seconds{generation}``: how long each pass of Python's garbage collector held the process.

A pass holds the GIL from start to end: no request is answered, no heartbeat sent and no
event fanned out meanwhile. A full pass (generation 2) walks every tracked object of the
process, so its length grows with the heap: with 1,000 watches open on the master it was
40-100 ms (bench/watch_fanout's max write latency). kube-apiserver exports Go's collector
pauses as ``go_gc_duration_seconds`` for the same reason: a latency tail that no request
metric explains.

Timed by a ``gc.callbacks`` hook, which Python calls at the start and the end of every
pass, on the thread that triggered it and with no other pass possible in between. What a
pass pays: two clock reads and a ``Histogram.observe``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from kajitori.metrics import Histogram

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = 3


class GCPauses(Collector):
    """Counts each collector pass by generation and length; ``install`` hooks it into ``gc``."""

    def __init__(self) -> None:
        self._started = 0.0
        self.generations = [Histogram(BUCKETS) for _ in range(GENERATIONS)]

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
        self.generations[info["generation"]].observe(time.perf_counter() - self._started)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "python_gc_duration_seconds", "Time each garbage collector pass held the process, by generation (2: a full pass).",
            labels=["generation"],
        )  # fmt: skip
        for generation, histogram in enumerate(self.generations):
            family.add_metric([str(generation)], *histogram.samples())
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())

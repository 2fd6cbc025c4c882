"""The agent's ``/metrics`` (on its port 10250, behind the same tokens as its logs): the kubelet's names.

- ``kubelet_pod_start_duration_seconds``: from the agent first syncing a pod to the first
  sync that finds every one of its containers running (once per pod uid);
- ``kubelet_pod_worker_duration_seconds{operation="sync"}``: how long each pod sync takes;
- ``kubelet_runtime_operations_errors_total{operation_type}``: ContainerRuntimeErrors by
  the runtime call that raised them (``CountingRuntime`` wraps the runtime);
- ``kubelet_running_pods``: pods with a running container, read from the runtime when scraped.

Counts are plain numbers under one lock, turned into Prometheus families when scraped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.runtime import ContainerRuntime, ContainerRuntimeError, ContainerState
from kajitori.metrics import Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# the kubelet's buckets: pod_start_duration (0.5s .. 45min) and pod_worker_duration (prometheus' defaults)
START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700)
WORKER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class AgentMetrics(Collector):
    def __init__(self, running_pods: Callable[[], int] = lambda: 0) -> None:
        self._lock = threading.Lock()
        self.running_pods = running_pods
        self.pod_start = Histogram(START_BUCKETS)
        self.pod_worker = Histogram(WORKER_BUCKETS)
        self.runtime_errors: dict[str, int] = {}
        self._first_seen: dict[str, float] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)

    def synced(self, uid: str, seconds: float, *, started: bool, now: float | None = None) -> None:
        """One pod sync took ``seconds``; ``started``: all of the pod's containers now run."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.pod_worker.observe(seconds)
            first = self._first_seen.setdefault(uid, now - seconds)
            if started and first >= 0:
                self.pod_start.observe(now - first)
                self._first_seen[uid] = -1.0  # counted: never again for this uid

    def forget(self, uid: str) -> None:
        with self._lock:
            self._first_seen.pop(uid, None)

    def runtime_error(self, operation: str) -> None:
        with self._lock:
            self.runtime_errors[operation] = self.runtime_errors.get(operation, 0) + 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            start, start_sum = self.pod_start.samples()
            worker, worker_sum = self.pod_worker.samples()
            errors = sorted(self.runtime_errors.items())
        starts = HistogramMetricFamily("kubelet_pod_start_duration_seconds", "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run")
        starts.add_metric([], start, start_sum)
        workers = HistogramMetricFamily(
            "kubelet_pod_worker_duration_seconds", "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync", labels=["operation"]
        )
        workers.add_metric(["sync"], worker, worker_sum)
        failed = CounterMetricFamily("kubelet_runtime_operations_errors", "Cumulative number of runtime operation errors by operation type.", labels=["operation_type"])
        for operation, n in errors:
            failed.add_metric([operation], n)
        running = GaugeMetricFamily("kubelet_running_pods", "Number of pods that have a running pod sandbox")
        running.add_metric([], self.running_pods())
        yield from (starts, workers, failed, running)

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def text(self) -> bytes:
        return generate_latest(self.registry)


class CountingRuntime:
    """The runtime it wraps, with every ContainerRuntimeError counted by the method that raised it."""

    def __init__(self, runtime: ContainerRuntime, metrics: AgentMetrics) -> None:
        self.runtime = runtime
        self.metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.runtime, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except ContainerRuntimeError:
                self.metrics.runtime_error(name)
                raise

        return counted


def running_pods(runtime: ContainerRuntime) -> int:
    """Pods with at least one running container, as the runtime sees them now."""
    return len({c.pod.uid for c in runtime.list_containers() if c.state == ContainerState.RUNNING})

"""The node's and its containers' CPU and memory, sampled in the background, served as kubelet's ``/metrics/resource``.

Kubelet serves two resource endpoints: the older Summary API (``/stats/summary``, JSON)
and ``/metrics/resource`` (Prometheus text), which metrics-server reads since v0.6
because it carries only the few series it needs. Kajitori's master scrapes like
metrics-server, so the agent serves ``/metrics/resource`` with kubelet's names:

- ``container_cpu_usage_seconds_total{container,namespace,pod}`` (counter, core-seconds),
- ``container_memory_working_set_bytes{container,namespace,pod}`` (gauge),
- ``container_start_time_seconds{container,namespace,pod}`` (a restart resets the counter),
- ``pod_cpu_usage_seconds_total`` / ``pod_memory_working_set_bytes{namespace,pod}``,
- ``node_cpu_usage_seconds_total`` / ``node_memory_working_set_bytes``,
- ``resource_scrape_error`` (1 when the last sample could not be read),

each sample with the timestamp (ms) at which it was read, so the scraper's rate uses the
time between samples, not between scrapes. The figures are cumulative CPU and the working
set (usage minus inactive file pages, as cAdvisor) from Docker's one-shot container stats;
the node's come from the kernel (/proc/stat's busy time, MemTotal - MemAvailable), which on
a lab node (a container, kind-style) are the whole machine's, as kind's kubelet reports them.

``ResourceSampler`` reads every ``period_s`` on its own thread; a scrape only renders the
latest sample, so it costs no Docker call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

DEFAULT_PERIOD_S = 10.0  # cAdvisor's housekeeping interval is 10-15 s
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ContainerSample:
    namespace: str
    pod: str
    container: str
    cpu_seconds: float
    """Cumulative CPU time, core-seconds."""
    memory_working_set: int
    """Bytes."""
    started_at: float
    """Unix seconds; a new start means a new counter."""
    at: float
    """Unix seconds when it was read."""


@dataclass(frozen=True)
class NodeSample:
    cpu_seconds: float
    memory_working_set: int
    at: float


@dataclass
class Sample:
    node: NodeSample | None = None
    containers: list[ContainerSample] = field(default_factory=list)
    error: bool = False


def working_set(memory_stats: Mapping[str, Any]) -> int:
    """cAdvisor's working set: usage minus inactive file pages (cgroup v1 ``total_inactive_file``, v2 ``inactive_file``)."""
    usage = int(memory_stats.get("usage") or 0)
    stats = memory_stats.get("stats") or {}
    inactive = int(stats.get("total_inactive_file", stats.get("inactive_file", 0)) or 0)
    return max(0, usage - inactive)


def cpu_seconds(cpu_stats: Mapping[str, Any]) -> float:
    return int((cpu_stats.get("cpu_usage") or {}).get("total_usage") or 0) / 1e9


def read_node(proc: str = "/proc", now: Callable[[], float] = time.time) -> NodeSample:
    """The machine's busy CPU seconds (all but idle and iowait) and used memory, from the kernel."""
    with open(f"{proc}/stat") as f:
        fields = f.readline().split()[1:]
    ticks = [int(x) for x in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # user nice system idle iowait irq softirq steal
    meminfo: dict[str, int] = {}
    with open(f"{proc}/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            meminfo[name] = int(rest.split()[0]) * 1024
    used = meminfo.get("MemTotal", 0) - meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    return NodeSample(cpu_seconds=busy / CLOCK_TICKS, memory_working_set=max(0, used), at=now())


class ResourceSampler(Collector):
    """Keeps the latest sample of the node and its running containers; renders it as Prometheus text."""

    def __init__(
        self,
        read_containers: Callable[[], list[ContainerSample]],
        read_node: Callable[[], NodeSample] = read_node,
        *,
        period_s: float = DEFAULT_PERIOD_S,
    ) -> None:
        self._read_containers = read_containers
        self._read_node = read_node
        self.period_s = period_s
        self._latest = Sample()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def sample_once(self) -> Sample:
        sample = Sample()
        try:
            sample.node = self._read_node()
            sample.containers = self._read_containers()
        except Exception as exc:  # the runtime or /proc unreadable: say so in the series, keep serving
            log.warning("reading resource usage failed: %s", exc)
            sample.error = True
        with self._lock:
            self._latest = sample
        return sample

    def latest(self) -> Sample:
        with self._lock:
            return self._latest

    def start(self) -> None:
        threading.Thread(target=self._run, name="resource-sampler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self.period_s)

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        sample = self.latest()
        node_cpu = CounterMetricFamily(
            "node_cpu_usage_seconds_total",
            "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
        )
        node_mem = GaugeMetricFamily(
            "node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes"
        )
        if sample.node is not None:
            node_cpu.add_metric([], sample.node.cpu_seconds, timestamp=sample.node.at)
            node_mem.add_metric([], sample.node.memory_working_set, timestamp=sample.node.at)
        labels = ["container", "namespace", "pod"]
        c_cpu = CounterMetricFamily(
            "container_cpu_usage_seconds_total",
            "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
            labels=labels,
        )
        c_mem = GaugeMetricFamily(
            "container_memory_working_set_bytes",
            "[STABLE] Current working set of the container in bytes",
            labels=labels,
        )
        c_start = GaugeMetricFamily(
            "container_start_time_seconds",
            "[STABLE] Start time of the container since unix epoch in seconds",
            labels=labels,
        )
        p_cpu = CounterMetricFamily(
            "pod_cpu_usage_seconds_total",
            "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
            labels=["namespace", "pod"],
        )
        p_mem = GaugeMetricFamily(
            "pod_memory_working_set_bytes",
            "[STABLE] Current working set of the pod in bytes",
            labels=["namespace", "pod"],
        )
        pods: dict[tuple[str, str], tuple[float, int, float]] = {}
        for c in sample.containers:
            values = [c.container, c.namespace, c.pod]
            c_cpu.add_metric(values, c.cpu_seconds, timestamp=c.at)
            c_mem.add_metric(values, c.memory_working_set, timestamp=c.at)
            c_start.add_metric(values, c.started_at, timestamp=c.at)
            cpu, mem, at = pods.get((c.namespace, c.pod), (0.0, 0, 0.0))
            pods[(c.namespace, c.pod)] = (cpu + c.cpu_seconds, mem + c.memory_working_set, max(at, c.at))
        for (namespace, pod), (cpu, mem, at) in sorted(pods.items()):
            p_cpu.add_metric([namespace, pod], cpu, timestamp=at)
            p_mem.add_metric([namespace, pod], mem, timestamp=at)
        error = GaugeMetricFamily(
            "resource_scrape_error",
            "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
        )
        error.add_metric([], 1 if sample.error else 0)
        yield from (c_cpu, c_mem, c_start, node_cpu, node_mem, p_cpu, p_mem, error)

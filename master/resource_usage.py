"""The cluster's latest CPU and memory usage, from the agents' ``/metrics/resource``, as metrics-server keeps it.

``parse`` reads one agent's answer (kubelet's Prometheus text, agent.resource_stats) into
cumulative CPU and working-set samples with the time each was read. ``UsageStore.record``
keeps, per node and per container, the previous and the latest sample; the CPU usage is
the rate between them, ``(cpu2 - cpu1) / (t2 - t1)`` cores over a window of ``t2 - t1``
seconds (metrics-server's storage). A counter that went backwards or a container whose
start time changed (a restart) starts over: it has no rate until its next sample. Memory
is the latest working set. A pod is reported only when every container seen of it has a
rate, as metrics-server does, so a half-measured pod never looks idle.

``node_metrics``/``pod_metrics`` give metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics
(CPU in nanocores ``"12345n"``, memory in ``"Ki"``, as metrics-server writes them).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

GROUP_VERSION = "metrics.k8s.io/v1beta1"


@dataclass(frozen=True)
class CpuSample:
    cpu_seconds: float
    at: float
    started_at: float = 0.0


@dataclass(frozen=True)
class Usage:
    """One object's usage: CPU cores over [at - window, at], memory bytes at ``at``."""

    cpu_cores: float
    memory_bytes: int
    at: float
    window: float


@dataclass
class Scrape:
    """What one agent answered."""

    node_cpu: CpuSample | None
    node_memory: int
    containers: dict[tuple[str, str, str], tuple[CpuSample, int]]
    """(namespace, pod, container) -> (cpu sample, working set)."""


class ParseError(ValueError):
    pass


def parse(text: str, *, now: float) -> Scrape:
    """An agent's /metrics/resource; samples without a timestamp are taken as read ``now``."""
    node_cpu: CpuSample | None = None
    node_memory = 0
    cpu: dict[tuple[str, str, str], tuple[float, float]] = {}
    memory: dict[tuple[str, str, str], int] = {}
    starts: dict[tuple[str, str, str], float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                at = float(s.timestamp) if s.timestamp is not None else now
                key = (s.labels.get("namespace", ""), s.labels.get("pod", ""), s.labels.get("container", ""))
                if s.name == "node_cpu_usage_seconds_total":
                    node_cpu = CpuSample(s.value, at)
                elif s.name == "node_memory_working_set_bytes":
                    node_memory = int(s.value)
                elif s.name == "container_cpu_usage_seconds_total":
                    cpu[key] = (s.value, at)
                elif s.name == "container_memory_working_set_bytes":
                    memory[key] = int(s.value)
                elif s.name == "container_start_time_seconds":
                    starts[key] = s.value
    except (ValueError, TypeError, IndexError) as exc:
        raise ParseError(f"unreadable resource metrics: {exc}") from None
    containers = {
        key: (CpuSample(value, at, starts.get(key, 0.0)), memory.get(key, 0)) for key, (value, at) in cpu.items()
    }
    return Scrape(node_cpu, node_memory, containers)


def rate(previous: CpuSample | None, latest: CpuSample) -> tuple[float, float] | None:
    """(cores, window seconds) between two samples of one counter, or None when there is no valid pair."""
    if previous is None or previous.started_at != latest.started_at:
        return None
    window = latest.at - previous.at
    if window <= 0 or latest.cpu_seconds < previous.cpu_seconds:
        return None
    return (latest.cpu_seconds - previous.cpu_seconds) / window, window


class UsageStore:
    """The previous and latest sample of every node and container; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[str, tuple[CpuSample | None, CpuSample, int]] = {}
        # node -> {(ns, pod, container): (previous cpu, latest cpu, memory)}
        self._containers: dict[str, dict[tuple[str, str, str], tuple[CpuSample | None, CpuSample, int]]] = {}

    def record(self, node: str, scrape: Scrape) -> None:
        with self._lock:
            if scrape.node_cpu is not None:
                known = self._nodes.get(node)
                previous = known[1] if known else None
                if previous is not None and previous.at == scrape.node_cpu.at:
                    previous = known[0] if known else None  # the same sample read twice: keep the older pair
                self._nodes[node] = (previous, scrape.node_cpu, scrape.node_memory)
            before = self._containers.get(node, {})
            after = {}
            for key, (sample, memory) in scrape.containers.items():
                known_c = before.get(key)
                previous = known_c[1] if known_c else None
                if previous is not None and previous.at == sample.at:
                    previous = known_c[0] if known_c else None
                after[key] = (previous, sample, memory)
            self._containers[node] = after  # containers gone from the node are forgotten

    def forget(self, keep: set[str]) -> None:
        """Drop the nodes not in ``keep`` (deleted, or not Ready any more)."""
        with self._lock:
            for node in set(self._nodes) - keep:
                del self._nodes[node]
            for node in set(self._containers) - keep:
                del self._containers[node]

    def nodes(self) -> dict[str, Usage]:
        out = {}
        with self._lock:
            for node, (previous, latest, memory) in self._nodes.items():
                got = rate(previous, latest)
                if got is not None:
                    out[node] = Usage(got[0], memory, latest.at, got[1])
        return out

    def pods(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """(namespace, pod) -> {container: usage}, for pods whose every container has a rate."""
        out: dict[tuple[str, str], dict[str, Usage]] = {}
        incomplete: set[tuple[str, str]] = set()
        with self._lock:
            for containers in self._containers.values():
                for (namespace, pod, container), (previous, latest, memory) in containers.items():
                    got = rate(previous, latest)
                    if got is None:
                        incomplete.add((namespace, pod))
                        continue
                    out.setdefault((namespace, pod), {})[container] = Usage(got[0], memory, latest.at, got[1])
        return {key: value for key, value in out.items() if key not in incomplete}


def cpu_quantity(cores: float) -> str:
    return f"{max(0, math.floor(cores * 1e9))}n"


def memory_quantity(memory: int) -> str:
    return f"{max(0, memory) // 1024}Ki"


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(seconds: float) -> str:
    return f"{round(seconds, 3):g}s"


def node_metrics(name: str, usage: Usage, labels: dict[str, str] | None, now: float) -> dict[str, Any]:
    return {
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": {"name": name, "creationTimestamp": _time(now), "labels": labels or {}},
        "timestamp": _time(usage.at),
        "window": _window(usage.window),
        "usage": {"cpu": cpu_quantity(usage.cpu_cores), "memory": memory_quantity(usage.memory_bytes)},
    }


def pod_metrics(namespace: str, name: str, containers: dict[str, Usage], labels: dict[str, str] | None, now: float) -> dict[str, Any]:
    latest = max(containers.values(), key=lambda u: u.at)
    return {
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": _time(now), "labels": labels or {}},
        "timestamp": _time(latest.at),
        "window": _window(latest.window),
        "containers": [
            {"name": c, "usage": {"cpu": cpu_quantity(u.cpu_cores), "memory": memory_quantity(u.memory_bytes)}}
            for c, u in sorted(containers.items())
        ],
    }

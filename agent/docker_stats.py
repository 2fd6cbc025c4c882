"""Each running pod container's CPU and memory from Docker's one-shot stats (what cAdvisor reads from the cgroups).

One ``GET /containers/{id}/stats?stream=false&one-shot=true`` per running container of
this node (sandboxes excluded, as kubelet leaves the pause container out of pod usage):
cumulative CPU nanoseconds and the working set (agent.resource_stats.working_set). A
container gone between the list and its stats is skipped, not an error.

Docker's stats collector answers zeros (``read`` of year 1) when dockerd cannot find its
cgroup mounts (a dockerd in a container with a partial cgroup namespace, as on the
development machines); the same figures are then read from the container's cgroup
files, as cAdvisor reads them (cgroupfs driver: ``<controller>/docker/<id>``, v1 or v2).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker.errors

from agent.docker_errors import docker_errors
from agent.resource_stats import ContainerSample, cpu_seconds, working_set
from agent.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    SANDBOX_CONTAINER_NAME,
    ContainerNotFound,
    pod_from_labels,
)


class DockerStats:
    def __init__(
        self,
        api: Any,
        node_label: tuple[str, str] | None = None,
        *,
        cgroup_root: Path = Path("/sys/fs/cgroup"),
    ) -> None:
        self._api = api
        self._cgroup_root = cgroup_root
        self._node_label = node_label

    def read(self) -> list[ContainerSample]:
        wanted = [f"{LABEL_MANAGED}=true"]
        if self._node_label is not None:
            wanted.append(f"{self._node_label[0]}={self._node_label[1]}")
        with docker_errors("listing running containers for their stats"):
            summaries = self._api.containers(filters={"label": wanted, "status": "running"})
        samples = []
        for summary in summaries:
            labels = summary.get("Labels") or {}
            name = labels.get(LABEL_CONTAINER_NAME, "")
            if not name or name == SANDBOX_CONTAINER_NAME:
                continue
            try:
                with docker_errors(f"reading the stats of container {summary['Id']}"):
                    stats = self._api.stats(summary["Id"], stream=False, one_shot=True)
            except (ContainerNotFound, docker.errors.NotFound):
                continue
            cpu = cpu_seconds(stats.get("cpu_stats") or {})
            memory = working_set(stats.get("memory_stats") or {})
            if str(stats.get("read", "")).startswith("0001-"):
                cpu, memory = read_cgroup(self._cgroup_root, summary["Id"])
            pod = pod_from_labels(labels)
            samples.append(
                ContainerSample(
                    namespace=pod.namespace,
                    pod=pod.name,
                    container=name,
                    cpu_seconds=cpu,
                    memory_working_set=memory,
                    started_at=float(summary.get("Created") or 0),
                    at=time.time(),
                )
            )
        return samples


def _stat_file(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def read_cgroup(root: Path, container_id: str) -> tuple[float, int]:
    """(CPU core-seconds, working-set bytes) of a container from its cgroup files; (0, 0) if none is readable."""
    try:
        v2 = root / "docker" / container_id
        if (v2 / "cpu.stat").exists():
            usage = int((v2 / "memory.current").read_text())
            inactive = _stat_file(v2 / "memory.stat").get("inactive_file", 0)
            return _stat_file(v2 / "cpu.stat").get("usage_usec", 0) / 1e6, max(0, usage - inactive)
        cpu = int((root / "cpuacct" / "docker" / container_id / "cpuacct.usage").read_text()) / 1e9
        memory_dir = root / "memory" / "docker" / container_id
        usage = int((memory_dir / "memory.usage_in_bytes").read_text())
        inactive = _stat_file(memory_dir / "memory.stat").get("total_inactive_file", 0)
        return cpu, max(0, usage - inactive)
    except (OSError, ValueError):
        return 0.0, 0

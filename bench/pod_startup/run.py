"""bench/pod_startup: how fast a node agent turns bound pods into running containers.

A real master (API server only) and a real `kajitori agent` process on this machine's
dockerd; 30 single-container pods (busybox, image present) are created with spec.nodeName
set, once all at once (a burst: dockerd's own container start rate bounds it) and once paced
(one every 0.5 s: each pod's own start latency). Before them, dockerd alone starts the same
pods (pause + joined busybox, no agent: bench/pod_startup/dockerd_floor.py) all at once and
one after another, the floor the agent's figures compare with; every figure is printed with
the machine's load average. Start latency of a pod = from its create being
acknowledged to a watch event showing phase Running. Prints p50/p99 and the agent's RSS
with the 30 pods running, then the same on the fake runtime (a hollow node) for
comparison, and writes bench/results/pod_startup.json. Bounded: everything it made is
removed by its node label at the end.

    .venv/bin/python bench/pod_startup/run.py [--pods 30] [--runtime docker|fake|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from bench.common import summary_ms, write_result
from bench.pod_startup import dockerd_floor
from kajitori.api.core import Pod
from kajitori.client import ApiClient, ApiError
from tests.integration.agent.agent_process import (
    SLEEP_FOREVER,
    AgentProcess,
    make_pod,
    remove_node_objects,
    remove_test_network,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    """The 1/5/15-minute load averages: what else the machine was doing during a figure."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_dockerd_floor(pods: int, interval_s: float, *, only: str | None) -> dict[str, Any]:
    """dockerd alone (no agent, no API) starting the same pods: the burst and one pod at a time."""
    docker_api = docker.APIClient(version="1.41", max_pool_size=pods + 2)
    floor: dict[str, Any] = {}
    try:
        dockerd_floor.ensure_network(docker_api)
        for parallel in (True, False):
            if only and parallel != (only == "burst"):
                continue
            figures = dockerd_floor.run(docker_api, pods, parallel=parallel)
            figures["load"] = load_average()
            floor["burst" if parallel else "serial"] = figures
            started = figures["pod_started"]
            how = "all at once" if parallel else "one after another"
            print(
                f"dockerd alone, {pods} pods {how}: sandbox+container started p50 {started['p50_ms']:.0f} ms, "
                f"p99 {started['p99_ms']:.0f} ms, max {started['max_ms']:.0f} ms; load {figures['load']}"
            )
    finally:
        docker_api.close()
    return floor


class RunningWatch:
    """Records when each pod is first seen Running through a watch of the node's pods."""

    def __init__(self, api: ApiClient, node: str) -> None:
        self.seen: dict[str, float] = {}
        self._api = api
        self._node = node
        self._stop = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._stop = True

    def _run(self) -> None:
        version = self._api.list(Pod, "default", field_selector=f"spec.nodeName={self._node}").resource_version
        self._ready.set()
        while not self._stop:
            try:
                for event in self._api.watch(
                    Pod, "default", resource_version=version, field_selector=f"spec.nodeName={self._node}", timeout_seconds=60
                ):
                    version = event.resource_version or version
                    pod = event.object
                    if pod is not None and pod.status.phase == "Running" and pod.metadata.name not in self.seen:
                        self.seen[pod.metadata.name or ""] = time.perf_counter()
                    if self._stop:
                        return
            except ApiError:
                if self._stop:
                    return
                time.sleep(0.1)


def run(master: MasterProcess, runtime: str, pods: int, work: Path, *, interval_s: float = 0.0) -> dict[str, Any]:
    """Create `pods` pods, `interval_s` apart (0: as fast as the API takes them); figures of that run."""
    node = f"bench-{runtime}-node"
    docker_api = docker.APIClient(version="1.41")
    remove_node_objects(docker_api, node)
    agent = AgentProcess(master, node, work / runtime, runtime=runtime).start()
    api = master.client()
    watch = RunningWatch(api, node)
    try:
        watch.start()
        created: dict[str, float] = {}
        for i in range(pods):
            name = f"{runtime}-start-{i}"
            api.create(make_pod(name, node, [shell("main", SLEEP_FOREVER)], terminationGracePeriodSeconds=1))
            created[name] = time.perf_counter()
            if interval_s:
                time.sleep(interval_s)
        wait_for(f"{pods} pods Running", lambda: len(watch.seen) >= pods, timeout=300)
        latencies = [watch.seen[name] - at for name, at in created.items()]
        time.sleep(3)  # let probes, relists and status writes settle before reading memory
        assert agent.proc is not None
        figures = {
            "start_latency": summary_ms(latencies),
            "agent_rss_mib": round(rss_mib(agent.proc.pid), 1),
            "load": load_average(),
        }
        for name in created:
            api.delete(Pod, name, "default")
        wait_for("pods deleted", lambda: not api.list(Pod, "default", field_selector=f"spec.nodeName={node}").items, timeout=120)
        return figures
    finally:
        watch.stop()
        agent.stop()
        api.close()
        remove_node_objects(docker_api, node)
        docker_api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runtime", choices=["docker", "fake", "both"], default="both")
    parser.add_argument("--paced-interval", type=float, default=0.5, help="Seconds between creates in the paced run.")
    parser.add_argument("--only", choices=["burst", "paced"], help="Run only the burst or only the paced runs.")
    parser.add_argument(
        "--no-floor", action="store_true",
        help="Skip dockerd alone starting the same pods (the floor the agent's figures compare with).",
    )  # fmt: skip
    args = parser.parse_args()
    runs = [("docker", 0.0), ("docker", args.paced_interval), ("fake", 0.0)]
    if args.runtime != "both":
        runs = [run_ for run_ in runs if run_[0] == args.runtime]
    if args.only:
        runs = [run_ for run_ in runs if bool(run_[1]) == (args.only == "paced")]
    results: dict[str, Any] = {"pods": args.pods}
    if args.runtime != "fake" and not args.no_floor:
        results["dockerd_floor"] = print_dockerd_floor(args.pods, args.paced_interval, only=args.only)
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-") as tmp:
        master = MasterProcess(Path(tmp) / "master", extra_args=["--no-controllers"]).start()
        try:
            for runtime, interval in runs:
                label = f"{runtime}_burst" if not interval else f"{runtime}_paced_{interval:g}s"
                figures = run(master, runtime, args.pods, Path(tmp) / label, interval_s=interval)
                results[label] = figures
                latency = figures["start_latency"]
                how = "all at once" if not interval else f"one every {interval:g} s"
                print(
                    f"agent on {runtime}, {args.pods} pods created {how}: create -> Running seen by a watch "
                    f"p50 {latency['p50_ms']:.0f} ms, p99 {latency['p99_ms']:.0f} ms, max {latency['max_ms']:.0f} ms; "
                    f"agent RSS with {args.pods} pods {figures['agent_rss_mib']:.1f} MiB; load {figures['load']}"
                )
        finally:
            master.stop()
            remove_test_network(docker.APIClient(version="1.41"))
    write_result("pod_startup", results)


if __name__ == "__main__":
    main()

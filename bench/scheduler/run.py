"""Benchmark of the scheduler with hollow nodes: pods scheduled per second, and a 1,000-replica Deployment.

Two phases, each against its own real `kajitori master` on a loopback port (made here,
stopped at the end, its data in a temporary directory):

1. throughput: only the scheduler runs (as kube-scheduler's scheduler_perf measures
   it). 1,000 hollow nodes register (4 CPU, 32 GiB, 110 pods), then 5,000 pods
   (100m CPU, 128 MiB each) are created from 8 threads; a raw watch records when each
   pod is bound. Figures: bound pods per second over the whole phase (first create to
   last binding), and over the steady middle (10 % to 90 % bound), and the creation
   rate, which bounds the first figure.
2. deployment: every controller runs (node lifecycle with a long grace period, as
   1,000 hollow nodes renew their Leases every 20 s instead of 2 s); a Deployment
   of 1,000 replicas is created and the time until all its pods are bound is measured.

Hollow nodes do not report pods Running here (the benchmark is about placement).
Each phase stops by itself (``--timeout``). Prints the figures and writes
bench/results/scheduler.json. Aim: above 270 pods/s (kube-scheduler's own bar).

    .venv/bin/python bench/scheduler/run.py [--nodes 1000] [--pods 5000] [--replicas 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results" / "scheduler.json"
sys.path.insert(0, str(REPO))

from kajitori.api.registry import by_name  # noqa: E402
from kajitori.client import ApiClient  # noqa: E402
from master.hollow_nodes import HollowCluster  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

PODS = by_name("pods")
DEPLOYMENTS = by_name("deployments")
ONLY_SCHEDULER = ["--disable", "replicaset", "--disable", "deployment", "--disable", "endpoints",
                  "--disable", "node-lifecycle", "--disable", "garbage-collector", "--disable", "namespace"]  # fmt: skip


class BindingWatch:
    """Records, from one raw watch of pods, when each pod of a namespace was first seen bound."""

    def __init__(self, client: ApiClient, namespace: str, label_selector: str | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.label_selector = label_selector
        self.bound_at: dict[str, float] = {}
        self._stop = threading.Event()
        listed = client.list_raw(PODS, namespace, label_selector=label_selector)
        self._rv = listed["metadata"].get("resourceVersion", "")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for event in self.client.watch_raw(PODS, self.namespace, resource_version=self._rv,
                                                   label_selector=self.label_selector, timeout_seconds=60):  # fmt: skip
                    obj = event.get("object") or {}
                    self._rv = (obj.get("metadata") or {}).get("resourceVersion") or self._rv
                    if event.get("type") in ("ADDED", "MODIFIED") and (obj.get("spec") or {}).get("nodeName"):
                        self.bound_at.setdefault(obj["metadata"]["name"], time.monotonic())
                    if self._stop.is_set():
                        return
            except Exception as exc:  # a broken watch resumes; the benchmark must not die of it
                if self._stop.is_set():
                    return
                print(f"  (watch resumed after: {exc})", file=sys.stderr)
                time.sleep(0.2)

    def wait(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.bound_at) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.bound_at) >= count

    def stop(self) -> None:
        self._stop.set()


def register_nodes(client: ApiClient, count: int, lease_interval_s: float) -> tuple[HollowCluster, float]:
    names = [f"hollow-{i:04d}" for i in range(count)]
    cluster = HollowCluster(client, names, cpu="4", memory="32Gi", max_pods=110, run_pods=False,
                            lease_interval_s=lease_interval_s, status_interval_s=max(60.0, lease_interval_s), writers=16,
                            own_pod_cidrs=True)  # fmt: skip
    started = time.monotonic()
    cluster.register()
    took = time.monotonic() - started
    cluster.start()
    return cluster, took


def pod_body(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"bench-{i:05d}", "namespace": "default", "labels": {"bench": "throughput"}},
        "spec": {"containers": [{"name": "app", "image": "kajitori/pause:3.9",
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
    }  # fmt: skip


def rate_between(times: list[float], low: float, high: float) -> float:
    ordered = sorted(times)
    a, b = ordered[int(low * (len(ordered) - 1))], ordered[int(high * (len(ordered) - 1))]
    count = int(high * (len(ordered) - 1)) - int(low * (len(ordered) - 1))
    return count / (b - a) if b > a else float("nan")


def scheduler_work_rate(log_path: Path | None) -> dict[str, float]:
    """Sum the scheduler's own "stats" lines: time spent in scheduling cycles, without the API's share."""
    import re

    cycles, seconds = 0, 0.0
    if log_path is None or not log_path.exists():
        return {}
    for line in log_path.read_text(errors="replace").splitlines():
        m = re.search(r"scheduler stats: (\d+) cycles in ([0-9.]+)s", line)
        if m:
            cycles += int(m.group(1))
            seconds += float(m.group(2))
    if not cycles or not seconds:
        return {}
    return {"cycles": cycles, "cycle_ms_mean": round(1000 * seconds / cycles, 3), "cycles_per_s_of_cpu": round(cycles / seconds, 1)}


def phase_throughput(workdir: Path, nodes: int, pods: int, timeout: float, lease_interval_s: float) -> dict[str, Any]:
    master = MasterProcess(workdir / "throughput", extra_args=ONLY_SCHEDULER).start()
    client = master.client(timeout=60.0)
    try:
        cluster, register_s = register_nodes(client, nodes, lease_interval_s=lease_interval_s)
        print(f"  {nodes} hollow nodes registered in {register_s:.1f}s")
        watch = BindingWatch(client, "default", "bench=throughput")
        created_at: list[float] = []
        started = time.monotonic()

        def create(i: int) -> None:
            client.create_raw(PODS, pod_body(i), "default")
            created_at.append(time.monotonic())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, range(pods)))
        created_s = time.monotonic() - started
        complete = watch.wait(pods, timeout)
        watch.stop()
        cluster.stop()
        time.sleep(5.5)  # let the scheduler write its last stats line
        bound = sorted(watch.bound_at.values())
        total_s = (bound[-1] - started) if bound else float("nan")
        return {
            "nodes": nodes,
            "pods": pods,
            "hollow_lease_interval_s": lease_interval_s,
            "all_bound": complete,
            "bound": len(bound),
            "node_registration_s": round(register_s, 2),
            "pod_creation_s": round(created_s, 2),
            "pod_creation_per_s": round(pods / created_s, 1),
            "first_create_to_last_bound_s": round(total_s, 2),
            "pods_scheduled_per_s": round(len(bound) / total_s, 1) if bound else 0.0,
            "pods_scheduled_per_s_steady_10_90": round(rate_between(bound, 0.1, 0.9), 1) if len(bound) > 10 else 0.0,
            "scheduler_cycle": scheduler_work_rate(master.log_path),
        }
    finally:
        client.close()
        master.stop()


def phase_deployment(workdir: Path, nodes: int, replicas: int, timeout: float) -> dict[str, Any]:
    master = MasterProcess(workdir / "deployment", extra_args=["--node-monitor-grace-period", "120"]).start()
    client = master.client(timeout=60.0)
    try:
        cluster, register_s = register_nodes(client, nodes, lease_interval_s=20.0)
        print(f"  {nodes} hollow nodes registered in {register_s:.1f}s")
        watch = BindingWatch(client, "default", "app=bench-deploy")
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "bench-deploy", "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "bench-deploy"}},
                "template": {"metadata": {"labels": {"app": "bench-deploy"}},
                             "spec": {"containers": [{"name": "app", "image": "kajitori/pause:3.9",
                                                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}},
            },
        }  # fmt: skip
        started = time.monotonic()
        client.create_raw(DEPLOYMENTS, body, "default")
        complete = watch.wait(replicas, timeout)
        watch.stop()
        cluster.stop()
        bound = sorted(watch.bound_at.values())
        return {
            "nodes": nodes,
            "replicas": replicas,
            "all_bound": complete,
            "bound": len(bound),
            "create_to_all_bound_s": round(bound[-1] - started, 2) if bound else None,
            "create_to_first_bound_s": round(bound[0] - started, 2) if bound else None,
            "pods_bound_per_s": round(len(bound) / (bound[-1] - started), 1) if bound else 0.0,
        }
    finally:
        client.close()
        master.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=180.0, help="Seconds each phase may wait for its bindings.")
    parser.add_argument("--skip-deployment", action="store_true")
    parser.add_argument("--lease-interval", type=float, default=10.0,
                        help="Seconds between a hollow node's Lease renewals in phase 1 (a kubelet: 10).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-scheduler-") as tmp:
        workdir = Path(tmp)
        print(f"phase 1: {args.pods} pods on {args.nodes} hollow nodes (scheduler only)")
        throughput = phase_throughput(workdir, args.nodes, args.pods, args.timeout, args.lease_interval)
        for key, value in throughput.items():
            print(f"  {key}: {value}")
        deployment = None
        if not args.skip_deployment:
            print(f"phase 2: a Deployment of {args.replicas} replicas on {args.nodes} hollow nodes (all controllers)")
            deployment = phase_deployment(workdir, args.nodes, args.replicas, args.timeout)
            for key, value in deployment.items():
                print(f"  {key}: {value}")
    result = {
        "benchmark": "scheduler",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "target_pods_per_s": 270,
        "throughput": throughput,
        "deployment": deployment,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

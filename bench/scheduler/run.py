"""Benchmark of the scheduler with hollow nodes: pods scheduled per second, and a 1,000-replica Deployment.

Measured as kube-scheduler's scheduler_perf measures it: the scheduler alone, on a
cluster that is already there. Each run gets its own real `kajitori master` on a
loopback port (data in a temporary directory, stopped at the end).

1. throughput (``--runs`` times for each place the scheduler can run):
   - an API-only master starts; a separate process (``python -m master.hollow_nodes``,
     kubemark's hollow kubelets) registers 1,000 nodes (4 CPU, 32 GiB, 110 pods) and
     then renews each node's Lease every 10 s at its own phase (a kubelet's rate),
     posting node status every 60 s;
   - 5,000 pods (100m CPU, 128 MiB) are created with the scheduler off, from 64
     concurrent requests (asyncio), and the time each create returned is kept;
   - the scheduler starts: ``process`` runs ``python -m master.scheduler`` in its own
     process (as kube-scheduler runs, with its own interpreter); ``master`` restarts
     the master on the same store with only the scheduler on (the API server and the
     scheduler then share one interpreter, as `kajitori master` runs them);
   - a raw watch in this process records the wall time each pod is first seen bound.
   Figures: pods/s from the scheduler's start to the last binding, and between the
   first and last binding, and over the steady 10 %-90 % middle; created -> bound
   latency per pod (p50/p99; with a backlog it is mostly queueing: the latest pods
   wait for the 4,999 before them); the CPU seconds each process used while the
   scheduler worked, the machine's busy share and load average.
2. deployment (``--runs`` times): every controller on (node lifecycle with
   Kubernetes' 40 s grace), the hollow process renewing Leases every 10 s; a
   Deployment of 1,000 replicas is created and the time until all its pods are bound
   is measured.

Hollow nodes do not report pods Running (the benchmark is about placement). Prints
the figures and writes bench/results/scheduler.json. Aim: above 270 pods/s
(kube-scheduler's own bar), on this 2-core machine.

    .venv/bin/python bench/scheduler/run.py [--nodes 1000] [--pods 5000] [--replicas 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results" / "scheduler.json"
sys.path.insert(0, str(REPO))

from kajitori.api.registry import by_name  # noqa: E402
from kajitori.client import ApiClient  # noqa: E402
from kajitori.version import PAUSE_IMAGE  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

PODS = by_name("pods")
DEPLOYMENTS = by_name("deployments")
ONLY_SCHEDULER = ["--disable", "replicaset", "--disable", "deployment", "--disable", "endpoints",
                  "--disable", "node-lifecycle", "--disable", "garbage-collector", "--disable", "namespace"]  # fmt: skip
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- measuring ----------------------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


class LoadSample:
    """CPU used by each named process, and by the whole machine, between ``start`` and ``stop``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self._cpu0 = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        self._busy0 = machine_busy()
        self._t0 = time.monotonic()

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self._cpu0[name] = process_cpu_s(pid)

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self._t0
        busy1, total1 = machine_busy()
        cpus = os.cpu_count() or 1
        per_process = {name: round(process_cpu_s(pid) - self._cpu0[name], 2) for name, pid in self.pids.items()}
        return {
            "wall_s": round(wall, 2),
            "cpu_s": per_process,
            "cores_used": {name: round(s / wall, 2) for name, s in per_process.items()} if wall > 0 else {},
            "machine_busy_share": round((busy1 - self._busy0[0]) / max(1.0, total1 - self._busy0[1]), 3),
            "machine_cores": cpus,
            "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        }


class BindingWatch:
    """Records, from one raw watch of pods, the wall time each pod of a namespace was first seen bound."""

    def __init__(self, client: ApiClient, namespace: str, label_selector: str | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.label_selector = label_selector
        self.bound_at: dict[str, float] = {}
        self.added_at: dict[str, float] = {}  # when the watch first saw each pod
        self._stop = threading.Event()
        listed = client.list_raw(PODS, namespace, label_selector=label_selector)
        now = time.time()
        for item in listed.get("items") or []:
            if (item.get("spec") or {}).get("nodeName"):
                self.bound_at.setdefault(item["metadata"]["name"], now)
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
                    if event.get("type") == "ADDED":
                        self.added_at.setdefault(obj["metadata"]["name"], time.time())
                    if event.get("type") in ("ADDED", "MODIFIED") and (obj.get("spec") or {}).get("nodeName"):
                        self.bound_at.setdefault(obj["metadata"]["name"], time.time())
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
            time.sleep(0.02)
        return len(self.bound_at) >= count

    def stop(self) -> None:
        self._stop.set()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rate_between(times: list[float], low: float, high: float) -> float:
    ordered = sorted(times)
    i, j = int(low * (len(ordered) - 1)), int(high * (len(ordered) - 1))
    return (j - i) / (ordered[j] - ordered[i]) if ordered[j] > ordered[i] else float("nan")


def scheduler_work(log_path: Path | None) -> dict[str, float]:
    """Sum the scheduler's own "stats" lines: time inside scheduling cycles, without the API's share."""
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


# -- the parts ----------------------------------------------------------------------------


class HollowProcess:
    """``python -m master.hollow_nodes`` in its own process, so its writes do not take the scheduler's CPU."""

    def __init__(self, kubeconfig: Path, workdir: Path, nodes: int, lease_interval_s: float) -> None:
        self.ready_file = workdir / "hollow.ready"
        self.log_path = workdir / "hollow.log"
        self.ready_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "master.hollow_nodes", "--kubeconfig", str(kubeconfig), "--nodes", str(nodes),
               "--lease-interval", str(lease_interval_s), "--status-interval", "60", "--ready-file", str(self.ready_file)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def wait_registered(self, timeout: float = 300.0) -> float:
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hollow nodes did not register:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        return float(self.ready_file.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class SchedulerProcess:
    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.log_path = workdir / "scheduler.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "master.scheduler", "--kubeconfig", str(kubeconfig)],
                                         cwd=REPO, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def pod_body(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"bench-{i:05d}", "namespace": "default", "labels": {"bench": "throughput"}},
        "spec": {"containers": [{"name": "app", "image": PAUSE_IMAGE,
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
    }  # fmt: skip


def create_pod_range(server: str, token: str | None, first: int, last: int, concurrency: int) -> dict[str, float]:
    """Create pods ``first`` .. ``last - 1`` from ``concurrency`` requests in flight; name -> wall time its create returned."""
    created: dict[str, float] = {}
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    async def run() -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=server, headers=headers, limits=limits, timeout=60.0) as http:
            todo = iter(range(first, last))

            async def worker() -> None:
                for i in todo:
                    body = pod_body(i)
                    for attempt in range(5):
                        try:
                            response = await http.post("/api/v1/namespaces/default/pods", content=orjson.dumps(body))
                            break
                        except httpx.TransportError:  # a keep-alive connection the server just closed
                            if attempt == 4:
                                raise
                    if response.status_code >= 300 and not (response.status_code == 409 and attempt):
                        raise RuntimeError(f"create {body['metadata']['name']}: {response.status_code} {response.text[:200]}")
                    created[body["metadata"]["name"]] = time.time()

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(run())
    return created


def create_pods(client: ApiClient, count: int, processes: int = 2, concurrency: int = 32) -> dict[str, float]:
    """Create the pods from ``processes`` client processes (one Python client cannot keep the API server busy)."""
    bounds = [count * k // processes for k in range(processes + 1)]
    created: dict[str, float] = {}
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(create_pod_range, client.config.server, client.config.token, bounds[k], bounds[k + 1], concurrency)
                   for k in range(processes)]  # fmt: skip
        for future in futures:
            created.update(future.result())
    return created


# -- phases ---------------------------------------------------------------------------------


def phase_throughput(workdir: Path, mode: str, nodes: int, pods: int, timeout: float, lease_interval_s: float) -> dict[str, Any]:
    master = MasterProcess(workdir, extra_args=["--no-controllers"]).start()
    client = master.client(timeout=60.0)
    hollow = HollowProcess(master.kubeconfig, workdir, nodes, lease_interval_s)
    scheduler: SchedulerProcess | None = None
    try:
        register_s = hollow.wait_registered()
        started = time.monotonic()
        created = create_pods(client, pods)
        create_s = time.monotonic() - started
        print(f"  [{mode}] {nodes} nodes registered in {register_s:.1f}s; {pods} pods created in {create_s:.1f}s")
        if mode == "process":
            watch = BindingWatch(client, "default", "bench=throughput")
            load = LoadSample({"apiserver": master.proc.pid, "hollow_nodes": hollow.proc.pid})  # type: ignore[union-attr]
            t0 = time.time()
            scheduler = SchedulerProcess(master.kubeconfig, workdir)
            load.add("scheduler", scheduler.proc.pid)
            log_path: Path | None = scheduler.log_path
        else:
            client.close()
            master.stop()
            t0 = time.time()
            master = MasterProcess(workdir, port=master.port, extra_args=ONLY_SCHEDULER).start()
            client = master.client(timeout=60.0)
            watch = BindingWatch(client, "default", "bench=throughput")
            load = LoadSample({"master_with_scheduler": master.proc.pid, "hollow_nodes": hollow.proc.pid})  # type: ignore[union-attr]
            log_path = master.log_path
        complete = watch.wait(pods, timeout)
        usage = load.stop()
        watch.stop()
        if scheduler is not None:
            scheduler.stop()  # writes its last stats line
        else:
            master.stop()
        bound = sorted(watch.bound_at.values())
        latencies = [watch.bound_at[n] - created[n] for n in watch.bound_at if n in created]
        return {
            "scheduler_in": mode,
            "nodes": nodes,
            "pods": pods,
            "hollow_lease_interval_s": lease_interval_s,
            "node_registration_s": round(register_s, 2),
            "pod_creation_per_s": round(pods / create_s, 1),
            "all_bound": complete,
            "bound": len(bound),
            "start_to_first_bound_s": round(bound[0] - t0, 2) if bound else None,
            "start_to_all_bound_s": round(bound[-1] - t0, 2) if bound else None,
            "pods_per_s_from_start": round(len(bound) / (bound[-1] - t0), 1) if bound else 0.0,
            "pods_per_s_first_to_last_bound": round((len(bound) - 1) / (bound[-1] - bound[0]), 1) if len(bound) > 1 else 0.0,
            "pods_per_s_steady_10_90": round(rate_between(bound, 0.1, 0.9), 1) if len(bound) > 10 else 0.0,
            "created_to_bound_p50_s": round(percentile(latencies, 0.5), 2) if latencies else None,
            "created_to_bound_p99_s": round(percentile(latencies, 0.99), 2) if latencies else None,
            "scheduler_cycle": scheduler_work(log_path),
            "load_while_scheduling": usage,
        }
    finally:
        if scheduler is not None:
            scheduler.stop()
        hollow.stop()
        client.close()
        master.stop()


def phase_deployment(workdir: Path, nodes: int, replicas: int, timeout: float, lease_interval_s: float) -> dict[str, Any]:
    master = MasterProcess(workdir, extra_args=["--node-monitor-grace-period", "40"]).start()
    client = master.client(timeout=60.0)
    hollow = HollowProcess(master.kubeconfig, workdir, nodes, lease_interval_s)
    try:
        hollow.wait_registered()
        time.sleep(1.0)  # let the informers take in the nodes
        watch = BindingWatch(client, "default", "app=bench-deploy")
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "bench-deploy", "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "bench-deploy"}},
                "template": {"metadata": {"labels": {"app": "bench-deploy"}},
                             "spec": {"containers": [{"name": "app", "image": PAUSE_IMAGE,
                                                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}},
            },
        }  # fmt: skip
        load = LoadSample({"master": master.proc.pid, "hollow_nodes": hollow.proc.pid})  # type: ignore[union-attr]
        t0 = time.time()
        client.create_raw(DEPLOYMENTS, body, "default")
        complete = watch.wait(replicas, timeout)
        usage = load.stop()
        watch.stop()
        bound = sorted(watch.bound_at.values())
        return {
            "nodes": nodes,
            "replicas": replicas,
            "all_bound": complete,
            "bound": len(bound),
            "create_to_first_bound_s": round(bound[0] - t0, 2) if bound else None,
            "create_to_all_pods_created_s": round(max(watch.added_at.values()) - t0, 2) if watch.added_at else None,
            "create_to_all_bound_s": round(bound[-1] - t0, 2) if bound else None,
            "pods_bound_per_s": round(len(bound) / (bound[-1] - t0), 1) if bound else 0.0,
            "load": usage,
        }
    finally:
        hollow.stop()
        client.close()
        master.stop()


def summary(runs: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(runs)}
    for key in keys:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if values:
            out[key] = {"median": round(statistics.median(values), 2), "min": min(values), "max": max(values)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="Repetitions of each measurement (the lab is shared).")
    parser.add_argument("--modes", default="process,master", help="Where the scheduler runs: process, master or both.")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds each run may wait for its bindings.")
    parser.add_argument("--skip-deployment", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--lease-interval", type=float, default=10.0, help="Seconds between a hollow node's Lease renewals (kubelet: 10).")
    parser.add_argument("--keep", type=Path, help="Keep each run's data and logs under this directory.")
    args = parser.parse_args()
    throughput: dict[str, Any] = {}
    deployment: dict[str, Any] | None = None
    base = args.keep or Path(tempfile.mkdtemp(prefix="kajitori-bench-scheduler-"))
    try:
        if not args.skip_throughput:
            for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
                runs = []
                for n in range(args.runs):
                    print(f"throughput, scheduler in its own {mode}, run {n + 1}/{args.runs}: {args.pods} pods, {args.nodes} hollow nodes")
                    result = phase_throughput(base / f"throughput-{mode}-{n}", mode, args.nodes, args.pods, args.timeout, args.lease_interval)
                    for key, value in result.items():
                        print(f"  {key}: {value}")
                    runs.append(result)
                keys = ["pods_per_s_from_start", "pods_per_s_first_to_last_bound", "pods_per_s_steady_10_90",
                        "start_to_all_bound_s", "created_to_bound_p50_s", "created_to_bound_p99_s"]  # fmt: skip
                throughput[mode] = {
                    "summary": summary(runs, keys),
                    "runs": runs,
                }
                print(f"  summary: {throughput[mode]['summary']}")
        if not args.skip_deployment:
            runs = []
            for n in range(args.runs):
                print(f"deployment of {args.replicas} replicas on {args.nodes} hollow nodes (all controllers), run {n + 1}/{args.runs}")
                result = phase_deployment(base / f"deployment-{n}", args.nodes, args.replicas, args.timeout, args.lease_interval)
                for key, value in result.items():
                    print(f"  {key}: {value}")
                runs.append(result)
            deployment = {"summary": summary(runs, ["create_to_all_bound_s", "create_to_first_bound_s", "pods_bound_per_s"]), "runs": runs}
            print(f"  summary: {deployment['summary']}")
    finally:
        if args.keep is None:
            subprocess.run(["rm", "-rf", str(base)], check=False)
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

"""Benchmark of the service proxy: full sync of 1,000 services x 3 endpoints, then one endpoint change.

Runs the Proxier against real iptables-legacy inside a throwaway network namespace (made and
removed here; nothing touches the host's tables). Prints the figures and writes them to
bench/results/proxy.json. Needs root. Targets from issue 5: <= 0.5 s full, <= 50 ms one change.

    .venv/bin/python bench/proxy/run.py [--services 1000] [--endpoints 3] [--changes 100] [--spawn-per-restore]

Besides the proxy's own figures it prints the kernel's floor for any change of the nat table
at this size: an empty nat batch (the table is only read) and a batch rewriting one one-rule
chain (read, then replaced whole). The legacy backend copies the whole table out and back in
for every batch, so a change can never be cheaper than that floor. The load average is printed
too: the machine is shared, and a busy second core shows up in every wall-clock figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results" / "proxy.json"
sys.path.insert(0, str(REPO))


def service(i: int) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "bench", "name": f"svc-{i}"},
        "spec": {
            "clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
            "type": "NodePort",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30000 + i}],
        },
    }


def endpoints(i: int, count: int, generation: int = 0) -> dict[str, Any]:
    ips = [f"10.244.{(i + j * 7 + generation) % 250}.{i % 250 + 2}" for j in range(count)]
    return {
        "metadata": {"namespace": "bench", "name": f"svc-{i}"},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "http", "port": 8080}]}],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(services: int, per_service: int, changes: int, *, spawn_per_restore: bool) -> dict[str, Any]:
    """Runs inside the namespace."""
    from net.iptables_proxy import Proxier
    from net.iptables_runner import LegacyIptables

    restore_times: list[float] = []

    class TimedIptables(LegacyIptables):
        def restore(self, text: str) -> None:
            started = time.perf_counter()
            super().restore(text)
            restore_times.append(time.perf_counter() - started)

    proxier = Proxier(iptables=TimedIptables(persistent_restore=not spawn_per_restore))
    for i in range(services):
        proxier.update_service(service(i))
        proxier.update_endpoints(endpoints(i, per_service))

    full_runs = []
    full_bytes = 0
    for _ in range(5):
        proxier.request_full_sync()
        started = time.perf_counter()
        result = proxier.sync()
        full_runs.append(time.perf_counter() - started)
        assert result is not None and result.full
        full_bytes = result.restore_bytes
    full_restore = restore_times[-5:]

    # CPU time of the restore programs during the changes, which other load on the machine does
    # not inflate: a child's time is counted once it has exited, so the session (if any) is
    # ended before and after the changes and every restore process is a child of this one.
    ipt = proxier._ipt  # the same restore path the proxier used
    ipt.close()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rng = random.Random(1)
    change_runs = []
    change_restore = []
    for generation in range(1, changes + 1):
        i = rng.randrange(services)
        proxier.update_endpoints(endpoints(i, per_service, generation))
        started = time.perf_counter()
        result = proxier.sync()
        change_runs.append(time.perf_counter() - started)
        change_restore.append(restore_times[-1])
        assert result is not None and not result.full
    ipt.close()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    restore_cpu = (children_after.ru_utime + children_after.ru_stime
                   - children_before.ru_utime - children_before.ru_stime) / changes

    floors: dict[str, list[float]] = {"read": [], "write": []}
    for _ in range(max(10, changes // 5)):
        for kind, batch in (("read", "*nat\nCOMMIT\n"),
                            ("write", "*nat\n:KT-MARK-MASQ - [0:0]\n-A KT-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n")):
            started = time.perf_counter()
            ipt.restore(batch)
            floors[kind].append(time.perf_counter() - started)

    started = time.perf_counter()
    proxier.ensure_base_rules()
    check = time.perf_counter() - started
    rules = subprocess.run(["iptables-legacy-save", "-t", "nat"], capture_output=True, text=True, check=True)
    started = time.perf_counter()
    proxier.cleanup()
    cleanup = time.perf_counter() - started
    return {
        "services": services,
        "endpoints_per_service": per_service,
        "nat_rules": sum(1 for line in rules.stdout.splitlines() if line.startswith("-A")),
        "full_sync_s": {"first": full_runs[0], "median": statistics.median(full_runs), "runs": full_runs},
        "full_sync_restore_s": statistics.median(full_restore),
        "full_sync_batch_bytes": full_bytes,
        "one_change_s": {
            "p50": percentile(change_runs, 0.5),
            "p99": percentile(change_runs, 0.99),
            "max": max(change_runs),
            "runs": len(change_runs),
        },
        "one_change_restore_s": {"p50": percentile(change_restore, 0.5), "p99": percentile(change_restore, 0.99)},
        "one_change_restore_cpu_s": restore_cpu,
        "one_change_python_s": {"p50": percentile([a - b for a, b in zip(change_runs, change_restore, strict=True)], 0.5)},
        "nat_read_floor_s": statistics.median(floors["read"]),
        "nat_write_floor_s": {"p50": percentile(floors["write"], 0.5), "p99": percentile(floors["write"], 0.99)},
        "restore": "one process per batch" if spawn_per_restore else "long-lived restore session",
        "periodic_check_s": check,
        "cleanup_s": cleanup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--spawn-per-restore", action="store_true",
                        help="run one iptables-legacy-restore per batch instead of the proxy's long-lived one")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(measure(args.services, args.endpoints, args.changes, spawn_per_restore=args.spawn_per_restore)))
        return
    if os.geteuid() != 0:
        sys.exit("bench/proxy needs root (it makes a network namespace)")
    load_before = os.getloadavg()[0]
    netns = f"kt-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        proc = subprocess.run(
            ["ip", "netns", "exec", netns, sys.executable, __file__, "--inside",
             "--services", str(args.services), "--endpoints", str(args.endpoints), "--changes", str(args.changes),
             *(["--spawn-per-restore"] if args.spawn_per_restore else [])],
            capture_output=True, text=True, check=False, cwd=REPO,
        )
        if proc.returncode != 0:
            sys.exit(f"benchmark failed:\n{proc.stderr}")
        figures = json.loads(proc.stdout.splitlines()[-1])
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    figures["machine"] = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                          "load_1min": [load_before, os.getloadavg()[0]]}
    figures["targets"] = {"full_sync_s": 0.5, "one_change_s": 0.05}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    full, change = figures["full_sync_s"], figures["one_change_s"]
    print(f"proxy: {figures['services']} services x {figures['endpoints_per_service']} endpoints "
          f"({figures['nat_rules']} nat rules)")
    print(f"  full sync       median {full['median'] * 1000:7.1f} ms  (first {full['first'] * 1000:.1f} ms, "
          f"restore {figures['full_sync_restore_s'] * 1000:.1f} ms, batch {figures['full_sync_batch_bytes']} bytes)")
    print(f"  one change      p50 {change['p50'] * 1000:7.1f} ms  p99 {change['p99'] * 1000:7.1f} ms  "
          f"max {change['max'] * 1000:.1f} ms over {change['runs']} changes")
    restore = figures["one_change_restore_s"]
    print(f"    of which      restore p50 {restore['p50'] * 1000:.1f} ms  p99 {restore['p99'] * 1000:.1f} ms, "
          f"python p50 {figures['one_change_python_s']['p50'] * 1000:.2f} ms  ({figures['restore']})")
    print(f"    CPU           {figures['one_change_restore_cpu_s'] * 1000:.1f} ms per change in the restore program "
          "(user + system; not inflated by other load)")
    floor = figures["nat_write_floor_s"]
    print(f"  nat floor       read only {figures['nat_read_floor_s'] * 1000:.1f} ms, "
          f"one-rule chain rewrite p50 {floor['p50'] * 1000:.1f} ms  p99 {floor['p99'] * 1000:.1f} ms")
    print(f"  periodic check  {figures['periodic_check_s'] * 1000:7.1f} ms    cleanup {figures['cleanup_s'] * 1000:.1f} ms")
    load = figures["machine"]["load_1min"]
    print(f"  load average    {load[0]:.2f} before, {load[1]:.2f} after ({figures['machine']['cpus']} cpus)")
    print(f"  written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

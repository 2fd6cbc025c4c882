"""bench/watch_fanout: a write's latency beside 0, 100 and 1,000 watchers, and what a watcher costs.

Against a real `kajitori master` process (API only) on a loopback port:
- for each case (no watchers; 100 and 1,000 idle watchers, which watch ConfigMaps of a
  namespace nobody writes to; 100 and 1,000 live watchers, which watch the namespace
  written to and read every event), a child process opens the watches (TLS, raw
  sockets, asyncio) and holds them;
- this process then creates WRITES ConfigMaps one after another over one kept-alive
  connection, pausing PAUSE_S between an answer and the next request (a steady writer,
  not a flood: the fan-out of one event must not be billed to the next write), and
  keeps each create's latency (request sent -> 201 read) and the master's CPU time per
  write (fan-out included; on a busy machine a steadier figure than wall time);
- the master's RSS is read from /proc with the watchers held, so RSS per idle watcher
  is (RSS with 1,000 idle - RSS with none) / 1,000.
Prints the figures and the ratio of each case's p50/p99 to the no-watcher case, and
writes bench/results/watch_fanout.json. Bounded: fixed counts, loopback only, the master
and the child are stopped at the end. Aim: p99 with 1,000 watchers <= 5 ms.

    .venv/bin/python bench/watch_fanout/run.py [--writes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import summary_ms, write_result
from kajitori import config
from tests.support.hostile_http import rss_bytes
from tests.support.master_process import MasterProcess

WRITES = 300
PAUSE_S = 0.02
CASES = [("none", 0), ("idle", 100), ("idle", 1000), ("live", 100), ("live", 1000)]


# -- the child: N watches held open ---------------------------------------------


async def hold_watches(port: int, ca: str, token: str, namespace: str, count: int) -> None:
    tls = ssl.create_default_context(cafile=ca)
    opened = 0
    gate = asyncio.Semaphore(32)  # handshakes in flight

    async def one() -> None:
        nonlocal opened
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls, server_hostname="127.0.0.1")
            writer.write(
                f"GET /api/v1/namespaces/{namespace}/configmaps?watch=true&timeoutSeconds=3600 HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
            )
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"watch answered {status!r}")
            opened += 1
            if opened == count:
                print("ready", flush=True)
        while await reader.read(65536):  # live watchers read every event; idle ones just wait
            pass

    await asyncio.gather(*(one() for _ in range(count)))


def child_main(argv: list[str]) -> None:
    port, ca, token, namespace, count = argv
    asyncio.run(hold_watches(int(port), ca, token, namespace, int(count)))


# -- the parent ------------------------------------------------------------------


def start_watchers(master: MasterProcess, token: str, namespace: str, count: int) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(master.port), str(master.ca_file), token, namespace, str(count)],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != b"ready":
        child.kill()
        raise RuntimeError(f"watchers did not open: {line!r}")
    return child


def stop_watchers(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def writes(http: httpx.Client, namespace: str, tag: str, count: int) -> list[float]:
    latencies: list[float] = []
    for i in range(count):
        body = orjson.dumps({"metadata": {"name": f"{tag}-{i}"}, "data": {"k": "v" * 100}})
        started = time.perf_counter()
        answer = http.post(f"/api/v1/namespaces/{namespace}/configmaps", content=body)
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 201:
            raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:200]}")
        time.sleep(PAUSE_S)
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process used so far (less disturbed by a busy machine than wall time)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle_rss(pid: int) -> int:
    # Read a few times a moment apart and keep the last: connections just closed are
    # still being torn down for a little while.
    value = 0
    for _ in range(3):
        time.sleep(0.5)
        value = rss_bytes(pid)
    return value


def run(write_count: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"writes_per_case": write_count, "pause_between_writes_ms": PAUSE_S * 1000, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        master = MasterProcess(Path(tmp) / "master", extra_args=["--no-controllers"]).start()
        try:
            assert master.proc is not None
            token = config.load(master.kubeconfig).token or ""
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            with httpx.Client(base_url=master.url, headers=headers, verify=master.tls(), timeout=30) as http:
                for ns in ("idle", "write-none", *(f"write-{kind}-{n}" for kind, n in CASES if n)):
                    http.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": ns}}))
                writes(http, "write-none", "warmup", 50)
                baseline_rss = settle_rss(master.proc.pid)
                for kind, count in CASES:
                    name = f"{kind}-{count}" if count else "none"
                    target = f"write-{name}"
                    child = None
                    if count:
                        child = start_watchers(master, token, "idle" if kind == "idle" else target, count)
                    try:
                        rss = settle_rss(master.proc.pid)
                        cpu_before = cpu_seconds(master.proc.pid)
                        latencies = writes(http, target, name, write_count)
                        cpu = cpu_seconds(master.proc.pid) - cpu_before
                    finally:
                        if child is not None:
                            stop_watchers(child)
                    case = {
                        "watchers": count, "kind": kind, **summary_ms(latencies),
                        "master_cpu_ms_per_write": round(cpu * 1000 / write_count, 2),
                        "master_rss_mib": round(rss / 2**20, 1),
                    }  # fmt: skip
                    figures["cases"][name] = case
                    print(f"{name:>10}: p50 {case['p50_ms']:6.2f} ms  p99 {case['p99_ms']:6.2f} ms  "
                          f"max {case['max_ms']:6.2f} ms  master CPU/write {case['master_cpu_ms_per_write']:6.2f} ms  "
                          f"RSS {case['master_rss_mib']} MiB")  # fmt: skip
                    time.sleep(1.0)  # let the master drop the closed watches before the next case
                idle = figures["cases"]["idle-1000"]["master_rss_mib"] * 2**20
                figures["rss_per_idle_watcher_kib"] = round((idle - baseline_rss) / 1000 / 1024, 1)
        finally:
            master.stop()
    base = figures["cases"]["none"]
    for case in figures["cases"].values():
        case["p50_ratio"] = round(case["p50_ms"] / base["p50_ms"], 2)
        case["p99_ratio"] = round(case["p99_ms"] / base["p99_ms"], 2)
    print("\nratio to no watchers (p50 / p99):")
    for name, case in figures["cases"].items():
        print(f"{name:>10}: {case['p50_ratio']:5.2f} / {case['p99_ratio']:5.2f}")
    print(f"master RSS per idle watcher: {figures['rss_per_idle_watcher_kib']} KiB")
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=WRITES)
    args = parser.parse_args()
    write_result("watch_fanout", run(args.writes))


if __name__ == "__main__":
    main()

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
- live watchers note when each event reached them (CLOCK_MONOTONIC, shared by the
  processes): "delivery" is the time from a create's request to its event having
  reached every watcher (the child's own reading, 1,000 TLS sockets in one Python
  process on the same cores, is part of it);
- the master's RSS is read from /proc with the watchers held, so RSS per idle watcher
  is (RSS with 1,000 idle - RSS with none) / 1,000;
- what of a latency is the bench's own: the writer, the master and the child reading
  1,000 TLS sockets share the machine's cores, and with 1,000 live watchers both cores are
  busy while an event fans out (the master's sends, the child's reads). ``perf sched``
  showed the master waking the writer within 25 us of writing its answer and the writer
  then waiting up to 4 ms for a core: a client on a machine of its own never waits so.
  So each write also notes how long the writer waited for a CPU (the kernel's schedstat
  run delay of its thread), and a case prints the p99 net of that wait; the master's own
  ``apiserver_request_duration_seconds`` (read from /metrics before and after) gives the
  share of the creates it answered within 5 ms, and its ``python_gc_duration_seconds`` the
  full garbage-collector passes of the case (while the watches open too) and their length,
  each a stall of the whole master; ``--writer-rt`` runs the writer at
  real-time priority, so it gets a core the moment its answer arrives.
Prints the figures and the ratio of each case's p50/p99 to the no-watcher case, and
writes bench/results/watch_fanout.json. Bounded: fixed counts, loopback only, the master
and the child are stopped at the end. Aim: p99 with 1,000 watchers <= 5 ms.

``--compare`` runs every case twice, on a master with the watch's write-now path off
(``KAJITORI_WATCH_WRITE_NOW=0``: every event queued and its watcher's task woken, as
before) and on one with it on, one after the other, and prints them side by side with
the load average before each case (the machine is shared; a figure means little without it).
``--against DIR`` compares the same way a master run from another checkout (``git archive
main | tar -x -C DIR``; this tree's virtualenv) with this tree's, both with the path on:
a change's before and after under the same load. On a busy machine the second of a pair
often measures worse; ``--new-first`` swaps the order, so run both.

    .venv/bin/python bench/watch_fanout/run.py [--writes 300] [--compare | --against DIR] [--cases live-100,live-1000] [--writer-rt]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson
import uvloop
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import summary_ms, write_result
from kajitori import config
from tests.support.hostile_http import rss_bytes
from tests.support.master_process import MasterProcess

WRITES = 300
PAUSE_S = 0.02
CASES = [("none", 0), ("idle", 100), ("idle", 1000), ("live", 100), ("live", 1000)]


# -- the child: N watches held open ---------------------------------------------


_NAME = re.compile(rb'"name":"([^"]+)"')


async def hold_watches(port: int, ca: str, token: str, namespace: str, count: int) -> None:
    tls = ssl.create_default_context(cafile=ca)
    opened = 0
    # name -> [watchers that read its event, when the first did, when the last did]
    arrivals: dict[bytes, list[float]] = {}

    def report() -> None:
        done = {k.decode(): [v[1], v[2]] for k, v in arrivals.items() if v[0] >= count}
        print(json.dumps(done), flush=True)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report)
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
        pending = b""
        while data := await reader.read(65536):  # live watchers read every event; idle ones just wait
            now = time.perf_counter()
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                if b'"type":"ADDED"' not in line:
                    continue
                found = _NAME.search(line)
                if found:
                    seen = arrivals.setdefault(found.group(1), [0, now, now])
                    seen[0] += 1
                    seen[2] = now

    await asyncio.gather(*(one() for _ in range(count)))


def child_main(argv: list[str]) -> None:
    port, ca, token, namespace, count = argv
    # uvloop (the master's loop too): one process reading 1,000 TLS streams must keep up,
    # or what is measured is this reader's backlog rather than the master's fan-out.
    uvloop.run(hold_watches(int(port), ca, token, namespace, int(count)))


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


def arrivals(child: subprocess.Popen[bytes]) -> dict[str, list[float]]:
    """Each event every watcher read: when the first and when the last read it."""
    assert child.stdout is not None
    child.send_signal(signal.SIGUSR1)
    return dict(json.loads(child.stdout.readline()))


def stop_watchers(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def cpu_wait_s() -> float:
    """How long this thread has waited for a CPU while runnable, in all (the kernel's schedstat run delay)."""
    with open("/proc/thread-self/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e9


def writes(
    http: httpx.Client, namespace: str, tag: str, count: int, sent: dict[str, float] | None = None, waits: list[float] | None = None
) -> list[float]:
    """Create ``count`` ConfigMaps one after another: each create's latency; ``waits`` gets
    how much of each latency this process spent waiting for a CPU."""
    latencies: list[float] = []
    for i in range(count):
        body = orjson.dumps({"metadata": {"name": f"{tag}-{i}"}, "data": {"k": "v" * 100}})
        waited = cpu_wait_s()
        started = time.perf_counter()
        answer = http.post(f"/api/v1/namespaces/{namespace}/configmaps", content=body)
        latencies.append(time.perf_counter() - started)
        if waits is not None:
            waits.append(cpu_wait_s() - waited)
        if sent is not None:
            sent[f"{tag}-{i}"] = started
        if answer.status_code != 201:
            raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:200]}")
        time.sleep(PAUSE_S)
    return latencies


class MasterTimings(NamedTuple):
    """What the master's own /metrics timed so far."""

    # ConfigMap creates, in all and within 5 ms, by apiserver_request_duration_seconds: the
    # time its handler chain took, from the request's arrival at the app to the end of the
    # answer (no client, no network)
    creates: float
    creates_within_5ms: float
    # full garbage-collector passes and their time (python_gc_duration_seconds{generation="2"};
    # 0 from a master that has no such metric)
    full_gc_passes: float
    full_gc_seconds: float

    def since(self, before: MasterTimings) -> MasterTimings:
        return MasterTimings(*(now - then for now, then in zip(self, before, strict=True)))


def master_timings(http: httpx.Client) -> MasterTimings:
    creates = within = passes = seconds = 0.0
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for sample in family.samples:
            labels = sample.labels
            if family.name == "apiserver_request_duration_seconds" and (labels.get("resource"), labels.get("verb")) == ("configmaps", "POST"):
                if sample.name.endswith("_count"):
                    creates = sample.value
                elif labels.get("le") == "0.005":
                    within = sample.value
            elif family.name == "python_gc_duration_seconds" and labels.get("generation") == "2":
                if sample.name.endswith("_count"):
                    passes = sample.value
                elif sample.name.endswith("_sum"):
                    seconds = sample.value
    return MasterTimings(creates, within, passes, seconds)


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


def start_master(tmp: Path, name: str, *, write_now: bool, source: Path | None = None) -> MasterProcess:
    os.environ["KAJITORI_WATCH_WRITE_NOW"] = "1" if write_now else "0"  # the child inherits it
    try:
        return MasterProcess(tmp / name, extra_args=["--no-controllers"], source=source).start()
    finally:
        del os.environ["KAJITORI_WATCH_WRITE_NOW"]


class Bench:
    """One master and its client: runs the cases against it."""

    def __init__(self, master: MasterProcess, write_count: int) -> None:
        assert master.proc is not None
        self.master, self.pid, self.write_count = master, master.proc.pid, write_count
        self.token = config.load(master.kubeconfig).token or ""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.http = httpx.Client(base_url=master.url, headers=headers, verify=master.tls(), timeout=30)
        for ns in ("idle", "write-none", *(f"write-{kind}-{n}" for kind, n in CASES if n)):
            self.http.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": ns}}))
        writes(self.http, "write-none", "warmup", 50)
        self.baseline_rss = settle_rss(self.pid)

    def case(self, kind: str, count: int) -> dict[str, Any]:
        name = f"{kind}-{count}" if count else "none"
        target = f"write-{name}"
        child = None
        timed_before = master_timings(self.http)  # full GC passes while the watches open count too
        if count:
            child = start_watchers(self.master, self.token, "idle" if kind == "idle" else target, count)
        sent: dict[str, float] = {}
        waits: list[float] = []
        try:
            rss = settle_rss(self.pid)
            load = os.getloadavg()[0]
            cpu_before = cpu_seconds(self.pid)
            latencies = writes(self.http, target, name, self.write_count, sent, waits)
            cpu = cpu_seconds(self.pid) - cpu_before
            timed = master_timings(self.http).since(timed_before)
            delivered: dict[str, list[float]] = {}
            if child is not None and kind == "live":
                deadline = time.monotonic() + 10
                while len(delivered) < len(sent) and time.monotonic() < deadline:
                    delivered = arrivals(child)
                    if len(delivered) < len(sent):
                        time.sleep(0.5)
        finally:
            if child is not None:
                stop_watchers(child)
        waited = summary_ms(waits)
        case: dict[str, Any] = {
            "watchers": count, "kind": kind, **summary_ms(latencies),
            "master_cpu_ms_per_write": round(cpu * 1000 / self.write_count, 2),
            "master_rss_mib": round(rss / 2**20, 1), "load_average_1m": round(load, 2),
            # the writer's own wait for a CPU: the bench's processes share the machine's cores
            "writer_cpu_wait_p99_ms": waited["p99_ms"], "writer_cpu_wait_max_ms": waited["max_ms"],
            "p99_ms_net_of_writer_wait": summary_ms([lat - w for lat, w in zip(latencies, waits, strict=True)])["p99_ms"],
            "master_within_5ms_percent": round(100 * timed.creates_within_5ms / timed.creates, 2) if timed.creates else None,
            "master_full_gc_passes": int(timed.full_gc_passes),
            "master_full_gc_mean_ms": round(1000 * timed.full_gc_seconds / timed.full_gc_passes, 1) if timed.full_gc_passes else None,
        }  # fmt: skip
        if delivered:
            reach = summary_ms([delivered[n][1] - sent[n] for n in sent if n in delivered])
            case["delivery_p50_ms"], case["delivery_p99_ms"] = reach["p50_ms"], reach["p99_ms"]
            case["delivered"] = f"{len(delivered)}/{len(sent)}"
        time.sleep(1.0)  # let the master drop the closed watches before the next case
        return case

    def close(self) -> None:
        self.http.close()


def line(label: str, case: dict[str, Any]) -> str:
    text = (
        f"{label:>14}: p50 {case['p50_ms']:6.2f} ms  p99 {case['p99_ms']:6.2f} ms  max {case['max_ms']:7.2f} ms  "
        f"CPU/write {case['master_cpu_ms_per_write']:6.2f} ms  RSS {case['master_rss_mib']:6.1f} MiB  "
        f"load {case['load_average_1m']:4.2f}\n{'':>16}writer's CPU wait p99 {case['writer_cpu_wait_p99_ms']:5.2f} max "
        f"{case['writer_cpu_wait_max_ms']:6.2f} ms  p99 net of it {case['p99_ms_net_of_writer_wait']:6.2f} ms  "
        f"master's own timing: {case['master_within_5ms_percent']}% within 5 ms, "
        + (f"full GC passes {case['master_full_gc_passes']}, {case['master_full_gc_mean_ms']} ms each" if case["master_full_gc_passes"] else "no full GC pass")
    )
    if "delivery_p50_ms" in case:
        text += f"  delivery p50 {case['delivery_p50_ms']:6.2f} p99 {case['delivery_p99_ms']:7.2f} ms ({case['delivered']})"
    return text


def ratios(cases: dict[str, dict[str, Any]]) -> None:
    base = cases.get("none")
    if base is None:
        return
    for case in cases.values():
        case["p50_ratio"] = round(case["p50_ms"] / base["p50_ms"], 2)
        case["p99_ratio"] = round(case["p99_ms"] / base["p99_ms"], 2)


def run(
    write_count: int, cases: list[tuple[str, int]], compare: bool, against: Path | None = None, new_first: bool = False
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "writes_per_case": write_count, "pause_between_writes_ms": PAUSE_S * 1000,
        "writer_policy": "SCHED_FIFO" if os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO else "SCHED_OTHER",
    }  # fmt: skip
    paths: list[tuple[str, bool, Path | None]] = [("", True, None)]
    if against is not None:
        paths = [("old", True, against), ("new", True, None)]
        figures["old_source"] = str(against)
    elif compare:
        paths = [("old", False, None), ("new", True, None)]
    if new_first:
        paths.reverse()
    with tempfile.TemporaryDirectory() as tmp:
        masters = {
            label: start_master(Path(tmp), f"master-{label or 'new'}", write_now=on, source=source)
            for label, on, source in paths
        }
        benches: dict[str, Bench] = {}
        try:
            benches = {label: Bench(m, write_count) for label, m in masters.items()}
            results: dict[str, dict[str, Any]] = {label: {} for label in benches}
            for kind, count in cases:
                name = f"{kind}-{count}" if count else "none"
                for label, bench in benches.items():  # old and new one after the other, under a like load
                    case = results[label][name] = bench.case(kind, count)
                    print(line(f"{name} {label}".strip(), case), flush=True)
            for label, bench in benches.items():
                ratios(results[label])
                if "idle-1000" in results[label]:
                    idle = results[label]["idle-1000"]["master_rss_mib"] * 2**20
                    results[label]["rss_per_idle_watcher_kib"] = round((idle - bench.baseline_rss) / 1000 / 1024, 1)  # type: ignore[assignment]
        finally:
            for bench in benches.values():
                bench.close()
            for master in masters.values():
                master.stop()
    if against is not None:
        figures["old"], figures["new"] = results["old"], results["new"]
    elif compare:
        figures["old_write_now_off"], figures["new_write_now_on"] = results["old"], results["new"]
    else:
        figures["cases"] = results[""]
        if "rss_per_idle_watcher_kib" in results[""]:
            print(f"master RSS per idle watcher: {results['']['rss_per_idle_watcher_kib']} KiB")
    return figures


def main() -> None:
    global PAUSE_S
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=WRITES)
    parser.add_argument("--compare", action="store_true", help="the write-now path off and on, side by side")
    parser.add_argument("--against", type=Path, help="side by side with a master run from this checkout (before/after)")
    parser.add_argument("--new-first", action="store_true", help="with --compare/--against: each case on the new master first")
    parser.add_argument("--cases", default="", help="e.g. none,live-100,live-1000 (default: all)")
    parser.add_argument("--pause-ms", type=float, default=PAUSE_S * 1000, help="between an answer and the next write")
    parser.add_argument(
        "--writer-rt", action="store_true",
        help="the writer at real-time priority (SCHED_FIFO 1; root or CAP_SYS_NICE): a client with a core of its own",
    )  # fmt: skip
    args = parser.parse_args()
    PAUSE_S = args.pause_ms / 1000
    if args.writer_rt:
        # Only this process: the master and the watchers' child it starts are reset to the
        # normal policy. It blocks on its answer or sleeps between writes, never holding a core long.
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(1))
    names = [n for n in args.cases.split(",") if n]
    cases = [(k, n) for k, n in CASES if not names or (f"{k}-{n}" if n else "none") in names]
    write_result("watch_fanout", run(args.writes, cases, args.compare, args.against, args.new_first))


if __name__ == "__main__":
    main()

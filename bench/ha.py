"""Benchmark of the control plane's availability: three real masters on a real three-member
etcd cluster, on loopback, losing a master or an etcd member to kill -9.

While one writer per master loops creating ConfigMaps through it (each request bounded by
a 10 s client timeout), ``--rounds`` times each:

1. master loss: the master leading kube-scheduler is killed with -9. Measured: the time
   until a write issued after the kill is acknowledged through each remaining master; when
   the kube-scheduler Lease was taken by another master (its ``acquireTime``); when the
   ``kubernetes`` Endpoints no longer list the killed master. It is then started again and
   waited for in the Endpoints, so every round begins with three.
2. etcd member loss: the raft leader (the worst case: the rest must elect a new one) is
   killed with -9. Measured: the time until a write issued after the kill is acknowledged
   through each master, and the longest stretch without an acknowledged write on any of
   them. It is then started again on its data and waited for until healthy.

Bounded: each wait gives up after ``--limit`` seconds (the round is reported as failed, not
hung); with the defaults a run takes about two minutes. Prints the figures and writes
bench/results/ha.json. No figure is asserted. Every process is started and ended by PID.

    .venv/bin/python bench/ha.py [--rounds 3] [--limit 60]

The same on the three-master lab, with whole machines halted and DNS seen from a pod:
bench/ha_lab/run.py.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402
from kajitori.api import ConfigMap, Endpoints, Lease  # noqa: E402
from kajitori.client import ApiClient, ApiError  # noqa: E402
from kajitori.clock import parse_time  # noqa: E402
from tests.support.ha_cluster import HACluster  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

T = TypeVar("T")


class Writer:
    """Creates ConfigMaps through one master, one after another, and notes when each was acknowledged."""

    def __init__(self, master: MasterProcess, name: str) -> None:
        self.client = master.client(timeout=10.0)
        self.name = name
        self.acks: list[tuple[float, float]] = []  # (issued, acknowledged), wall clock
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"writer-{name}", daemon=True)
        self._count = 0

    def start(self) -> Writer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._count += 1
            issued = time.time()
            try:
                self.client.create(ConfigMap.model_validate({"metadata": {"name": f"{self.name}-{self._count}"}}))
                self.acks.append((issued, time.time()))
            except (ApiError, httpx.HTTPError):
                self.failures += 1
                self._stop.wait(0.05)
            self._stop.wait(0.02)

    def recovered_after(self, since: float) -> float | None:
        """Seconds from ``since`` until the first write issued after it was acknowledged."""
        done = [ack for issued, ack in self.acks if issued >= since]
        return min(done) - since if done else None

    def longest_gap(self, since: float, until: float) -> float:
        acks = [since] + [ack for _, ack in self.acks if since <= ack <= until] + [until]
        return max(b - a for a, b in itertools.pairwise(sorted(acks)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self.client.close()


def wait(check: Callable[[], T], limit: float, what: str) -> T:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except (ApiError, httpx.HTTPError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no {what} within {limit:.0f} s")


def api_ports(client: ApiClient) -> set[int]:
    eps = client.get(Endpoints, "kubernetes", "default")
    return {p.port for s in eps.subsets or [] for p in s.ports or []}


def raft_leader(cluster: HACluster) -> int:
    assert cluster.etcd is not None
    ids: dict[str, int] = {}
    leader = ""
    for index, member in enumerate(cluster.etcd.members):
        if member.proc is None or member.proc.poll() is not None:
            continue
        status = httpx.post(member.url + "/v3/maintenance/status", content=b"{}", timeout=5.0).json()
        ids[status["header"]["member_id"]] = index
        leader = leader or status["leader"]
    return ids[leader]


def holder_of(client: ApiClient, lease: str) -> str | None:
    return client.get(Lease, lease, "kube-system").spec.holderIdentity


def master_round(cluster: HACluster, limit: float) -> dict[str, Any]:
    masters = cluster.masters
    probe = masters[0].client() if masters[0].proc and masters[0].proc.poll() is None else masters[1].client()
    try:
        # The Lease names the leader; its log says which process that is (a log holds every incarnation).
        old = wait(lambda: holder_of(probe, "kube-scheduler"), limit, "kube-scheduler leader")
        victim = wait(lambda: next((m for m in masters if m.log_path and f"{old} became leader" in m.log_path.read_text()), None),
                      limit, "the leader's process")  # fmt: skip
    finally:
        probe.close()
    others = [m for m in masters if m is not victim]
    writers = [Writer(m, f"m{m.port}-{int(time.time() * 1000)}").start() for m in others]
    try:
        wait(lambda: all(w.acks for w in writers), limit, "writes before the kill")
        killed = time.time()
        victim.kill()
        recovery = [wait(lambda w=w: w.recovered_after(killed), limit, "write after the master's loss") for w in writers]
        probe = others[0].client()
        try:
            lease = wait(lambda: (ls := probe.get(Lease, "kube-scheduler", "kube-system")).spec.holderIdentity not in (None, old) and ls,
                         limit, "the kube-scheduler Lease taken over")  # fmt: skip
            handover = (parse_time(lease.spec.acquireTime) or killed) - killed
            wait(lambda: victim.port not in api_ports(probe), limit, "the killed master out of the Endpoints")
            dropped = time.time() - killed
            until = time.time()
            gap = max(w.longest_gap(killed, until) for w in writers)
            victim.start()  # back for the next round
            wait(lambda: victim.port in api_ports(probe), limit, "the restarted master in the Endpoints")
        finally:
            probe.close()
    finally:
        for w in writers:
            w.stop()
    return {"write_recovery_s": max(recovery), "longest_write_gap_s": gap, "lease_handover_s": handover,
            "endpoints_drop_s": dropped, "failed_writes": sum(w.failures for w in writers)}  # fmt: skip


def etcd_round(cluster: HACluster, limit: float) -> dict[str, Any]:
    assert cluster.etcd is not None
    victim = raft_leader(cluster)
    writers = [Writer(m, f"e{m.port}-{int(time.time() * 1000)}").start() for m in cluster.masters]
    try:
        wait(lambda: all(w.acks for w in writers), limit, "writes before the kill")
        killed = time.time()
        cluster.etcd.kill(victim)
        recovery = [wait(lambda w=w: w.recovered_after(killed), limit, "write after the member's loss") for w in writers]
        # A few more writes on each, so the gap seen covers the whole recovery.
        wait(lambda: all(len([a for i, a in w.acks if i >= killed]) >= 3 for w in writers), limit, "writes after recovery")
        gap = max(w.longest_gap(killed, time.time()) for w in writers)
        cluster.etcd.members[victim].launch().wait_healthy(limit)  # back on its data for the next round
    finally:
        for w in writers:
            w.stop()
    return {"write_recovery_s": max(recovery), "longest_write_gap_s": gap,
            "failed_writes": sum(w.failures for w in writers), "was_raft_leader": True}  # fmt: skip


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="kills of each kind (default 3)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds any one wait may take (default 60)")
    parser.add_argument("--etcd-request-timeout", type=float, default=None,
                        help="the masters' --etcd-request-timeout (default: theirs, 5 s)")  # fmt: skip
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 10))
    results: dict[str, list[dict[str, Any]]] = {"master_kill": [], "etcd_member_kill": []}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kajitori-ha-") as tmp:
        started = time.monotonic()
        extra = [] if args.etcd_request_timeout is None else ["--etcd-request-timeout", str(args.etcd_request_timeout)]
        cluster = HACluster(Path(tmp), extra_args=extra).start()
        print(f"3 etcd members + 3 masters up in {time.monotonic() - started:.1f} s")
        try:
            for kind, one_round in (("master_kill", master_round), ("etcd_member_kill", etcd_round)):
                for n in range(rounds):
                    try:
                        figures = one_round(cluster, args.limit)
                    except (TimeoutError, RuntimeError) as exc:
                        errors.append(f"{kind} round {n + 1}: {exc}")
                        print(f"{kind} round {n + 1}: FAILED: {exc}")
                        continue
                    results[kind].append(figures)
                    print(f"{kind} round {n + 1}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                               for k, v in figures.items()))  # fmt: skip
        finally:
            cluster.stop()
    summary = {
        kind: {field: spread([r[field] for r in runs]) for field in runs[0] if isinstance(runs[0][field], float)}
        for kind, runs in results.items()
        if runs
    }
    print("\nseconds (min / median / max):")
    for kind, fields in summary.items():
        for field, s in fields.items():
            print(f"  {kind:17} {field:20} {s['min']:7.3f} {s['median']:7.3f} {s['max']:7.3f}")
    write_result("ha", {"rounds": rounds, "etcd_request_timeout_s": args.etcd_request_timeout or 5.0,
                        "summary": summary, "runs": results, "errors": errors})  # fmt: skip
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

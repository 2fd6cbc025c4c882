"""Benchmark of the control plane's availability on the three-master lab (`make lab MASTERS=3`):
the leader halted, as a machine's reboot takes it away, `--halts` times.

Each halt takes the master leading kube-scheduler (the Lease's holder at that moment; it
often leads kube-controller-manager too) away as `vagrant halt` does (`docker stop`, systemd
shuts the machine down) for `--outage` seconds, then starts it again and waits until it
serves and its etcd member is healthy, so every halt begins with three masters. Measured by
`lab.master_halt.measure_halt`, from outside the masters, per halt:

- API gap: the longest time `kubectl get nodes` through the admin kubeconfig (the API address
  192.168.56.10) went without an answer, while the master was away and up to 3 s after it
  served again;
- DNS gap: the longest time a pod on node1, resolving `kubernetes.default.svc.cluster.local`
  every 0.2 s (one try of at most 1 s each), went without an answer;
- lease hand-over: from the halt command until another master took the kube-scheduler Lease
  (its acquireTime), and kube-controller-manager's when the halted master led it too;
- writes: ConfigMaps created one after another through the API address; acknowledged (201),
  and of those lost (not listed afterwards, through the address or by the returned master's own
  API server): must be 0. Tries without an answer are counted apart (they may exist or not).
- the NodePort (node2:30080) success rate, and how long the returned master took to serve
  and to rejoin etcd.

Prints each halt and min/median/max, writes bench/results/ha_lab.json; exits 1 if an
acknowledged write was lost or a halt failed. Bounded: every wait gives up after `--limit`
seconds and no new halt starts after `--deadline` seconds (defaults: 5 halts of 30 s take about
6 minutes). Every machine it halts it starts again, whatever happens (also on SIGTERM/^C).
Without the three-master lab it says so and exits 0. Traffic only to the lab bridge.

    .venv/bin/python bench/ha_lab/run.py [--halts 5] [--outage 30]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402
from kajitori import config  # noqa: E402
from kajitori.client import ApiClient  # noqa: E402
from lab.master_halt import MASTERS, DnsProbe, lab_masters, lease_holder, measure_halt, running_masters, start  # noqa: E402

ADMIN_KUBECONFIG = REPO / ".lab" / "admin.kubeconfig"
LEADER_LEASE = "kube-scheduler"


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def one_line(n: int, f: dict[str, Any]) -> str:
    handover = ", ".join(f"{lease} {s} s" for lease, s in f["lease_handover_s"].items()) or "led nothing"
    return (f"halt {n}: {f['halted']} ({f['outage_s']:.0f} s) - API gap {f['api_gap_incl_return_s']} s, "
            f"DNS gap {f['dns']['dns_gap_s']} s ({f['dns']['dns_failed']}/{f['dns']['dns_lookups']} lookups failed), "
            f"lease {handover}, writes acknowledged {f['writes_acked']} lost {f['writes_lost']}"
            f"/{f['writes_lost_on_returned']} (address/returned), unanswered {f['writes_unanswered']} "
            f"({f['writes_unanswered_stored']} stored), NodePort {f['nodeport']['success_rate']:.2%}, "
            f"serving again {f['serving_again_s']} s, etcd rejoined {f['etcd_rejoined_s']} s")  # fmt: skip


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def values(pick: Any) -> list[float]:
        return [v for r in runs if (v := pick(r)) is not None]

    return {
        "api_gap_s": spread(values(lambda r: r["api_gap_incl_return_s"])),
        "api_gap_during_outage_s": spread(values(lambda r: r["api_gap_s"])),
        "dns_gap_s": spread(values(lambda r: r["dns"]["dns_gap_s"])),
        "lease_handover_s": spread(values(lambda r: r["lease_handover_s"].get(LEADER_LEASE))),
        "controller_manager_handover_s": spread(values(lambda r: r["lease_handover_s"].get("kube-controller-manager"))),
        "writes_acknowledged": spread(values(lambda r: r["writes_acked"])),
        "writes_lost": spread(values(lambda r: r["writes_lost"] + r["writes_lost_on_returned"])),
        "writes_unanswered": spread(values(lambda r: r["writes_unanswered"])),
        "longest_write_gap_s": spread(values(lambda r: r["longest_write_gap_s"])),
        "nodeport_success_rate": spread(values(lambda r: r["nodeport"]["success_rate"])),
        "serving_again_s": spread(values(lambda r: r["serving_again_s"])),
        "etcd_rejoined_s": spread(values(lambda r: r["etcd_rejoined_s"])),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--halts", type=int, default=5, help="halts of the leader (default 5, at most 10)")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds each halted master stays down (default 30)")
    parser.add_argument("--limit", type=float, default=180.0, help="seconds any one wait may take (default 180)")
    parser.add_argument("--deadline", type=float, default=900.0, help="no halt starts after this many seconds (default 900)")
    args = parser.parse_args()
    if len(lab_masters()) < len(MASTERS) or not ADMIN_KUBECONFIG.exists():
        print("no three-master lab (make lab MASTERS=3): nothing measured")
        return 0
    halts = max(1, min(args.halts, 10))

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(f"stopped by signal {signum}")  # unwinds through the finally blocks: machines started

    signal.signal(signal.SIGTERM, interrupted)
    began = time.monotonic()
    runs: list[dict[str, Any]] = []
    errors: list[str] = []
    with ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0) as api:
        dns = DnsProbe(api, node="node1", duration_s=args.deadline + halts * (args.outage + 3 * args.limit))
        try:
            dns.start()
            for n in range(1, halts + 1):
                if time.monotonic() - began > args.deadline:
                    errors.append(f"deadline of {args.deadline:g} s reached before halt {n}")
                    break
                leader = lease_holder(api, LEADER_LEASE)[0]
                if leader not in MASTERS:
                    errors.append(f"halt {n}: no master leads {LEADER_LEASE} ({leader!r})")
                    break
                try:
                    figures = measure_halt(api, ADMIN_KUBECONFIG, leader, dns, outage_s=args.outage, limit_s=args.limit,
                                           progress=lambda text: print(f"  {text}", flush=True)).as_dict()  # fmt: skip
                except (TimeoutError, AssertionError) as exc:
                    errors.append(f"halt {n} of {leader}: {exc}")
                    print(f"halt {n} of {leader}: FAILED: {exc}", flush=True)
                    continue
                runs.append(figures)
                print(one_line(n, figures), flush=True)
        finally:
            dns.delete()
            for machine in MASTERS:  # measure_halt starts its machine; this is the belt to its braces
                if machine not in running_masters():
                    start(machine)
    summary = summarize(runs)
    print(f"\n{len(runs)} halts of the {LEADER_LEASE} leader, {args.outage:g} s each (min / median / max):")
    for name, s in summary.items():
        if s is not None:
            print(f"  {name:30} {s['min']:>8} {s['median']:>8} {s['max']:>8}")
    lost = sum(r["writes_lost"] + r["writes_lost_on_returned"] for r in runs)
    print(f"acknowledged writes lost: {lost}")
    write_result("ha_lab", {"halts": len(runs), "outage_s": args.outage, "summary": summary, "runs": runs, "errors": errors})
    return 1 if errors or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())

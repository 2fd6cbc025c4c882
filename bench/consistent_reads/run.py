"""bench/consistent_reads: what a consistent read costs, beside a read at resourceVersion=0, in one run.

Two real masters (A and B) on one real etcd (single member, loopback). OBJECTS ConfigMaps
are made through A. Then, through B over one kept-alive connection, one after another
and interleaved so both see the same machine load:
- GET of one ConfigMap with no resourceVersion (consistent: B asks etcd for its revision
  and waits until its cache has it) and with ``resourceVersion=0`` (the cache at once);
- LIST of the namespace (OBJECTS items), the same two ways;
- "write on A, read on B": a create through A, then at once a GET of it through B, with no
  resourceVersion; the time of that GET, and whether it found the object (must be always).
Prints p50/p99/mean per case and the consistent/rv=0 ratios, and writes
bench/results/consistent_reads.json. Bounded: fixed counts, loopback only, every process
ended by its PID at the end.

    .venv/bin/python bench/consistent_reads/run.py [--reads 500] [--objects 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import summary_ms, write_result
from kajitori.client import NotFoundError
from tests.support.ha_cluster import two_masters_on_one_etcd

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def timed(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def run(reads: int, objects: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="kajitori-bench-consistent-"))
    with two_masters_on_one_etcd(work, controllers=False) as (_etcd, a, b):
        ca, cb = a.client(), b.client()
        for i in range(objects):
            ca.request("POST", CONFIGMAPS, body={"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})
        one = f"{CONFIGMAPS}/cm-0"
        cases: dict[str, list[float]] = {
            k: [] for k in ("get_consistent", "get_rv0", "list_consistent", "list_rv0")
        }
        for _ in range(20):  # warm the connection and both paths
            cb.request("GET", one)
            cb.request("GET", one, params={"resourceVersion": "0"})
        for _ in range(reads):
            cases["get_consistent"].append(timed(lambda: cb.request("GET", one)))
            cases["get_rv0"].append(timed(lambda: cb.request("GET", one, params={"resourceVersion": "0"})))
        for _ in range(max(1, reads // 5)):
            cases["list_consistent"].append(timed(lambda: cb.request("GET", CONFIGMAPS)))
            cases["list_rv0"].append(
                timed(lambda: cb.request("GET", CONFIGMAPS, params={"resourceVersion": "0"}))
            )
        after_write: list[float] = []
        missed = 0
        for i in range(max(1, reads // 5)):
            name = f"w-{i}"
            ca.request("POST", CONFIGMAPS, body={"metadata": {"name": name}})
            began = time.perf_counter()
            try:
                cb.request("GET", f"{CONFIGMAPS}/{name}")
            except NotFoundError:
                missed += 1
            after_write.append(time.perf_counter() - began)
        ca.close()
        cb.close()
    figures: dict[str, Any] = {name: summary_ms(values) for name, values in cases.items()}
    figures["get_after_write_on_other_master"] = {**summary_ms(after_write), "missed": missed}
    figures["ratio_get_p50"] = round(figures["get_consistent"]["p50_ms"] / figures["get_rv0"]["p50_ms"], 2)
    figures["ratio_list_p50"] = round(figures["list_consistent"]["p50_ms"] / figures["list_rv0"]["p50_ms"], 2)
    figures["objects_listed"] = objects
    figures["load_average_after"] = os.getloadavg()[0]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--objects", type=int, default=100)
    ns = parser.parse_args()
    figures = run(ns.reads, ns.objects)
    print(f"{'case':<34}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name in (
        "get_consistent",
        "get_rv0",
        "list_consistent",
        "list_rv0",
        "get_after_write_on_other_master",
    ):
        f = figures[name]
        print(f"{name:<34}{f['n']:>6}{f['p50_ms']:>9}{f['p99_ms']:>9}{f['mean_ms']:>9}")
    print(
        f"consistent / rv=0 at p50: GET x{figures['ratio_get_p50']}, LIST of {ns.objects} x{figures['ratio_list_p50']}"
    )
    print(
        f"GET on B right after a create on A: missed {figures['get_after_write_on_other_master']['missed']}"
    )
    write_result("consistent_reads", figures)


if __name__ == "__main__":
    main()

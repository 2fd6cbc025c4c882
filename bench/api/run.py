"""bench/api: the API server's speed on this machine, against a real master process, on
each store in turn: the embedded SQLite file and a real etcd (one local member).

Prints and writes bench/results/api.json (figures per store, then etcd/SQLite ratios):
- creates/s and gets/s driven by wrk (C, 16 connections, 5 s each): the server's capacity;
- the same through a Python client (httpx, 16 concurrent), which is what controllers see;
- server-side applies/s (a whole pod manifest, one label changed) beside merge patches/s of one
  label, and their ratio: what managedFields cost (``--apply``: only that, into api_apply.json);
- list latency of 1,000 and 10,000 pods, and of one page of 500 of the 10,000 (``--pages``: only that);
- watch latency (write acknowledged -> event seen) with 100 concurrent watchers.
Bounded: a fixed number of requests (`--scale F` multiplies them), loopback only, the master
and etcd are stopped at the end.
"""

from __future__ import annotations

import asyncio
import shutil
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
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess

HERE = Path(__file__).resolve().parent
CONCURRENCY = 16
WATCHERS = 100
WATCH_WRITES = 200
# --scale 0.2 runs a fifth of every count (a loaded machine; the keys stay the same, "items" tells).
SCALE = 1.0


def pod(name: str, ns: str = "bench") -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.22", "resources": {"requests": {"cpu": "100m"}}}]},
        }
    )


async def run_many(client: httpx.AsyncClient, n: int, make: Any) -> float:
    """Run n requests made by make(i) with CONCURRENCY in flight; returns seconds."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            r = await make(i)
            if r.status_code >= 300:
                raise RuntimeError(f"{r.status_code}: {r.text[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - start


async def bench(master: MasterProcess, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    figures: dict[str, Any] = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=master.url, headers=headers, timeout=30, limits=limits, verify=master.tls()) as c:
        for ns in ("bench", "big"):
            await c.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": ns}}))
        base = "/api/v1/namespaces/bench/pods"

        n = int(2000 * SCALE)
        secs = await run_many(c, n, lambda i: c.post(base, content=pod(f"p{i}")))
        figures["creates_per_s"] = round(n / secs, 1)
        print(f"creates: {n} in {secs:.2f}s = {n / secs:.0f}/s")

        secs = await run_many(c, n, lambda i: c.get(f"{base}/p{i}"))
        figures["gets_per_s"] = round(n / secs, 1)
        print(f"gets:    {n} in {secs:.2f}s = {n / secs:.0f}/s")

        half = n // 2
        secs = await run_many(c, half, lambda i: c.patch(f"{base}/p{i}", content=b'{"metadata":{"labels":{"v":"2"}}}', headers={"content-type": "application/merge-patch+json"}))
        figures["patches_per_s"] = round(half / secs, 1)
        print(f"patches: {half} in {secs:.2f}s = {half / secs:.0f}/s")
        figures.update(await bench_applies(c, base, half, figures["patches_per_s"]))

        # lists: 1,000 pods (half of namespace bench, by label) and 10,000 (namespace big)
        await run_many(c, half, lambda i: c.patch(f"{base}/p{i}", content=b'{"metadata":{"labels":{"half":"a"}}}', headers={"content-type": "application/merge-patch+json"}))
        await run_many(c, int(10000 * SCALE), lambda i: c.post("/api/v1/namespaces/big/pods", content=pod(f"q{i}", "big")))
        for label, path, params in (
            ("list_1000", base, {"labelSelector": "half=a"}),
            ("list_10000", "/api/v1/namespaces/big/pods", {}),
        ):
            times = []
            for _ in range(10):
                t = time.perf_counter()
                r = await c.get(path, params=params)
                body = r.content
                times.append(time.perf_counter() - t)
            count = len(orjson.loads(body)["items"])
            figures[label] = {**summary_ms(times), "items": count, "bytes": len(body)}
            print(f"{label}: {count} items, {len(body) / 1e6:.1f} MB, p50 {figures[label]['p50_ms']} ms, p99 {figures[label]['p99_ms']} ms")
        figures.update(await bench_pages(c, "/api/v1/namespaces/big/pods"))

    figures["watch"] = await bench_watch(master, headers)
    return figures


def applied_pod(name: str, value: str) -> bytes:
    """A pod's whole manifest as ``kubectl apply --server-side`` sends it, with label ``applied=value``."""
    body = orjson.loads(pod(name))
    body["metadata"]["labels"]["applied"] = value
    return orjson.dumps(body)


async def bench_applies(c: httpx.AsyncClient, base: str, n: int, patches_per_s: float) -> dict[str, Any]:
    """Server-side applies of n existing pods (each a real write: the label changes), beside merge patches/s."""
    apply = {"content-type": "application/apply-patch+yaml"}
    await run_many(c, n, lambda i: c.patch(f"{base}/p{i}?fieldManager=bench", content=applied_pod(f"p{i}", "a"), headers=apply))
    secs = await run_many(c, n, lambda i: c.patch(f"{base}/p{i}?fieldManager=bench", content=applied_pod(f"p{i}", "b"), headers=apply))
    rate = round(n / secs, 1)
    print(f"server-side applies: {n} in {secs:.2f}s = {n / secs:.0f}/s ({rate / patches_per_s:.2f} of merge patches/s)")
    return {"applies_per_s": rate, "applies_over_patches": round(rate / patches_per_s, 2)}


async def bench_apply_only(master: MasterProcess, token: str) -> dict[str, Any]:
    """``--apply``: creates, merge patches/s and server-side applies/s of the same pods, in one run."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=master.url, headers=headers, timeout=30, verify=master.tls()) as c:
        await c.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": "bench"}}))
        base, n = "/api/v1/namespaces/bench/pods", int(1000 * SCALE)
        await run_many(c, n, lambda i: c.post(base, content=pod(f"p{i}")))
        merge = {"content-type": "application/merge-patch+json"}
        secs = await run_many(c, n, lambda i: c.patch(f"{base}/p{i}", content=b'{"metadata":{"labels":{"v":"2"}}}', headers=merge))
        patches = round(n / secs, 1)
        print(f"merge patches: {n} in {secs:.2f}s = {n / secs:.0f}/s")
        return {"patches_per_s": patches, **await bench_applies(c, base, n, patches)}


async def bench_pages(c: httpx.AsyncClient, path: str, *, rounds: int = 20) -> dict[str, Any]:
    """One page of 500 (what kubectl asks by default) out of the 10,000 pods at ``path``.

    ``page_500_first``: the first page, cut from the current objects. ``page_500_continued``:
    the page after it, asked once more writes have landed than there are pods on a page,
    so the server rebuilds the snapshot from watch history (master/apiserver/paging.py).
    """
    figures: dict[str, Any] = {}
    first_times, later_times = [], []
    for i in range(rounds):
        t = time.perf_counter()
        r = await c.get(path, params={"limit": "500"})
        first = orjson.loads(r.content)
        first_times.append(time.perf_counter() - t)
        for j in range(25):  # writes after the first page: later pages must undo them
            await c.patch(f"{path}/q{(i * 25 + j) % 10000}", content=b'{"metadata":{"labels":{"paged":"%d"}}}' % i,
                          headers={"content-type": "application/merge-patch+json"})  # fmt: skip
        t = time.perf_counter()
        r = await c.get(path, params={"limit": "500", "continue": first["metadata"]["continue"]})
        later = orjson.loads(r.content)
        later_times.append(time.perf_counter() - t)
        assert len(first["items"]) == len(later["items"]) == 500, r.text[:200]
    remaining = first["metadata"].get("remainingItemCount")
    for label, times in (("page_500_first", first_times), ("page_500_continued", later_times)):
        figures[label] = {**summary_ms(times), "items": 500, "of": 500 + (remaining or 0)}
        print(f"{label} of {500 + (remaining or 0)}: p50 {figures[label]['p50_ms']} ms, p99 {figures[label]['p99_ms']} ms")
    return figures


async def bench_pages_only(master: MasterProcess, token: str, pods: int) -> dict[str, Any]:
    """``run.py --pages [N]``: only the paging figures, over N pods (10,000 unless given)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=master.url, headers=headers, timeout=30, limits=limits, verify=master.tls()) as c:
        await c.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": "big"}}))
        await run_many(c, pods, lambda i: c.post("/api/v1/namespaces/big/pods", content=pod(f"q{i}", "big")))
        times = []
        for _ in range(10):  # the full list beside the pages, on the same machine at the same load
            t = time.perf_counter()
            body = (await c.get("/api/v1/namespaces/big/pods")).content
            times.append(time.perf_counter() - t)
        figures: dict[str, Any] = {f"list_{pods}": {**summary_ms(times), "bytes": len(body)}}
        print(f"list_{pods}: p50 {figures[f'list_{pods}']['p50_ms']} ms, p99 {figures[f'list_{pods}']['p99_ms']} ms")
        return {**figures, **await bench_pages(c, "/api/v1/namespaces/big/pods")}


async def bench_watch(master: MasterProcess, headers: dict[str, str]) -> dict[str, Any]:
    """100 watchers on one namespace; each write's ack time vs each watcher's arrival time."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    watch_writes = max(20, int(WATCH_WRITES * SCALE))
    limits = httpx.Limits(max_connections=WATCHERS + 10, max_keepalive_connections=WATCHERS + 10)
    async with httpx.AsyncClient(base_url=master.url, headers=headers, timeout=None, limits=limits, verify=master.tls()) as c:
        await c.post("/api/v1/namespaces", content=orjson.dumps({"metadata": {"name": "wbench"}}))
        rv = (await c.get("/api/v1/namespaces/wbench/pods")).json()["metadata"]["resourceVersion"]
        ready = asyncio.Event()
        started = 0

        async def watcher() -> None:
            nonlocal started
            seen = 0
            async with c.stream("GET", "/api/v1/namespaces/wbench/pods", params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "120"}) as r:
                started += 1
                if started == WATCHERS:
                    ready.set()
                async for line in r.aiter_lines():
                    if not line:
                        continue
                    now = time.perf_counter()
                    name = orjson.loads(line)["object"]["metadata"]["name"]
                    latencies.append(now - sent.get(name, now))
                    seen += 1
                    if seen >= watch_writes:
                        return

        tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.5)
        for i in range(watch_writes):
            name = f"w{i}"
            # the clock starts when the request is sent; the event can arrive before the ack is read
            sent[name] = time.perf_counter()
            r = await c.post("/api/v1/namespaces/wbench/pods", content=pod(name, "wbench"))
            assert r.status_code == 201, r.text
            await asyncio.sleep(0.02)  # 50 writes/s: latency, not saturation
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    result = {**summary_ms(latencies), "watchers": WATCHERS, "writes": watch_writes}
    print(f"watch latency, {WATCHERS} watchers x {watch_writes} writes: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    return result


def wrk(master: MasterProcess, script: str, *args: str, seconds: int = 5) -> dict[str, float]:
    """Run wrk with one of our Lua scripts; its done() prints a KT-RESULT line."""
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(HERE / script), master.url, "--", *args],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("KT-RESULT"))
    fields = dict(kv.split("=") for kv in line.split()[1:])
    n, secs = float(fields["requests"]), float(fields["seconds"])
    return {
        "per_s": round(n / secs, 1),
        "requests": int(n),
        "errors": int(fields["errors"]),
        "p50_ms": round(int(fields["p50_us"]) / 1000, 2),
        "p99_ms": round(int(fields["p99_us"]) / 1000, 2),
    }


def bench_wrk(master: MasterProcess, token: str) -> dict[str, Any]:
    client = master.client()
    client.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "wrk"}})
    creates = wrk(master, "wrk_post.lua", token, "wrk")
    print(f"wrk creates: {creates['per_s']:.0f}/s (p50 {creates['p50_ms']} ms, p99 {creates['p99_ms']} ms, errors {creates['errors']})")
    gets = wrk(master, "wrk_get.lua", token, "/api/v1/namespaces/wrk/pods/w1-10")  # wrk spends request 1 on a dry run
    print(f"wrk gets:    {gets['per_s']:.0f}/s (p50 {gets['p50_ms']} ms, p99 {gets['p99_ms']} ms, errors {gets['errors']})")
    return {"wrk_creates": creates, "wrk_gets": gets}


def bench_managed_fields_cpu(n: int = 2000) -> dict[str, Any]:
    """In this process, no HTTP: CPU of a whole merge patch of a pod, and of its managedFields step alone."""
    from kajitori.api.registry import by_path
    from master.apiserver.managed_fields import Writer, track_update
    from master.apiserver.resources import ResourceAPI
    from master.bootstrap import ensure_defaults
    from master.store import SQLiteStore

    pods = by_path("", "v1", "pods")
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-mf-") as work:
        store = SQLiteStore(Path(work) / "state.db")
        try:
            api = ResourceAPI(store)
            ensure_defaults(api, advertise_ip="127.0.0.1", port=6443)
            old = api.create(pods, "default", orjson.loads(pod("m", "default")), manager="bench")
            start = time.process_time()
            for i in range(n):
                new = api.patch(pods, "default", "m", "application/merge-patch+json", {"metadata": {"labels": {"v": str(i)}}}, manager="patcher")
            patch_us = (time.process_time() - start) / n * 1e6
        finally:
            store.close()
    start = time.process_time()
    for i in range(n):
        changed = {**new, "metadata": {**new["metadata"], "labels": {**new["metadata"]["labels"], "v": f"x{i}"}}}
        track_update(pods, "m", old, changed, Writer("patcher", "2026-01-01T00:00:00Z"))
    step_us = (time.process_time() - start) / n * 1e6
    print(f"merge patch in process: {patch_us:.0f} µs of CPU, of which the managedFields step {step_us:.0f} µs")
    return {"merge_patch_us": round(patch_us), "managed_fields_step_us": round(step_us), "step_share": round(step_us / patch_us, 2)}


def bench_store(store: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"kajitori-bench-{store}-"))
    etcd = EtcdProcess(work / "etcd").start() if store == "etcd" else None
    args = ["--no-controllers", *(["--store", "etcd", "--etcd-servers", etcd.url] if etcd else [])]
    print(f"== store: {store}")
    master = MasterProcess(work / "master", extra_args=args).start()
    try:
        token = master.client().config.token or ""
        figures: dict[str, Any] = {}
        if "--pages" in sys.argv:
            rest = sys.argv[sys.argv.index("--pages") + 1 :]
            figures["python_client"] = asyncio.run(bench_pages_only(master, token, int(rest[0]) if rest else 10_000))
            write_result("api_pages", figures)
            return figures
        if "--apply" in sys.argv:
            figures["python_client"] = asyncio.run(bench_apply_only(master, token))
            return figures
        if shutil.which("wrk"):
            figures.update(bench_wrk(master, token))
        else:
            print("wrk not found (scripts/ensure-bench-tools.sh installs it): server capacity not measured")
        figures["python_client"] = asyncio.run(bench(master, token))
    finally:
        master.stop()
        if etcd is not None:
            etcd.stop()
    return figures


def ratios(sqlite: dict[str, Any], etcd: dict[str, Any]) -> dict[str, float]:
    """etcd / SQLite for rates (1 = as fast), and for latencies (1 = as quick; > 1 slower)."""
    pairs = {
        "creates_per_s": ("python_client", "creates_per_s"),
        "gets_per_s": ("python_client", "gets_per_s"),
        "patches_per_s": ("python_client", "patches_per_s"),
        "applies_per_s": ("python_client", "applies_per_s"),
        "list_10000_p50": ("python_client", "list_10000", "p50_ms"),
        "watch_p99": ("python_client", "watch", "p99_ms"),
        "wrk_creates_per_s": ("wrk_creates", "per_s"),
        "wrk_gets_per_s": ("wrk_gets", "per_s"),
    }
    out: dict[str, float] = {}
    for name, path in pairs.items():
        a: Any = sqlite
        b: Any = etcd
        for part in path:
            a, b = (a or {}).get(part), (b or {}).get(part)
        if a and b:
            out[name] = round(b / a, 2)
    return out


def main() -> None:
    global SCALE
    if "--scale" in sys.argv:
        SCALE = float(sys.argv[sys.argv.index("--scale") + 1])
    figures = {store: bench_store(store) for store in ("sqlite", "etcd")}
    if "--apply" in sys.argv:
        figures["in_process"] = bench_managed_fields_cpu()
        write_result("api_apply", figures)
        return
    figures["etcd_over_sqlite"] = ratios(figures["sqlite"], figures["etcd"])
    print("etcd / SQLite:", ", ".join(f"{k} {v}" for k, v in figures["etcd_over_sqlite"].items()))
    write_result("api", figures)


if __name__ == "__main__":
    main()

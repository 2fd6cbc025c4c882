"""bench/ingress: what the ingress controller costs a request, and how soon an Ingress change is served.

The rig of the integration tests (tests/support/ingress_rig.py): a real master, the
`kajitori ingress-controller` process, Debian's nginx in a container it starts, and two
nginx backends on a session-named Docker network. Throughput: requests/s through the
ingress (Host bench.test → app-a) against requests/s straight to app-a's address, each a
fixed number of seconds with wrk (8 keep-alive connections) if it is installed, else a
Python client with as many threads; and their ratio. Change → served: N times, a path
/change-i is added to the Ingress (PUT) and polled until app-b answers it; p50/p99 ms.
Traffic goes only to the rig's containers. Prints the figures with the load average,
writes bench/results/ingress.json; never asserts.

    .venv/bin/python bench/ingress/run.py [--seconds 5] [--changes 20]
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import summary_ms, write_result
from tests.support.ingress_rig import INGRESSES, answer, ingress_rig, post, rule, served

CONNECTIONS = 8


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wrk_rps(ip: str, host: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "-H", f"Host: {host}", f"http://{ip}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else float("nan")


def python_rps(ip: str, host: str, seconds: int) -> float:
    """Keep-alive GETs from CONNECTIONS threads for `seconds` (client-bound: compare ratios, not absolutes)."""
    counts = [0] * CONNECTIONS
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection(ip, 80, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", "/", headers={"Host": host})
            conn.getresponse().read()
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    rps = wrk_rps if shutil.which("wrk") else python_rps
    with tempfile.TemporaryDirectory(prefix="bench-ingress-") as tmp, ingress_rig(Path(tmp)) as rig:
        body: dict[str, Any] = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bench"},
                                "spec": {"rules": [rule("bench.test", ("/", "Prefix", "app-a"))]}}  # fmt: skip
        post(rig.http, INGRESSES, body)
        served(rig, "bench.test", "/", (200, "app-a /\n"))
        print(f"load average before: {load_average()}; client: {rps.__name__}")
        direct = rps(rig.backends["app-a"], "bench.test", args.seconds)
        through = rps(rig.nginx_ip, "bench.test", args.seconds)
        print(f"requests/s direct to the pod: {direct:,.0f}; through the ingress: {through:,.0f}; ratio {through / direct:.2f}")
        delays: list[float] = []
        for i in range(args.changes):
            current = rig.http.get(f"{INGRESSES}/bench").json()
            current["spec"]["rules"][0]["http"]["paths"].append(
                {"path": f"/change-{i}", "pathType": "Prefix", "backend": {"service": {"name": "app-b", "port": {"number": 80}}}}
            )
            started = time.perf_counter()
            r = rig.http.put(f"{INGRESSES}/bench", json=current)
            r.raise_for_status()
            give_up = started + 60
            while answer(rig, "bench.test", f"/change-{i}") != (200, f"app-b /change-{i}\n") and time.perf_counter() < give_up:
                time.sleep(0.005)
            delays.append(time.perf_counter() - started)
        changes = summary_ms(delays)
        print(f"Ingress change -> served: p50 {changes['p50_ms']} ms, p99 {changes['p99_ms']} ms (n={changes['n']})")
        print(f"load average after: {load_average()}")
    write_result("ingress", {
        "client": rps.__name__, "connections": CONNECTIONS, "seconds": args.seconds,
        "direct_rps": round(direct), "ingress_rps": round(through), "ratio": round(through / direct, 3),
        "change_to_served": changes, "load_average_after": load_average(),
    })  # fmt: skip


if __name__ == "__main__":
    main()

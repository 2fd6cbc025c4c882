"""bench/pod_startup/dockerd_floor.py: what dockerd alone needs to start N pods, without any agent.

Each "pod" is what the agent asks of dockerd at the least: create+start a pause container on
the test pod network, then create+start one busybox container joining its network and IPC
namespaces. Run all at once (N threads, a burst) and one after another (serial), it gives the
floor a node agent cannot beat on this machine: the burst's p50/p99 from t0 to the app
container started, and the per-step cost. Everything is labelled `io.kajitori.node=<node>` and
removed at the end.

    .venv/bin/python bench/pod_startup/dockerd_floor.py [--pods 30]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from agent.pod_sync import LABEL_NODE
from agent.runtime import LABEL_MANAGED, PAUSE_IMAGE
from bench.common import summary_ms
from tests.integration.agent.agent_process import (
    BUSYBOX,
    SLEEP_FOREVER,
    TEST_POD_NETWORK,
    remove_node_objects,
)

NODE = "bench-dockerd-floor"


def ensure_network(api: docker.APIClient) -> None:
    if not api.networks(names=[TEST_POD_NETWORK]):
        api.create_network(TEST_POD_NETWORK, driver="bridge", labels={"io.kajitori.network": "plain"})


def start_pod(api: docker.APIClient, t0: float, network: str = TEST_POD_NETWORK) -> dict[str, float]:
    """Start one pause + one joined container; seconds since `t0` at each step's end."""
    labels = {LABEL_MANAGED: "false", LABEL_NODE: NODE}
    name = uuid.uuid4().hex[:12]
    steps: dict[str, float] = {}
    begin = time.perf_counter()
    pause = api.create_container(
        PAUSE_IMAGE, name=f"floor_POD_{name}", labels=labels, detach=True,
        host_config=api.create_host_config(network_mode=network, ipc_mode="shareable"),
    )["Id"]  # fmt: skip
    api.start(pause)
    steps["sandbox_s"] = time.perf_counter() - begin
    joined = f"container:{pause}"
    begin = time.perf_counter()
    app = api.create_container(
        BUSYBOX, name=f"floor_main_{name}", labels=labels, detach=True,
        entrypoint=["sh", "-c", SLEEP_FOREVER],
        host_config=api.create_host_config(network_mode=joined, ipc_mode=joined),
    )["Id"]  # fmt: skip
    api.start(app)
    steps["container_s"] = time.perf_counter() - begin
    steps["done_s"] = time.perf_counter() - t0
    return steps


def run(
    api: docker.APIClient, pods: int, *, parallel: bool, concurrency: int = 0, network: str = TEST_POD_NETWORK
) -> dict[str, Any]:
    remove_node_objects(api, NODE)
    t0 = time.perf_counter()
    if parallel:
        with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency or pods) as pool:
            results = list(pool.map(lambda _: start_pod(api, t0, network), range(pods)))
    else:
        results = [start_pod(api, time.perf_counter(), network) for _ in range(pods)]
    total = time.perf_counter() - t0
    remove_node_objects(api, NODE)
    return {
        "pod_started": summary_ms([r["done_s"] for r in results]),
        "sandbox_create_start": summary_ms([r["sandbox_s"] for r in results]),
        "container_create_start": summary_ms([r["container_s"] for r in results]),
        "total_s": round(total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument(
        "--concurrency", type=int, nargs="*", default=[],
        help="Also run the burst with at most this many pods being started at once (several allowed).",
    )  # fmt: skip
    parser.add_argument(
        "--network", default=TEST_POD_NETWORK,
        help="Network of the sandboxes (default: the tests' user-defined bridge, as pods get; `bridge` or "
        "`none` show what the network part costs).",
    )  # fmt: skip
    parser.add_argument("--serial-only", action="store_true", help="Skip the burst runs.")
    args = parser.parse_args()
    api = docker.APIClient(version="1.41", max_pool_size=args.pods + 2)
    ensure_network(api)
    try:
        plans = [(False, 0)]
        if not args.serial_only:
            plans += [(True, 0)] + [(True, limit) for limit in args.concurrency]
        for parallel, limit in plans:
            figures = run(api, args.pods, parallel=parallel, concurrency=limit, network=args.network)
            how = (
                "one after another"
                if not parallel
                else "all at once"
                if not limit
                else f"at most {limit} at once"
            )
            print(
                f"dockerd only, network {args.network}, {args.pods} pods {how}: pod started p50 {figures['pod_started']['p50_ms']:.0f} ms, "
                f"p99 {figures['pod_started']['p99_ms']:.0f} ms; sandbox create+start p50 "
                f"{figures['sandbox_create_start']['p50_ms']:.0f} ms, joined container create+start p50 "
                f"{figures['container_create_start']['p50_ms']:.0f} ms; all in {figures['total_s']:.1f} s"
            )
    finally:
        remove_node_objects(api, NODE)
        api.close()


if __name__ == "__main__":
    main()

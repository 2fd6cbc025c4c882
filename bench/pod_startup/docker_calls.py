"""bench/pod_startup/docker_calls.py: how many Docker API requests the agent makes to start a pod.

Runs the node agent in this process on the real dockerd with a Docker client that counts
every HTTP request it sends (method and path, ids folded), against a real master. Pods are
created one at a time; each is counted from its create until it is seen Running and its
status writes have settled. Then the agent idles for one relist period, counted separately
(the cost of pods that run, per period). Prints the table and writes
bench/results/pod_startup_docker_calls.json.

    .venv/bin/python bench/pod_startup/docker_calls.py [--pods 5]
"""

from __future__ import annotations

import argparse
import collections
import functools
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from agent.agent import Agent
from agent.docker_runtime import DOCKER_API_VERSION, DockerRuntime
from agent.settings import AgentSettings
from bench.common import write_result
from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import (
    SLEEP_FOREVER,
    TEST_POD_NETWORK,
    make_pod,
    remove_node_objects,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess, free_port
from tests.support.node_identity import node_kubeconfig

NODE = "bench-calls-node"
_ID = re.compile(r"/[0-9a-f]{64}|/k8s_[^/]+|/kajitori/[^/]+|/sha256:[0-9a-f]+")


class CountingAPIClient(docker.APIClient):
    """A Docker client that counts its requests by `METHOD /path` (ids replaced by `{id}`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def _count(self, method: str, url: str) -> None:
        path = _ID.sub("/{id}", url.split("/v" + DOCKER_API_VERSION, 1)[-1].split("?")[0])
        with self._lock:
            self.calls[f"{method} {path}"] += 1

    def _get(self, url: str, **kwargs: Any) -> Any:
        self._count("GET", url)
        return super()._get(url, **kwargs)

    def _post(self, url: str, **kwargs: Any) -> Any:
        self._count("POST", url)
        return super()._post(url, **kwargs)

    def _delete(self, url: str, **kwargs: Any) -> Any:
        self._count("DELETE", url)
        return super()._delete(url, **kwargs)

    def take(self) -> collections.Counter[str]:
        with self._lock:
            taken, self.calls = self.calls, collections.Counter()
        return taken


def is_running(api: ApiClient, name: str) -> bool:
    return api.get(Pod, name, "default").status.phase == "Running"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pods", type=int, default=5)
    args = parser.parse_args()
    counting = CountingAPIClient(version=DOCKER_API_VERSION, max_pool_size=32)
    remove_node_objects(counting, NODE)
    per_pod: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-") as tmp:
        master = MasterProcess(Path(tmp) / "master", extra_args=["--no-controllers"]).start()
        settings = AgentSettings(
            kubeconfig=str(node_kubeconfig(master.data_dir, NODE, Path(tmp) / "node.kubeconfig", master.url)), node_name=NODE, node_ip="127.0.0.1",
            pods_root=Path(tmp) / "pods", network=TEST_POD_NETWORK, port=free_port(), cert_dir=Path(tmp) / "pki",
        )  # fmt: skip
        agent = Agent(settings, runtime=DockerRuntime(api=counting))
        api = master.client()
        try:
            agent.start()
            wait_for("informer synced", lambda: agent.informer.wait_synced(1.0))
            time.sleep(1.0)
            counting.take()
            for i in range(args.pods):
                name = f"calls-{i}"
                api.create(
                    make_pod(name, NODE, [shell("main", SLEEP_FOREVER)], terminationGracePeriodSeconds=1)
                )
                wait_for(f"{name} Running", functools.partial(is_running, api, name), interval=0.02)
                time.sleep(1.0)  # let the events of its start and the status write come back
                per_pod += counting.take()
            time.sleep(settings.relist_s)
            idle = counting.take()
        finally:
            agent.stop()
            api.close()
            master.stop()
            remove_node_objects(counting, NODE)
    total = sum(per_pod.values())
    print(
        f"Docker API requests per pod start (mean of {args.pods} pods, create -> Running + 1 s): {total / args.pods:.1f}"
    )
    for call, count in per_pod.most_common():
        print(f"  {count / args.pods:6.1f}  {call}")
    print(
        f"Docker API requests in one relist period ({settings.relist_s:g} s) with {args.pods} pods running: {sum(idle.values())}"
    )
    for call, count in idle.most_common():
        print(f"  {count:6d}  {call}")
    write_result(
        "pod_startup_docker_calls",
        {
            "pods": args.pods,
            "per_pod_start": round(total / args.pods, 1),
            "per_pod_start_by_call": {k: round(v / args.pods, 1) for k, v in per_pod.most_common()},
            "per_relist_period": sum(idle.values()),
            "per_relist_period_by_call": dict(idle.most_common()),
        },
    )


if __name__ == "__main__":
    main()

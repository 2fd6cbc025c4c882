"""Benchmark of the DaemonSet controller with hollow nodes: a node agent onto every node, then a rolling update.

A real `kajitori master` (every controller, the scheduler) runs on a loopback port with
its data in a temporary directory; a HollowCluster in this process registers ``--nodes``
nodes and reports the pods bound to them Running and Ready (kubemark's hollow kubelets,
no Docker). Then, ``--runs`` times:

1. rollout: a DaemonSet is created; the time until its status says every node has an
   available pod (``numberAvailable == nodes``), and when each pod was first seen bound
   and first seen ready (p50/p99 from the create);
2. update: the template's image changes with ``maxUnavailable`` ``--max-unavailable``;
   the time until every node runs an available pod of the new template, and the most
   nodes seen at once without a ready pod (from a watch of the pods);
3. the DaemonSet is deleted and its pods collected (time until none is left).

Prints the figures and writes bench/results/daemonset.json. No figure is asserted.

    .venv/bin/python bench/daemonset/run.py [--nodes 200] [--max-unavailable 10%] [--runs 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import percentile, write_result  # noqa: E402
from kajitori.api.apps import DaemonSet  # noqa: E402
from kajitori.api.core import Pod  # noqa: E402
from kajitori.client import ApiClient, NotFoundError  # noqa: E402
from kajitori.informer import Informer  # noqa: E402
from master.controllers.pod_state import is_active, is_ready  # noqa: E402
from master.hollow_nodes import HollowCluster  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

NAME = "bench-agent"


def daemonset(max_unavailable: str) -> DaemonSet:
    return DaemonSet.model_validate({
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": NAME}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": _int_or_percent(max_unavailable)}},
            "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [
                {"name": "agent", "image": "kajitori/busybox:1", "command": ["sleep", "3600"],
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}},
        },
    })  # fmt: skip


def _int_or_percent(value: str) -> int | str:
    return value if value.endswith("%") else int(value)


class PodTimes:
    """From one informer of the DaemonSet's pods: first time each was seen bound and ready, and the worst gap."""

    def __init__(self, client: ApiClient, nodes: set[str]) -> None:
        self.nodes = nodes
        self.bound_at: dict[str, float] = {}
        self.ready_at: dict[str, float] = {}
        self.most_unserved = 0
        self.watching_gaps = False
        self._lock = threading.Lock()
        self.informer = Informer(client, Pod, namespace="default", label_selector=f"app={NAME}")
        self.informer.add_handlers(self._seen, lambda _o, n: self._seen(n), lambda _p: self._gap())
        self.informer.start()
        self.informer.wait_synced(30)

    def _seen(self, pod: Pod) -> None:
        now = time.monotonic()
        with self._lock:
            if pod.spec.nodeName:
                self.bound_at.setdefault(pod.metadata.name or "", now)
            if is_ready(pod):
                self.ready_at.setdefault(pod.metadata.name or "", now)
        self._gap()

    def _gap(self) -> None:
        if not self.watching_gaps:
            return
        serving = {p.spec.nodeName for p in self.informer.list() if is_active(p) and is_ready(p)}
        with self._lock:
            self.most_unserved = max(self.most_unserved, len(self.nodes - serving))

    def stop(self) -> None:
        self.informer.stop()


def wait(what: str, check: Any, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} after {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - start


def one_run(client: ApiClient, nodes: set[str], max_unavailable: str) -> dict[str, Any]:
    count = len(nodes)
    times = PodTimes(client, nodes)
    created = time.monotonic()
    client.create(daemonset(max_unavailable))

    def all_available(image: str) -> bool:
        ds = client.get(DaemonSet, NAME, "default")
        s = ds.status
        return bool(
            (s.observedGeneration or 0) >= (ds.metadata.generation or 0)
            and s.desiredNumberScheduled == count
            and s.updatedNumberScheduled == count
            and s.numberAvailable == count
            and ds.spec.template.spec.containers[0].image == image
        )

    rollout_s = wait("every node with an available pod", lambda: all_available("kajitori/busybox:1"), 600)
    bound = [t - created for t in times.bound_at.values()]
    ready = [t - created for t in times.ready_at.values()]

    times.watching_gaps = True
    client.patch(DaemonSet, NAME, {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "kajitori/busybox:2"}]}}}}, "default")  # fmt: skip
    update_s = wait("every node on the new template", lambda: all_available("kajitori/busybox:2"), 900)
    most_unserved = times.most_unserved
    times.stop()

    client.delete(DaemonSet, NAME, "default")
    delete_s = wait("pods collected", lambda: not client.list(Pod, "default", label_selector=f"app={NAME}").items, 600)
    wait("DaemonSet gone", lambda: _gone(client), 60)
    return {
        "rollout_s": round(rollout_s, 2),
        "bound_p50_s": round(percentile(bound, 50), 2),
        "bound_p99_s": round(percentile(bound, 99), 2),
        "ready_p50_s": round(percentile(ready, 50), 2),
        "ready_p99_s": round(percentile(ready, 99), 2),
        "update_s": round(update_s, 2),
        "most_nodes_without_ready_pod": most_unserved,
        "delete_s": round(delete_s, 2),
    }


def _gone(client: ApiClient) -> bool:
    try:
        client.get(DaemonSet, NAME, "default")
    except NotFoundError:
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--max-unavailable", default="10%")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-ds-") as tmp:
        master = MasterProcess(Path(tmp) / "master").start()
        try:
            client = master.client()
            names = [f"hollow-{i:04d}" for i in range(args.nodes)]
            cluster = HollowCluster(client, names, lease_interval_s=5.0, status_interval_s=30.0,
                                    own_pod_cidrs=args.nodes > 250)  # fmt: skip
            cluster.register()
            cluster.start()
            try:
                for run in range(args.runs):
                    figures = one_run(client, set(names), args.max_unavailable)
                    runs.append(figures)
                    print(f"run {run + 1}: {args.nodes} nodes: all available {figures['rollout_s']} s "
                          f"(bound p50 {figures['bound_p50_s']} s / p99 {figures['bound_p99_s']} s, "
                          f"ready p99 {figures['ready_p99_s']} s); update with maxUnavailable {args.max_unavailable} "
                          f"{figures['update_s']} s, at most {figures['most_nodes_without_ready_pod']} node(s) without a "
                          f"ready pod; deleted and collected in {figures['delete_s']} s")  # fmt: skip
            finally:
                cluster.stop()
                client.close()
        finally:
            master.stop()
    write_result("daemonset", {"nodes": args.nodes, "max_unavailable": args.max_unavailable, "runs": runs})


if __name__ == "__main__":
    main()

"""Benchmark of the StatefulSet controller with hollow nodes: a Parallel StatefulSet with a claim per pod, to all Ready.

A real `kajitori master` (every controller, the scheduler) runs on a loopback port with its
data in a temporary directory; a HollowCluster in this process registers ``--nodes`` nodes and
reports the pods bound to them Running and Ready (no Docker). Then, ``--runs`` times:

1. a StatefulSet of ``--replicas`` pods, ``podManagementPolicy: Parallel``, one ``local-path``
   claim per pod (WaitForFirstConsumer: each is provisioned on the node its pod lands on,
   and the pod is bound once its claim is); the time until ``readyReplicas == replicas``, and
   when each pod was first seen ready (p50/p99 from the create);
2. the StatefulSet, its claims and their volumes are deleted (time until no claim is left).

Prints the figures and writes bench/results/statefulset.json. No figure is asserted.

    .venv/bin/python bench/statefulset/run.py [--nodes 20] [--replicas 100] [--runs 2]
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
from kajitori.api.apps import StatefulSet  # noqa: E402
from kajitori.api.core import Pod  # noqa: E402
from kajitori.api.storage import PersistentVolumeClaim  # noqa: E402
from kajitori.client import ApiClient  # noqa: E402
from kajitori.informer import Informer  # noqa: E402
from master.controllers.pod_state import is_ready  # noqa: E402
from master.hollow_nodes import HollowCluster  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

NAME = "bench-web"


def statefulset(replicas: int) -> StatefulSet:
    return StatefulSet.model_validate({
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {
            "serviceName": NAME, "replicas": replicas, "podManagementPolicy": "Parallel",
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
            "selector": {"matchLabels": {"app": NAME}},
            "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [
                {"name": "web", "image": "nginx:1.22", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                 "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    })  # fmt: skip


def wait(what: str, check: Any, timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - start


def one_run(client: ApiClient, replicas: int) -> dict[str, Any]:
    ready_at: dict[str, float] = {}
    lock = threading.Lock()

    def seen(pod: Pod) -> None:
        if is_ready(pod):
            with lock:
                ready_at.setdefault(pod.metadata.name or "", time.monotonic())

    pods = Informer(client, Pod, namespace="default", label_selector=f"app={NAME}")
    pods.add_handlers(seen, lambda _o, n: seen(n))
    pods.start()
    pods.wait_synced(30)
    created = time.monotonic()
    client.create(statefulset(replicas), "default")
    all_ready_s = wait("all ready", lambda: client.get(StatefulSet, NAME, "default").status.readyReplicas == replicas, 900)
    pods.stop()
    ready = [t - created for t in ready_at.values()]
    client.delete(StatefulSet, NAME, "default")
    deleted_s = wait("claims collected", lambda: not client.list(PersistentVolumeClaim, "default").items, 900)
    return {
        "all_ready_s": round(all_ready_s, 2),
        "ready_p50_s": round(percentile(ready, 50), 2),
        "ready_p99_s": round(percentile(ready, 99), 2),
        "claims_collected_s": round(deleted_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-sts-") as tmp:
        master = MasterProcess(Path(tmp) / "master").start()
        try:
            client = master.client()
            cluster = HollowCluster(client, [f"hollow-{i:03d}" for i in range(args.nodes)], lease_interval_s=5.0, status_interval_s=30.0)
            cluster.register()
            cluster.start()
            try:
                for run in range(args.runs):
                    figures = one_run(client, args.replicas)
                    runs.append(figures)
                    print(f"run {run + 1}: {args.replicas} pods with a claim each on {args.nodes} nodes: all ready "
                          f"{figures['all_ready_s']} s (ready p50 {figures['ready_p50_s']} s / p99 {figures['ready_p99_s']} s); "
                          f"claims collected {figures['claims_collected_s']} s after the delete")  # fmt: skip
            finally:
                cluster.stop()
                client.close()
        finally:
            master.stop()
    write_result("statefulset", {"nodes": args.nodes, "replicas": args.replicas, "runs": runs})


if __name__ == "__main__":
    main()

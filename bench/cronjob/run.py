"""Benchmark of the CronJob controller's start lag, beside a plain Job's as the floor.

A real `kajitori master` (every controller, the scheduler, the CronJob controller on the real
clock) runs on a loopback port with its data in a temporary directory; a HollowCluster in this
process registers ``--nodes`` nodes whose pods end 0.2 s after they start (no Docker). Then:

1. ``--cronjobs`` CronJobs with ``* * * * *`` are created; at the next minute of the clock each
   makes a Job. For each first Job: how long after its scheduled minute a watch saw it
   created (the controller's start lag) and Complete;
2. as the floor, at the same time the same number of plain Jobs are created directly: how
   long after their create a watch saw them Complete (the Job controller, scheduler and
   node alone).

The CronJob's extra cost is the difference of the two ``complete`` figures. Bounded: one
minute boundary (at most 60 s of waiting) and ``--timeout`` for the rest. Prints the figures
and writes bench/results/cronjob.json. No figure is asserted.

    .venv/bin/python bench/cronjob/run.py [--nodes 5] [--cronjobs 20]
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

from bench.common import summary_ms, write_result  # noqa: E402
from kajitori.api.batch import CronJob, Job  # noqa: E402
from kajitori.client import ApiClient  # noqa: E402
from kajitori.informer import Informer  # noqa: E402
from master.hollow_nodes import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION, HollowCluster  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402

TEMPLATE = {
    "metadata": {"annotations": {EXIT_CODE_ANNOTATION: "0", RUN_SECONDS_ANNOTATION: "0.2"}},
    "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "kajitori/busybox:1"}]},
}


def cronjob(name: str) -> CronJob:
    return CronJob.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"metadata": {"labels": {"bench": "cron"}},
                                                          "spec": {"backoffLimit": 0, "template": TEMPLATE}}},
    })  # fmt: skip


def plain_job(name: str) -> Job:
    return Job.model_validate({
        "metadata": {"name": name, "namespace": "default", "labels": {"bench": "plain"}},
        "spec": {"backoffLimit": 0, "template": TEMPLATE},
    })  # fmt: skip


class JobTimes:
    """When a watch first saw each Job, and first saw it Complete (wall-clock seconds)."""

    def __init__(self, client: ApiClient) -> None:
        self.lock = threading.Lock()
        self.added: dict[str, float] = {}
        self.complete: dict[str, float] = {}
        self.labels: dict[str, str] = {}
        self.informer: Informer[Job] = Informer(client, Job, namespace="default")
        self.informer.add_handlers(self._seen, lambda _old, new: self._seen(new))
        self.informer.start()
        self.informer.wait_synced(30)

    def _seen(self, job: Job) -> None:
        now, name = time.time(), job.metadata.name or ""
        with self.lock:
            self.added.setdefault(name, now)
            self.labels[name] = (job.metadata.labels or {}).get("bench", "")
            if job.status.finished() == "Complete":
                self.complete.setdefault(name, now)

    def count_complete(self, label: str) -> int:
        with self.lock:
            return sum(1 for name in self.complete if self.labels.get(name) == label)


def wait(what: str, check: Any, timeout: float) -> None:
    give_up = time.monotonic() + timeout
    while not check():
        if time.monotonic() > give_up:
            raise SystemExit(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--cronjobs", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120.0, help="Seconds to wait for the Jobs after the minute.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kajitori-bench-cron-") as tmp:
        master = MasterProcess(Path(tmp) / "master").start()
        try:
            client = master.client()
            cluster = HollowCluster(client, [f"hollow-{i:03d}" for i in range(args.nodes)])
            cluster.register()
            cluster.start()
            times = JobTimes(client)
            try:
                for i in range(args.cronjobs):
                    client.create(cronjob(f"tick-{i:03d}"), "default")
                # Wait for the minute, then start the plain Jobs as the CronJobs' Jobs start.
                minute = (int(time.time()) // 60 + 1) * 60
                print(f"{args.cronjobs} CronJobs created; waiting {minute - time.time():.0f} s for the next minute")
                time.sleep(max(0.0, minute - time.time()))
                plain_started = time.time()
                for i in range(args.cronjobs):
                    client.create(plain_job(f"plain-{i:03d}"), "default")
                wait("the CronJobs' first Jobs Complete", lambda: times.count_complete("cron") >= args.cronjobs, args.timeout)
                wait("the plain Jobs Complete", lambda: times.count_complete("plain") >= args.cronjobs, args.timeout)
                with times.lock:
                    # A CronJob's Job is named after its minute: <cronjob>-<minute / 60>.
                    first = [n for n, label in times.labels.items() if label == "cron" and n.endswith(f"-{minute // 60}")]
                    created = [times.added[n] - minute for n in first]
                    cron_done = [times.complete[n] - minute for n in first if n in times.complete]
                    plain_done = [t - plain_started for n, t in times.complete.items() if times.labels.get(n) == "plain"]
                times.informer.stop()
            finally:
                cluster.stop()
                client.close()
        finally:
            master.stop()
    # Times come from the API's timestamps (whole seconds in creationTimestamp, as Kubernetes
    # writes them; completionTime likewise): the figures have a second's resolution.
    figures = {
        "nodes": args.nodes,
        "cronjobs": args.cronjobs,
        "cron_job_created_after_minute": summary_ms(created),
        "cron_job_complete_after_minute": summary_ms(cron_done),
        "plain_job_complete_after_create": summary_ms(plain_done),
    }
    print(f"CronJob's Job created after its minute: p50 {figures['cron_job_created_after_minute']['p50_ms']:.0f} ms, "
          f"max {figures['cron_job_created_after_minute']['max_ms']:.0f} ms (n={len(created)})")  # fmt: skip
    print(f"Complete after the minute: CronJob's Job p50 {figures['cron_job_complete_after_minute']['p50_ms']:.0f} ms / "
          f"p99 {figures['cron_job_complete_after_minute']['p99_ms']:.0f} ms; plain Job after its create (the floor) "
          f"p50 {figures['plain_job_complete_after_create']['p50_ms']:.0f} ms / p99 {figures['plain_job_complete_after_create']['p99_ms']:.0f} ms")  # fmt: skip
    write_result("cronjob", figures)


if __name__ == "__main__":
    main()

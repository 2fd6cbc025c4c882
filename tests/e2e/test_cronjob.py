"""batch/v1 CronJobs on the real lab, as a tutorial does it: `kubectl create cronjob hello
--image=kajitori/busybox:1 --schedule="* * * * *" -- sh -c 'echo hello-from-$((6*7))'`; at the
next minute the CronJob controller creates a Job named after the scheduled minute, its pod runs
on a node and `kubectl logs job/NAME` prints what it wrote; `kubectl get cronjob` shows the LAST
SCHEDULE. The lag from the scheduled minute to the Job and to its pod's end is printed
(bench/cronjob measures it over many CronJobs). The CronJob and its Jobs are deleted at the end.

The wait is for the next minute boundary of the master's clock: up to a minute, on a condition."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from kajitori.api.batch import CRONJOB_SCHEDULED_TIMESTAMP, CronJob, Job
from kajitori.client import ApiClient, NotFoundError
from kajitori.clock import parse_time
from tests.e2e.lab_access import wait_for_value
from tests.e2e.test_streams import kubectl

pytestmark = pytest.mark.e2e

NAME = "e2e-hello"
NAMESPACE = "default"


def owned_jobs(api: ApiClient) -> list[Job]:
    return [
        j for j in api.list(Job, NAMESPACE).items
        if any(r.kind == "CronJob" and r.name == NAME and r.controller for r in j.metadata.ownerReferences or [])
    ]  # fmt: skip


def _delete(api: ApiClient) -> None:
    try:
        api.delete(CronJob, NAME, NAMESPACE, propagation_policy="Background")
    except NotFoundError:
        pass


@pytest.fixture
def hello(lab_api: ApiClient) -> Iterator[ApiClient]:
    _delete(lab_api)  # left over from an interrupted run
    wait_for_value("earlier e2e CronJob's Jobs gone", lambda: not owned_jobs(lab_api), timeout_s=60)
    yield lab_api
    _delete(lab_api)
    wait_for_value("the CronJob's Jobs collected", lambda: not owned_jobs(lab_api), timeout_s=90)


def test_kubectl_create_cronjob_runs_a_job_each_minute_and_its_logs_are_kept(hello: ApiClient) -> None:
    made = subprocess.run(
        [*kubectl(), "create", "cronjob", NAME, "--image=kajitori/busybox:1", "--schedule=* * * * *",
         "--", "sh", "-c", "echo hello-from-$((6*7))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"cronjob.batch/{NAME} created"

    # The next minute boundary, plus the time to run: the first Job Complete.
    def complete() -> Job | None:
        done = [j for j in owned_jobs(hello) if j.status.finished() == "Complete"]
        return done[0] if done else None

    job = wait_for_value("a Job of the CronJob Complete", complete, timeout_s=150)
    scheduled = parse_time((job.metadata.annotations or {})[CRONJOB_SCHEDULED_TIMESTAMP])
    created = parse_time(job.metadata.creationTimestamp or "")
    finished = parse_time(job.status.completionTime or "")
    assert scheduled is not None and created is not None and finished is not None
    assert scheduled % 60 == 0 and job.metadata.name == f"{NAME}-{int(scheduled) // 60}"
    print(f"\nCronJob {NAME}: Job created {created - scheduled:.1f} s after its minute, Complete after {finished - scheduled:.1f} s")

    logs = subprocess.run([*kubectl(), "logs", f"job/{job.metadata.name}"], capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip() == "hello-from-42"

    def succeeded() -> CronJob | None:
        current = hello.get(CronJob, NAME, NAMESPACE)
        return current if current.status.lastSuccessfulTime else None

    cj = wait_for_value("the CronJob's status", succeeded, timeout_s=30)
    assert cj.status.lastScheduleTime is not None
    table = subprocess.run([*kubectl(), "get", "cronjob", NAME], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"] or header.split()[:3] == ["NAME", "SCHEDULE", "SUSPEND"]
    assert row.split()[0] == NAME and row.split()[-2] != "<none>"  # LAST SCHEDULE, before AGE

"""batch/v1 Jobs on the real lab: a Job of busybox echoing a sum completes, and
`kajitori logs` prints what its pod wrote (by pod name and as job/NAME); a Job whose
container exits 1 with backoffLimit 1 runs twice and ends Failed (BackoffLimitExceeded).
Every Job is deleted at the end, its pods with it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori.api.batch import Job
from kajitori.api.core import Pod
from kajitori.client import ApiClient, NotFoundError
from lab.failover import wait_until
from tests.e2e.conftest import ADMIN_KUBECONFIG, ROOT

pytestmark = pytest.mark.e2e

KAJITORI = str(ROOT / ".venv/bin/kajitori")
NAMESPACE = "default"
ANSWER = "e2e-job-answer"
FAILING = "e2e-job-fails"


def job_manifest(name: str, command: str, **spec: Any) -> Job:
    """A Job as users write it (no selector, no labels: the server adds them)."""
    return Job.model_validate({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "kajitori/busybox:1", "command": ["sh", "-c", command]}]}}},
    })  # fmt: skip


def finished(api: ApiClient, name: str) -> str | None:
    return api.get(Job, name, NAMESPACE).status.finished()


def job_pods(api: ApiClient, name: str) -> list[Pod]:
    return api.list(Pod, NAMESPACE, label_selector=f"job-name={name}").items


def kajitori(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAJITORI, *args, "--kubeconfig", str(ADMIN_KUBECONFIG)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)  # fmt: skip


@pytest.fixture
def jobs(lab_api: ApiClient) -> Iterator[ApiClient]:
    def remove() -> None:
        for name in (ANSWER, FAILING):
            try:
                lab_api.delete(Job, name, NAMESPACE, propagation_policy="Background")
            except NotFoundError:
                pass

    remove()  # left over from an interrupted run
    wait_until("earlier e2e Jobs gone", lambda: not job_pods(lab_api, ANSWER) and not job_pods(lab_api, FAILING), timeout_s=60)
    yield lab_api
    remove()
    wait_until("the e2e Jobs' pods collected", lambda: not job_pods(lab_api, ANSWER) and not job_pods(lab_api, FAILING), timeout_s=90)


def test_a_job_runs_to_completion_and_its_pod_keeps_its_logs(jobs: ApiClient, lab: Path) -> None:
    jobs.create(job_manifest(ANSWER, "echo done-$((6*7))"))
    wait_until(f"{ANSWER} finished", lambda: finished(jobs, ANSWER) is not None, timeout_s=120)
    job = jobs.get(Job, ANSWER, NAMESPACE)
    assert job.status.finished() == "Complete", job.status.to_dict()
    assert (job.status.succeeded, job.status.failed, job.status.active) == (1, None, None)
    pods = job_pods(jobs, ANSWER)
    assert [p.status.phase for p in pods] == ["Succeeded"]
    by_pod = kajitori("logs", pods[0].metadata.name or "")
    assert by_pod.returncode == 0, by_pod.stderr
    assert by_pod.stdout.strip() == "done-42"
    by_job = kajitori("logs", f"job/{ANSWER}")
    assert by_job.returncode == 0, by_job.stderr
    assert by_job.stdout.strip() == "done-42"
    listed = kajitori("get", "jobs")
    assert listed.returncode == 0, listed.stderr
    row = next(line.split() for line in listed.stdout.splitlines() if line.startswith(ANSWER))
    assert row[1] == "1/1"


def test_a_job_failing_past_its_backoff_limit_ends_failed(jobs: ApiClient, lab: Path) -> None:
    jobs.create(job_manifest(FAILING, "echo trying; exit 1", backoffLimit=1))
    # Two tries with Kubernetes' 10 s backoff between them.
    wait_until(f"{FAILING} finished", lambda: finished(jobs, FAILING) is not None, timeout_s=180)
    job = jobs.get(Job, FAILING, NAMESPACE)
    failed = job.status.condition("Failed")
    assert failed is not None and (failed.status, failed.reason) == ("True", "BackoffLimitExceeded"), job.status.to_dict()
    assert (job.status.failed, job.status.succeeded) == (2, None)
    assert [p.status.phase for p in job_pods(jobs, FAILING)] == ["Failed", "Failed"]

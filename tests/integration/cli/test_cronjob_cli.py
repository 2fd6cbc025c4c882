"""`kajitori create cronjob`, `get cronjobs`, `describe cronjob`, `create job --from=cronjob/X`,
and the same with kubectl 1.33 (protobuf bodies), against the shared master (no controllers):
what the server stored and what the tables say."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.batch import CRONJOB_INSTANTIATE, CronJob, Job
from kajitori.client import ApiClient
from tests.integration.api.test_kubectl_protobuf import run, version
from tests.support.master_process import MasterProcess

__all__ = ["version"]  # the kubectl-version fixture, found here by name

pytestmark = pytest.mark.integration


def test_create_get_describe_cronjob_and_a_job_from_it(kj: Any, api: ApiClient, ns: str) -> None:
    made = kj("create", "cronjob", "hello", "--image=busybox", "--schedule=*/1 * * * *", "-n", ns, "--", "date")
    assert made.exit_code == 0, made.output
    assert made.stdout == "cronjob.batch/hello created\n"
    cj = api.get(CronJob, "hello", ns)
    assert cj.spec.schedule == "*/1 * * * *"
    assert (cj.spec.concurrencyPolicy, cj.spec.successfulJobsHistoryLimit, cj.spec.failedJobsHistoryLimit) == ("Allow", 3, 1)
    pod_spec = cj.spec.jobTemplate.spec.template.spec
    assert pod_spec.restartPolicy == "OnFailure"
    assert [(c.name, c.image, c.command) for c in pod_spec.containers] == [("hello", "busybox", ["date"])]

    table = kj("get", "cronjobs", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert table[1].split()[:8] == ["hello", "*/1", "*", "*", "*", "*", "<none>", "False"]
    assert kj("get", "cj", "-n", ns, "-o", "name").stdout.split() == ["cronjob.batch/hello"]

    described = kj("describe", "cronjob", "hello", "-n", ns).stdout
    for line in ("Schedule:", "*/1 * * * *", "Concurrency Policy:", "Allow", "Successful Job History Limit:", "Active Jobs:"):
        assert line in described, described

    job = kj("create", "job", "now", "--from=cronjob/hello", "-n", ns)
    assert job.exit_code == 0, job.output
    assert job.stdout == "job.batch/now created\n"
    stored = api.get(Job, "now", ns)
    assert (stored.metadata.annotations or {}).get(CRONJOB_INSTANTIATE) == "manual"
    ref = (stored.metadata.ownerReferences or [])[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("CronJob", "hello", cj.metadata.uid, True)
    assert stored.spec.template.spec.containers[0].command == ["date"]

    missing = kj("create", "job", "x", "--from=cronjob/nope", "-n", ns)
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_a_bad_schedule_is_refused_in_one_line(kj: Any, ns: str) -> None:
    bad = kj("create", "cronjob", "bad", "--image=busybox", "--schedule=every minute", "-n", ns)
    assert bad.exit_code == 1
    assert "spec.schedule" in bad.stderr and "Traceback" not in bad.stderr


def test_kubectl_creates_a_cronjob_and_a_job_from_it(master: MasterProcess, api: ApiClient, version: str) -> None:
    ns = f"cj-{version.replace('.', '-')}"
    out = lambda *args: run(master, version, *args).stdout.strip()  # noqa: E731
    assert out("create", "namespace", ns) == f"namespace/{ns} created"
    created = out("create", "cronjob", "tick", "-n", ns, "--image=busybox", "--schedule=*/1 * * * *", "--", "date")
    assert created == "cronjob.batch/tick created"
    cj = api.get(CronJob, "tick", ns)
    assert cj.spec.schedule == "*/1 * * * *"
    assert cj.spec.jobTemplate.spec.template.spec.restartPolicy == "OnFailure"
    table = out("get", "cronjobs", "-n", ns).splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert table[1].split()[:8] == ["tick", "*/1", "*", "*", "*", "*", "<none>", "False"]
    assert out("create", "job", "manual", "-n", ns, "--from=cronjob/tick") == "job.batch/manual created"
    job = api.get(Job, "manual", ns)
    assert (job.metadata.annotations or {}).get(CRONJOB_INSTANTIATE) == "manual"
    assert [r.name for r in job.metadata.ownerReferences or []] == ["tick"]
    assert "cronjob.batch/tick" in out("get", "all", "-n", ns)
    refused = run(master, version, "create", "cronjob", "bad", "-n", ns, "--image=busybox", "--schedule=61 * * * *", check=False)
    assert refused.returncode != 0 and "spec.schedule" in refused.stderr

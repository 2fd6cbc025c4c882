"""The objects `create job` and `create cronjob` generate, and the CronJob table row: pure functions, no server."""

from __future__ import annotations

import pytest

from cli.generators import cronjob_for, job_for, job_from_cronjob
from cli.session import CliError
from kajitori.api.batch import CRONJOB_INSTANTIATE, CronJob, Job
from kajitori.clock import format_time
from kajitori.tables import headers_for, row_for


def test_cronjob_is_kubectls_and_valid() -> None:
    cj = cronjob_for("hello", "busybox", "*/1 * * * *", command=["date"])
    template = cj["spec"]["jobTemplate"]["spec"]["template"]
    assert template["spec"] == {
        "containers": [{"image": "busybox", "name": "hello", "resources": {}, "command": ["date"]}],
        "restartPolicy": "OnFailure",
    }
    CronJob.model_validate(cj)
    with pytest.raises(CliError, match="schedule"):
        cronjob_for("hello", "busybox", None)
    with pytest.raises(CliError, match="restart"):
        cronjob_for("hello", "busybox", "@daily", restart="Always")


def test_job_from_cronjob_runs_its_template_owned_and_marked_manual() -> None:
    cj = cronjob_for("hello", "busybox", "@hourly")
    cj["metadata"].update(namespace="team", uid="u1")
    cj["spec"]["jobTemplate"]["metadata"] = {"labels": {"app": "hello"}, "annotations": {"note": "x"}}
    job = job_from_cronjob("now", cj)
    assert job["metadata"]["namespace"] == "team"
    assert job["metadata"]["labels"] == {"app": "hello"}
    assert job["metadata"]["annotations"] == {"note": "x", CRONJOB_INSTANTIATE: "manual"}
    assert job["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello", "uid": "u1", "controller": True, "blockOwnerDeletion": True}
    ]
    assert job["spec"] == cj["spec"]["jobTemplate"]["spec"]
    Job.model_validate(job)
    with pytest.raises(CliError, match="--image or --from"):
        job_for("x", None)
    assert job_for("x", "busybox")["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_cronjob_row_has_kubectls_columns() -> None:
    now = 1_700_000_000.0
    cj = cronjob_for("hello", "busybox", "0 9 * * *")
    cj["metadata"]["creationTimestamp"] = format_time(now - 3600)
    cj["spec"].update(timeZone="Asia/Tokyo", suspend=True)
    cj["status"] = {"active": [{"name": "hello-1"}], "lastScheduleTime": format_time(now - 90)}
    assert headers_for("CronJob", wide=False, with_namespace=False) == [
        "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"
    ]  # fmt: skip
    assert row_for("CronJob", cj, now, wide=False) == ["hello", "0 9 * * *", "Asia/Tokyo", "True", "1", "90s", "60m"]
    assert row_for("CronJob", cj, now, wide=True)[7:] == ["hello", "busybox", "<none>"]

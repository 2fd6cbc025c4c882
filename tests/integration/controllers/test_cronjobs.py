"""CronJobs against a real master with controllers and hollow nodes whose pods finish on cue.

The master runs with ``--cronjob-clock-speed 60``: the CronJob controller's clock runs a
minute per real second, so ``* * * * *`` starts a Job about every second without any
test waiting a real minute (the unit tests cover exact times with a fake clock). Every
wait is on a condition the cluster reaches, never on a time window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori.api.batch import CRONJOB_SCHEDULED_TIMESTAMP, CronJob, Job
from kajitori.api.core import Event
from kajitori.api.registry import by_model
from kajitori.client import ApiClient, ApiError
from kajitori.clock import parse_time
from master.hollow_nodes import EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION, HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_master(tmp_path: Path) -> Iterator[MasterProcess]:
    # Overrides conftest's: the CronJob controller's minute lasts a second.
    proc = MasterProcess(
        tmp_path / "master", extra_args=["--cronjob-clock-speed", "60", "--job-backoff", "0.2"]
    ).start()
    yield proc
    proc.stop()


def cronjob(name: str, *, run_s: float = 0.2, exit_code: int = 0, **spec: Any) -> CronJob:
    template = {
        "metadata": {
            "annotations": {EXIT_CODE_ANNOTATION: str(exit_code), RUN_SECONDS_ANNOTATION: str(run_s)}
        },
        "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "kajitori/busybox:1"}]},
    }
    return CronJob.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": {"backoffLimit": 0, "template": template}}, **spec},
    })  # fmt: skip


def jobs_of(client: ApiClient, cj: CronJob) -> list[Job]:
    return [
        j
        for j in client.list(Job, "default").items
        if any(r.uid == cj.metadata.uid and r.controller for r in j.metadata.ownerReferences or [])
    ]


def reasons(client: ApiClient, name: str) -> list[str]:
    return [
        e.reason or ""
        for e in client.list(Event, "default").items
        if e.involvedObject.kind == "CronJob" and e.involvedObject.name == name
    ]


def test_jobs_start_on_schedule_keep_the_history_limits_and_go_with_the_cronjob(
    client: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    hollow(["node-a"])
    cj = client.create(cronjob("tick", successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1))
    # Several runs succeeded and the oldest were deleted: the history is at most two Complete Jobs.
    wait_for(
        lambda: reasons(client, "tick").count("SuccessfulDelete") >= 2, timeout=60, what="old Jobs deleted"
    )
    status = client.get(CronJob, "tick", "default").status
    assert status.lastScheduleTime and status.lastSuccessfulTime
    done = [j for j in jobs_of(client, cj) if j.status.finished() == "Complete"]
    assert 1 <= len(done) <= 2
    job = done[0]
    scheduled = parse_time(job.metadata.annotations[CRONJOB_SCHEDULED_TIMESTAMP])  # type: ignore[index]
    assert scheduled is not None and job.metadata.name == f"tick-{int(scheduled) // 60}"
    assert job.metadata.labels and job.metadata.labels.get("app") == "tick"
    ref = job.metadata.ownerReferences[0]  # type: ignore[index]
    assert (ref.kind, ref.name, ref.controller) == ("CronJob", "tick", True)
    assert {"SuccessfulCreate", "SawCompletedJob"} <= set(reasons(client, "tick"))
    # Deleting the CronJob takes its Jobs with it (the garbage collector).
    client.delete(CronJob, "tick", "default")
    wait_for(lambda: not jobs_of(client, cj), timeout=60, what="the CronJob's Jobs collected")


def test_forbid_skips_while_a_job_runs(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    cj = client.create(cronjob("solo", run_s=600, concurrencyPolicy="Forbid"))
    wait_for(lambda: "JobAlreadyActive" in reasons(client, "solo"), timeout=60, what="a run skipped")
    assert len(jobs_of(client, cj)) == 1
    status = client.get(CronJob, "solo", "default").status
    assert [r.name for r in status.active or []] == [j.metadata.name for j in jobs_of(client, cj)]


def test_replace_deletes_the_running_job_for_the_next(
    client: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    hollow(["node-a"])
    cj = client.create(cronjob("fresh", run_s=600, concurrencyPolicy="Replace"))
    first = wait_for(lambda: jobs_of(client, cj), timeout=60, what="a first Job")[0].metadata.name
    wait_for(
        lambda: "SuccessfulDelete" in reasons(client, "fresh"), timeout=60, what="the first Job replaced"
    )
    wait_for(
        lambda: first not in {j.metadata.name for j in jobs_of(client, cj)},
        timeout=60,
        what="the first Job gone",
    )

    def replacement() -> list[str]:
        names = [r.name or "" for r in client.get(CronJob, "fresh", "default").status.active or []]
        return names if names and first not in names else []

    active = wait_for(replacement, timeout=60, what="a replacement active")
    assert len(active) == 1, "Replace keeps one Job running"


def test_a_bad_schedule_or_time_zone_is_refused_naming_the_field(client: ApiClient) -> None:
    for field, spec in (
        ("spec.schedule", {"schedule": "61 * * * *"}),
        ("spec.timeZone", {"timeZone": "Mars/Base"}),
    ):
        body = cronjob("bad").to_dict()
        body["spec"].update(spec)
        with pytest.raises(ApiError) as refused:
            client.create_raw(by_model(CronJob), body)
        assert refused.value.code == 422
        assert [c.get("field") for c in refused.value.causes] == [field], refused.value.causes

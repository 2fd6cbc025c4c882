"""The CronJob controller on a filled cache with a fake clock: which Job it starts, when, and what it deletes."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori import cron
from kajitori.api.batch import CRONJOB_SCHEDULED_TIMESTAMP, CronJob, Job
from kajitori.clock import FakeClock, format_time
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.cronjob import CronJobController, job_name, most_recent_unmet
from tests.support.present import present
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

UID = "cj-uid"
CREATED = cron.utc("2024-01-01T00:00:30+00:00")
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "hello"}},
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox:1"}]}}}}  # fmt: skip


def make_cronjob(*, status: dict[str, Any] | None = None, **spec: Any) -> CronJob:
    return CronJob.model_validate({
        "metadata": {"name": "hello", "namespace": "default", "uid": UID, "resourceVersion": "1", "creationTimestamp": format_time(CREATED)},
        "spec": {"schedule": "* * * * *", "jobTemplate": TEMPLATE, **spec},
        "status": status or {},
    })  # fmt: skip


def make_job(scheduled: float, finished: str | None = None, *, ended: float | None = None) -> Job:
    status: dict[str, Any] = {"startTime": format_time(scheduled + 1), "active": 1}
    if finished is not None:
        ended = ended if ended is not None else scheduled + 5
        status = {"startTime": format_time(scheduled + 1),
                  "conditions": [{"type": finished, "status": "True"}],
                  **({"completionTime": format_time(ended), "succeeded": 1} if finished == "Complete" else {"failed": 1})}  # fmt: skip
    name = job_name("hello", scheduled)
    return Job.model_validate({
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1",
                     "creationTimestamp": format_time(scheduled + 1),
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello", "uid": UID, "controller": True}]},
        "spec": {"template": TEMPLATE["spec"]["template"]},
        "status": status,
    })  # fmt: skip


def ref(scheduled: float) -> dict[str, str]:
    name = job_name("hello", scheduled)
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "namespace": "default",
        "name": name,
        "uid": f"uid-{name}",
    }


class Fixture:
    def __init__(self, cronjob: CronJob, *jobs: Job, now: float) -> None:
        self.clock = FakeClock(now)
        self.informers, self.client, self.recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
        ctx = LoopContext(
            client=self.client, informers=self.informers, recorder=self.recorder, clock=self.clock
        )
        self.controller = CronJobController(ctx)
        self.informers.informer(CronJob).add(cronjob)
        self.informers.informer(Job).add(*jobs)

    def reconcile(self) -> float | None:
        """Reconcile once; the requeue delay it asked for."""
        try:
            self.controller.reconcile("default/hello")
        except Requeue as again:
            return again.after_s
        return None

    def created(self) -> list[Job]:
        return [w[3] for w in self.client.writes if w[0] == "create"]

    def deleted(self) -> list[str]:
        return [w[2] for w in self.client.writes if w[0] == "delete"]

    def status(self) -> Any:
        written = [w[3] for w in self.client.writes if w[0] == "update_status"]
        assert written, "no status was written"
        return written[-1].status

    def reasons(self) -> list[str]:
        return [reason for _type, _name, reason, _message in self.recorder.events]


MINUTE1 = cron.utc("2024-01-01T00:01:00+00:00")


def test_before_the_first_time_nothing_starts_and_it_comes_back_then() -> None:
    f = Fixture(make_cronjob(), now=CREATED + 10)
    wait = f.reconcile()
    assert f.client.writes == []
    assert wait == pytest.approx(MINUTE1 - (CREATED + 10) + 0.1)


def test_at_the_time_the_job_starts_with_its_name_annotation_owner_and_status() -> None:
    f = Fixture(make_cronjob(), now=MINUTE1 + 2)
    wait = f.reconcile()
    [job] = f.created()
    assert job.metadata.name == f"hello-{int(MINUTE1) // 60}"
    assert job.metadata.annotations == {CRONJOB_SCHEDULED_TIMESTAMP: "2024-01-01T00:01:00Z"}
    assert job.metadata.labels == {"app": "hello"}
    owner = present(job.metadata.ownerReferences)[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("CronJob", "hello", UID, True)
    assert job.spec.template.spec.restartPolicy == "OnFailure"
    status = f.status()
    assert status.lastScheduleTime == "2024-01-01T00:01:00Z"
    assert [r.name for r in status.active] == [job.metadata.name]
    assert f.reasons() == ["SuccessfulCreate"]
    assert wait == pytest.approx(58.1)


def test_a_time_already_run_is_not_run_again() -> None:
    f = Fixture(
        make_cronjob(status={"lastScheduleTime": format_time(MINUTE1), "active": [ref(MINUTE1)]}),
        make_job(MINUTE1),
        now=MINUTE1 + 30,
    )
    f.reconcile()
    assert f.client.writes == []


def test_the_schedule_reads_in_its_time_zone() -> None:
    # 09:00 in Tokyo is 00:00 UTC: a CronJob made at 23:00 UTC runs an hour later, annotated in its zone.
    created = cron.utc("2023-12-31T23:00:00+00:00")
    cj = make_cronjob(schedule="0 9 * * *", timeZone="Asia/Tokyo")
    cj.metadata.creationTimestamp = format_time(created)
    f = Fixture(cj, now=cron.utc("2024-01-01T00:00:01+00:00"))
    f.reconcile()
    [job] = f.created()
    assert job.metadata.annotations == {CRONJOB_SCHEDULED_TIMESTAMP: "2024-01-01T09:00:00+09:00"}


def test_missed_times_start_only_the_most_recent() -> None:
    f = Fixture(make_cronjob(), now=MINUTE1 + 5 * 60 + 3)
    f.reconcile()
    assert [j.metadata.name for j in f.created()] == [job_name("hello", MINUTE1 + 5 * 60)]
    assert "TooManyMissedTimes" not in f.reasons()


def test_more_than_100_missed_times_warn_and_start_the_most_recent() -> None:
    now = MINUTE1 + 200 * 60 + 1
    f = Fixture(make_cronjob(), now=now)
    f.reconcile()
    assert [j.metadata.name for j in f.created()] == [job_name("hello", MINUTE1 + 200 * 60)]
    assert f.reasons() == ["TooManyMissedTimes", "SuccessfulCreate"]


def test_a_starting_deadline_bounds_the_missed_times_counted() -> None:
    # 200 minutes missed, but only those in the last 10 minutes count: no warning.
    f = Fixture(make_cronjob(startingDeadlineSeconds=600), now=MINUTE1 + 200 * 60 + 1)
    f.reconcile()
    assert len(f.created()) == 1
    assert "TooManyMissedTimes" not in f.reasons()


def test_a_time_past_its_starting_deadline_is_skipped() -> None:
    f = Fixture(
        make_cronjob(schedule="0 * * * *", startingDeadlineSeconds=10),
        now=cron.utc("2024-01-01T01:00:30+00:00"),
    )
    # earliest = now - 10 s, after 01:00:00: nothing unmet within the deadline.
    f.reconcile()
    assert f.created() == []


def test_most_recent_unmet_counts_and_finds_the_last() -> None:
    schedule = cron.parse("* * * * *")
    assert most_recent_unmet(schedule, CREATED, CREATED + 10) == (None, 0)
    assert most_recent_unmet(schedule, CREATED, MINUTE1 + 125) == (MINUTE1 + 120, 3)
    latest, missed = most_recent_unmet(schedule, CREATED, MINUTE1 + 86400 * 30)
    assert latest == MINUTE1 + 86400 * 30 and missed > 100


@pytest.mark.parametrize(
    ("policy", "created", "deleted", "reasons"),
    [
        pytest.param("Allow", 1, [], ["SuccessfulCreate"], id="allow-runs-beside"),
        pytest.param("Forbid", 0, [], ["JobAlreadyActive"], id="forbid-skips"),
        pytest.param(
            "Replace",
            1,
            [job_name("hello", MINUTE1)],
            ["SuccessfulDelete", "SuccessfulCreate"],
            id="replace-deletes-first",
        ),
    ],
)
def test_concurrency_policy_with_a_job_still_running(
    policy: str, created: int, deleted: list[str], reasons: list[str]
) -> None:
    cj = make_cronjob(
        concurrencyPolicy=policy, status={"lastScheduleTime": format_time(MINUTE1), "active": [ref(MINUTE1)]}
    )
    f = Fixture(cj, make_job(MINUTE1), now=MINUTE1 + 61)
    f.reconcile()
    assert len(f.created()) == created
    assert f.deleted() == deleted
    assert f.reasons() == reasons
    if policy == "Replace":
        assert [r.name for r in f.status().active] == [job_name("hello", MINUTE1 + 60)]


def test_forbid_starts_once_the_running_job_finished() -> None:
    cj = make_cronjob(
        concurrencyPolicy="Forbid",
        status={"lastScheduleTime": format_time(MINUTE1), "active": [ref(MINUTE1)]},
    )
    f = Fixture(cj, make_job(MINUTE1, "Complete", ended=MINUTE1 + 30), now=MINUTE1 + 61)
    f.reconcile()
    assert len(f.created()) == 1
    status = f.status()
    assert status.lastSuccessfulTime == format_time(MINUTE1 + 30)
    assert [r.name for r in status.active] == [job_name("hello", MINUTE1 + 60)]
    assert f.reasons() == ["SawCompletedJob", "SuccessfulCreate"]


def test_suspended_starts_nothing_and_does_not_come_back() -> None:
    f = Fixture(make_cronjob(suspend=True), now=MINUTE1 + 5)
    assert f.reconcile() is None
    assert f.created() == []


def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    times = [MINUTE1 + 60 * i for i in range(6)]
    jobs = [make_job(t, "Complete") for t in times[:4]] + [make_job(t, "Failed") for t in times[4:]]
    cj = make_cronjob(suspend=True, status={"lastScheduleTime": format_time(times[-1])})
    f = Fixture(cj, *jobs, now=times[-1] + 30)
    f.reconcile()
    # 4 successful, limit 3: the oldest goes; 2 failed, limit 1: the older goes.
    assert sorted(f.deleted()) == sorted([job_name("hello", times[0]), job_name("hello", times[4])])
    deletes = [w for w in f.client.writes if w[0] == "delete"]
    assert all(w[3] == {"propagation_policy": "Background"} for w in deletes)


def test_history_limit_zero_keeps_no_finished_job() -> None:
    cj = make_cronjob(suspend=True, successfulJobsHistoryLimit=0, failedJobsHistoryLimit=0)
    f = Fixture(cj, make_job(MINUTE1, "Complete"), make_job(MINUTE1 + 60, "Failed"), now=MINUTE1 + 90)
    f.reconcile()
    assert len(f.deleted()) == 2


def test_an_unlisted_running_job_joins_active_and_a_vanished_one_leaves() -> None:
    gone = MINUTE1 - 60
    cj = make_cronjob(suspend=True, status={"active": [ref(gone)]})
    f = Fixture(cj, make_job(MINUTE1), now=MINUTE1 + 30)
    f.reconcile()
    assert [r.name for r in f.status().active] == [job_name("hello", MINUTE1)]
    assert sorted(f.reasons()) == ["MissingJob", "UnexpectedJob"]


def test_a_listed_job_not_yet_in_the_cache_stays_active() -> None:
    cj = make_cronjob(suspend=True, status={"active": [ref(MINUTE1)]})
    f = Fixture(cj, now=MINUTE1 + 30)
    f.client.live[("Job", job_name("hello", MINUTE1))] = {"metadata": {"uid": ref(MINUTE1)["uid"]}}
    f.reconcile()
    assert f.client.writes == []

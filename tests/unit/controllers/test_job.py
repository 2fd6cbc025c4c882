"""The Job controller on a filled cache: the exact writes and decisions of one reconcile."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.batch import Job
from kajitori.api.core import Pod
from kajitori.clock import FakeClock, format_time
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.job import JobController, backoff_delay, want_active
from master.settings import ControllerSettings
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

UID = "job-uid"
LABELS = {"controller-uid": UID, "job-name": "calc"}


def make_job(*, status: dict[str, Any] | None = None, restart: str = "Never", **spec: Any) -> Job:
    template = {"metadata": {"labels": LABELS}, "spec": {"restartPolicy": restart, "containers": [{"name": "c", "image": "img:1"}]}}
    return Job.model_validate({
        "metadata": {"name": "calc", "namespace": "default", "uid": UID, "resourceVersion": "1", "generation": 1,
                     "creationTimestamp": "2023-11-14T22:00:00Z"},
        "spec": {"selector": {"matchLabels": {"controller-uid": UID}}, "template": template, **spec},
        "status": status or {},
    })  # fmt: skip


def make_pod(name: str, phase: str = "Running", *, finished: float | None = None, restarts: int = 0, created: float = 1_699_999_000.0) -> Pod:
    state: dict[str, Any] = {"running": {}}
    if finished is not None:
        state = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": format_time(finished)}}
    return Pod.model_validate({
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": LABELS, "resourceVersion": "1",
                     "creationTimestamp": format_time(created),
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "calc", "uid": UID, "controller": True}]},
        "spec": {"containers": [{"name": "c", "image": "img:1"}], "nodeName": "n1", "restartPolicy": "Never"},
        "status": {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts, "state": state}],
                   "conditions": [{"type": "Ready", "status": "True" if phase == "Running" else "False"}]},
    })  # fmt: skip


class Fixture:
    def __init__(self, job: Job, *pods: Pod) -> None:
        self.clock = FakeClock()
        self.informers, self.client, self.recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
        settings = ControllerSettings(job_backoff_base_s=10.0, job_backoff_max_s=360.0)
        ctx = LoopContext(client=self.client, informers=self.informers, recorder=self.recorder, clock=self.clock, settings=settings)
        self.controller = JobController(ctx)
        self.informers.informer(Job).add(job)
        self.informers.informer(Pod).add(*pods)

    def reconcile(self) -> None:
        self.controller.reconcile("default/calc")

    def verbs(self) -> list[tuple[str, str, str]]:
        return self.client.verbs()

    def status(self) -> Any:
        written = [w[3] for w in self.client.writes if w[0] == "update_status"]
        assert written, "no status was written"
        return written[-1].status

    def reasons(self) -> list[str]:
        return [reason for _type, _name, reason, _message in self.recorder.events]


def test_starts_min_of_parallelism_and_remaining_completions() -> None:
    f = Fixture(make_job(completions=3, parallelism=2, status={"succeeded": 2}), make_pod("a", "Succeeded", finished=1_699_999_500.0),
                make_pod("b", "Succeeded", finished=1_699_999_600.0))  # fmt: skip
    f.reconcile()
    creates = [w for w in f.client.writes if w[0] == "create"]
    assert len(creates) == 1, "one completion left: one pod, not two"
    body = creates[0][3]
    assert body.metadata.generateName == "calc-" and body.metadata.labels == LABELS
    ref = body.metadata.ownerReferences[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.blockOwnerDeletion) == ("Job", "calc", UID, True, True)
    assert f.status().startTime == format_time(f.clock.time())
    assert f.reasons() == ["SuccessfulCreate"]


def test_completes_at_completions_and_deletes_leftover_active_pods() -> None:
    f = Fixture(make_job(completions=2, parallelism=3), make_pod("a", "Succeeded", finished=1_699_999_500.0),
                make_pod("b", "Succeeded", finished=1_699_999_600.0), make_pod("c"))  # fmt: skip
    f.reconcile()
    assert ("delete", "Pod", "c") in f.verbs()
    assert not [v for v in f.verbs() if v[0] == "create"]
    status = f.status()
    assert status.finished() == "Complete"
    assert (status.succeeded, status.active, status.completionTime) == (2, None, format_time(f.clock.time()))
    assert "Completed" in f.reasons()


def test_failures_past_backoff_limit_fail_the_job_and_count_deleted_active_pods() -> None:
    failures = [make_pod(f"f{i}", "Failed", finished=1_699_999_000.0 + i) for i in range(3)]
    f = Fixture(make_job(completions=5, parallelism=2, backoffLimit=2), *failures, make_pod("running"))
    f.reconcile()
    assert ("delete", "Pod", "running") in f.verbs()
    status = f.status()
    cond = status.condition("Failed")
    assert (cond.status, cond.reason) == ("True", "BackoffLimitExceeded")
    assert (status.failed, status.active, status.completionTime) == (4, None, None)
    assert ("Warning", "calc", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in f.recorder.events


@pytest.mark.parametrize(
    ("restarts", "limit", "fails"),
    [
        pytest.param(2, 2, True, id="restarts reach the limit"),
        pytest.param(1, 2, False, id="below the limit"),
        pytest.param(1, 0, True, id="limit 0: any restart"),
    ],
)
def test_restarts_in_place_count_with_restart_policy_on_failure(restarts: int, limit: int, fails: bool) -> None:
    f = Fixture(make_job(restart="OnFailure", backoffLimit=limit), make_pod("a", restarts=restarts))
    f.reconcile()
    assert (f.status().finished() == "Failed") is fails


def test_active_deadline_fails_the_job_once_passed_and_requeues_before() -> None:
    clock_start = FakeClock().time()
    job = make_job(activeDeadlineSeconds=30, status={"startTime": format_time(clock_start - 10), "active": 1})
    f = Fixture(job, make_pod("a"))
    with pytest.raises(Requeue) as wait:
        f.reconcile()
    assert wait.value.after_s == pytest.approx(20.0)
    f.clock.advance(21)
    f.reconcile()
    cond = f.status().condition("Failed")
    assert (cond.status, cond.reason) == ("True", "DeadlineExceeded")
    assert ("delete", "Pod", "a") in f.verbs()


def test_a_deadline_counts_its_pods_failed_before_deleting_them() -> None:
    """Status first: if that write fails (a 409 under load), the retry still finds the pods to count."""
    now = FakeClock().time()
    job = make_job(activeDeadlineSeconds=1, status={"startTime": format_time(now - 5), "active": 2})
    f = Fixture(job, make_pod("a"), make_pod("b"))
    f.reconcile()
    verbs = [v[0] for v in f.verbs()]
    assert verbs == ["update_status", "delete", "delete"], "the count is stored before any pod goes"
    assert f.status().failed == 2


def test_recreation_after_a_failure_waits_for_the_backoff() -> None:
    now = FakeClock().time()
    f = Fixture(make_job(status={"startTime": format_time(now - 60)}),
                make_pod("f1", "Failed", finished=now - 30), make_pod("f2", "Failed", finished=now - 5))  # fmt: skip
    with pytest.raises(Requeue) as wait:
        f.reconcile()
    assert wait.value.after_s == pytest.approx(15.0), "two failures in a row: 20 s from the last one"
    assert not [v for v in f.verbs() if v[0] == "create"]
    f.clock.advance(15)
    f.reconcile()
    assert [v[0] for v in f.verbs()].count("create") == 1


@pytest.mark.parametrize(
    ("failures", "delay"),
    [pytest.param(0, 0.0, id="none"), pytest.param(1, 10.0, id="first"), pytest.param(3, 40.0, id="third"),
     pytest.param(7, 360.0, id="capped at 6 min"), pytest.param(100, 360.0, id="many")],
)
def test_backoff_doubles_from_the_base_up_to_the_cap(failures: int, delay: float) -> None:
    assert backoff_delay(failures, 10.0, 360.0) == delay


def test_suspend_deletes_active_pods_without_counting_failures() -> None:
    f = Fixture(make_job(parallelism=2, completions=4, suspend=True, status={"startTime": "2023-11-14T22:00:00Z", "active": 2}),
                make_pod("a"), make_pod("b"))  # fmt: skip
    f.reconcile()
    assert sorted(v for v in f.verbs() if v[0] == "delete") == [("delete", "Pod", "a"), ("delete", "Pod", "b")]
    status = f.status()
    cond = status.condition("Suspended")
    assert (cond.status, cond.reason) == ("True", "JobSuspended")
    assert (status.active, status.failed) == (None, None)
    assert "Suspended" in f.reasons()


def test_resume_restarts_the_start_time() -> None:
    suspended = {"type": "Suspended", "status": "True", "reason": "JobSuspended"}
    f = Fixture(make_job(status={"startTime": "2023-11-14T22:00:00Z", "conditions": [suspended]}))
    f.reconcile()
    status = f.status()
    assert status.condition("Suspended").status == "False"
    assert status.startTime == format_time(f.clock.time())
    assert "Resumed" in f.reasons()


@pytest.mark.parametrize(
    ("succeeded", "active", "wanted"),
    [pytest.param(0, 0, 3, id="none done: parallelism"), pytest.param(1, 2, 2, id="one done: no new pod"),
     pytest.param(1, 0, 0, id="one done, none running")],
)
def test_work_queue_jobs_start_no_pod_once_one_succeeded(succeeded: int, active: int, wanted: int) -> None:
    assert want_active(make_job(parallelism=3), succeeded, active) == wanted


def test_work_queue_job_completes_when_one_succeeded_and_none_is_running() -> None:
    f = Fixture(make_job(parallelism=2), make_pod("a", "Succeeded", finished=1_699_999_500.0), make_pod("b", "Failed", finished=1_699_999_600.0))
    f.reconcile()
    assert f.status().finished() == "Complete"
    assert not [v for v in f.verbs() if v[0] == "create"]


def test_a_finished_job_is_deleted_after_its_ttl() -> None:
    now = FakeClock().time()
    complete = {"type": "Complete", "status": "True", "lastTransitionTime": format_time(now - 5)}
    job = make_job(ttlSecondsAfterFinished=30, status={"conditions": [complete], "completionTime": format_time(now - 5), "succeeded": 1, "ready": 0})
    f = Fixture(job, make_pod("a", "Succeeded", finished=now - 6))
    with pytest.raises(Requeue) as wait:
        f.reconcile()
    assert wait.value.after_s == pytest.approx(25.0)
    assert f.verbs() == [], "nothing changed: no write"
    f.clock.advance(25)
    f.reconcile()
    assert f.verbs() == [("delete", "Job", "calc")]
    assert f.client.writes[0][3] == {"propagation_policy": "Foreground"}

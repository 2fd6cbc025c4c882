"""The CronJob controller: start a Job from a CronJob's template at each time of its schedule.

reconcile(namespace/name) reads the CronJob and the Jobs it controls (owner reference
with controller=true) from the caches and, in Kubernetes' order (cronjob_controllerv2):

1. status.active follows the Jobs: a finished Job leaves it (SawCompletedJob; a
   Complete one moves lastSuccessfulTime on), an unfinished Job it controls but does
   not list joins it (UnexpectedJob), a listed Job that no longer exists leaves it
   (MissingJob, confirmed with a live GET);
2. finished Jobs beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``
   are deleted, oldest first (background propagation, their pods follow);
3. suspended, being deleted, or a schedule/zone that no longer parses: stop here;
4. the most recent start time not yet run: the schedule's times after
   lastScheduleTime (or the CronJob's creation), not earlier than now minus
   ``startingDeadlineSeconds``. Only the most recent one is run; more than 100
   missed times earn a TooManyMissedTimes warning. One later than its deadline is
   skipped (MissSchedule). Forbid skips a time while a Job is active
   (JobAlreadyActive); Replace deletes the active Jobs first; Allow just starts;
5. the Job ``<cronjob>-<scheduled time in minutes since the epoch>`` is created (a
   fixed name, so a retry after a lost answer cannot start a second Job for one
   time), annotated with its scheduled time, and lastScheduleTime is written.

Every reconcile asks to come back at the next start time, so the loop sleeps
between runs instead of polling; time comes from the injected clock (sped up by the
test-only ``cronjob_clock_speed`` setting, so a real master can run ``* * * * *``
every second).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from kajitori import cron
from kajitori.api.batch import CRONJOB_SCHEDULED_TIMESTAMP, CronJob, CronJobStatus, Job
from kajitori.api.core import ObjectReference
from kajitori.api.meta import ObjectMeta
from kajitori.api.registry import by_kind
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.clock import ScaledClock, format_time, parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.pod_state import owner_reference

log = logging.getLogger(__name__)

MAX_MISSED = 100  # Kubernetes: past this many missed start times, a warning says the clock may be skewed
NEXT_RUN_SLACK_S = 0.1  # come back just after a start time, not just before it
JOB_RESOURCE = by_kind("batch/v1", "Job")


def job_name(cronjob: str, scheduled: float) -> str:
    """Kubernetes' name for the Job of one scheduled time: minutes since the epoch."""
    return f"{cronjob}-{int(scheduled) // 60}"


def most_recent_unmet(schedule: cron.Schedule, earliest: float, now: float) -> tuple[float | None, int]:
    """The latest start time in (earliest, now], and how many there are (counting stops past MAX_MISSED)."""
    first = schedule.next_after(earliest)
    if first is None or first > now:
        return None, 0
    missed, latest, t = 1, first, first
    while missed <= MAX_MISSED:
        nxt = schedule.next_after(t)
        if nxt is None or nxt > now:
            return latest, missed
        missed, latest, t = missed + 1, nxt, nxt
    # Too many to walk one by one (a CronJob suspended for months): look back from now
    # over growing windows for the last one.
    for window in (3600.0, 86400.0, 32 * 86400.0, 367 * 86400.0, 5 * 367 * 86400.0):
        found = schedule.next_after(max(earliest, now - window))
        if found is not None and found <= now:
            while (nxt := schedule.next_after(found)) is not None and nxt <= now:
                found = nxt
            return found, missed
    return latest, missed


def finished(job: Job) -> str | None:
    return job.status.finished()


class CronJobController:
    # Every CronJob of `* * * * *` is due at the same instant: with one worker the twentieth
    # Job started 2.6 s after its minute (bench/cronjob), with four 0.9-1.2 s
    # (kube-controller-manager's --concurrent-cron-job-syncs is 5).
    def __init__(self, ctx: LoopContext, *, workers: int = 4) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.speed = ctx.settings.cronjob_clock_speed
        self.clock = ctx.clock if self.speed == 1.0 else ScaledClock(ctx.clock, self.speed)
        self.cronjobs = ctx.informers.informer(CronJob)
        self.jobs = ctx.informers.informer(Job)
        self.controller = Controller(
            "cronjob", self.reconcile, informers=[self.cronjobs, self.jobs], workers=workers
        )
        self.cronjobs.add_handlers(self._on_cronjob, lambda _old, new: self._on_cronjob(new), None)
        self.jobs.add_handlers(self._on_job, lambda _old, new: self._on_job(new), self._on_job)

    # -- handlers: objects to keys -------------------------------------------------

    def _on_cronjob(self, cronjob: CronJob) -> None:
        self.controller.enqueue(object_key(cronjob))

    def _on_job(self, job: Job) -> None:
        for ref in job.metadata.ownerReferences or []:
            if ref.controller and ref.kind == "CronJob":
                self.controller.enqueue(f"{job.metadata.namespace}/{ref.name}")

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        cronjob = self.cronjobs.get(key)
        if cronjob is None:
            return
        now = self.clock.time()
        jobs = self._jobs_of(cronjob)
        status = cronjob.status.model_copy(deep=True)
        self._sync_active(cronjob, status, jobs)
        wait: float | None = None
        if cronjob.metadata.deletionTimestamp is None:
            wait = self._maybe_start(cronjob, status, jobs, now)
        if status.to_dict() != cronjob.status.to_dict():
            updated = cronjob.model_copy(deep=True)
            updated.status = status
            self.client.update_status(updated)
        self._clean_history(cronjob, jobs)
        if wait is not None:
            raise Requeue(max(NEXT_RUN_SLACK_S, wait / self.speed + NEXT_RUN_SLACK_S))

    def _jobs_of(self, cronjob: CronJob) -> list[Job]:
        return [
            j
            for j in self.jobs.by_index("controller-uid", cronjob.metadata.uid or "")
            if j.metadata.namespace == cronjob.metadata.namespace
        ]

    def _sync_active(self, cronjob: CronJob, status: CronJobStatus, jobs: list[Job]) -> None:
        active = {ref.uid or "": ref for ref in status.active or []}
        for job in jobs:
            uid = job.metadata.uid or ""
            kind = finished(job)
            if kind is None:
                if uid not in active and job.metadata.deletionTimestamp is None:
                    self.ctx.recorder.warning(
                        cronjob,
                        "UnexpectedJob",
                        f"Saw a job that the controller did not create or forgot: {job.metadata.name}",
                    )
                    active[uid] = _reference(job)
                continue
            if uid in active:
                del active[uid]
                self.ctx.recorder.normal(
                    cronjob, "SawCompletedJob", f"Saw completed job: {job.metadata.name}, status: {kind}"
                )
            if kind == "Complete":
                done = parse_time(job.status.completionTime)
                last = parse_time(status.lastSuccessfulTime)
                if done is not None and (last is None or done > last):
                    status.lastSuccessfulTime = format_time(done)
        seen = {j.metadata.uid for j in jobs}
        for uid, ref in list(active.items()):
            if uid in seen:
                continue
            # Not in the cache: maybe just not there yet (a Job created a moment ago).
            try:
                live = self.client.get_raw(JOB_RESOURCE, ref.name or "", cronjob.metadata.namespace)
            except NotFoundError:
                live = None
            if live is None or (live.get("metadata") or {}).get("uid") != uid:
                self.ctx.recorder.normal(cronjob, "MissingJob", f"Active job went missing: {ref.name}")
                del active[uid]
        refs = list(active.values())
        status.active = refs or None

    def _maybe_start(
        self, cronjob: CronJob, status: CronJobStatus, jobs: list[Job], now: float
    ) -> float | None:
        """Start the Job of the most recent unmet time if the rules allow; seconds to the next time, or None."""
        spec = cronjob.spec
        if spec.suspend:
            return None
        try:
            schedule = cron.parse(spec.schedule, spec.timeZone)
        except cron.TimeZoneError:
            self.ctx.recorder.warning(cronjob, "UnknownTimeZone", f"invalid timeZone: {spec.timeZone!r}")
            return None
        except cron.ScheduleError as exc:
            self.ctx.recorder.warning(
                cronjob, "UnparseableSchedule", f"unparseable schedule: {spec.schedule!r} : {exc}"
            )
            return None
        earliest = (
            parse_time(status.lastScheduleTime) or parse_time(cronjob.metadata.creationTimestamp) or now
        )
        if spec.startingDeadlineSeconds is not None:
            earliest = max(earliest, now - spec.startingDeadlineSeconds)
        scheduled, missed = most_recent_unmet(schedule, earliest, now)
        after_next = schedule.next_after(now)
        wait = None if after_next is None else after_next - now
        if scheduled is None:
            return wait
        if missed > MAX_MISSED:
            self.ctx.recorder.warning(
                cronjob,
                "TooManyMissedTimes",
                f"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
            )
        if spec.startingDeadlineSeconds is not None and scheduled + spec.startingDeadlineSeconds < now:
            self.ctx.recorder.warning(
                cronjob, "MissSchedule", f"Missed scheduled time to start a job: {_rfc1123(scheduled)}"
            )
            return wait
        name = job_name(cronjob.metadata.name or "", scheduled)
        if any(ref.name == name for ref in status.active or []) or any(j.metadata.name == name for j in jobs):
            return wait  # this time already has its Job (the status write that said so may have been lost)
        if spec.concurrencyPolicy == "Forbid" and status.active:
            self.ctx.recorder.normal(
                cronjob,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            return wait
        if spec.concurrencyPolicy == "Replace":
            for ref in list(status.active or []):
                try:
                    self.client.delete(
                        Job, ref.name or "", cronjob.metadata.namespace, propagation_policy="Background"
                    )
                except NotFoundError:
                    pass
                self.ctx.recorder.normal(cronjob, "SuccessfulDelete", f"Deleted job {ref.name}")
            status.active = None
        job = self._job_for(cronjob, schedule, scheduled, name)
        try:
            created = self.client.create(job, cronjob.metadata.namespace)
        except AlreadyExistsError:
            return wait  # made by an earlier pass; its Job event brings it into status.active
        self.ctx.recorder.normal(cronjob, "SuccessfulCreate", f"Created job {created.metadata.name}")
        status.active = [*(status.active or []), _reference(created)]
        status.lastScheduleTime = format_time(scheduled)
        return wait

    @staticmethod
    def _job_for(cronjob: CronJob, schedule: cron.Schedule, scheduled: float, name: str) -> Job:
        template = cronjob.spec.jobTemplate
        annotations = dict(template.metadata.annotations or {})
        annotations[CRONJOB_SCHEDULED_TIMESTAMP] = rfc3339_in(scheduled, schedule.zone)
        return Job(
            metadata=ObjectMeta(
                name=name,
                namespace=cronjob.metadata.namespace,
                labels=dict(template.metadata.labels) if template.metadata.labels else None,
                annotations=annotations,
                ownerReferences=[owner_reference(cronjob)],
            ),
            spec=template.spec.model_copy(deep=True),
        )

    def _clean_history(self, cronjob: CronJob, jobs: list[Job]) -> None:
        """Delete the oldest finished Jobs past the history limits (Kubernetes orders by start time)."""
        for kind, limit in (
            ("Complete", cronjob.spec.successfulJobsHistoryLimit),
            ("Failed", cronjob.spec.failedJobsHistoryLimit),
        ):
            done = [j for j in jobs if finished(j) == kind and j.metadata.deletionTimestamp is None]
            if len(done) <= limit:
                continue
            done.sort(
                key=lambda j: (
                    parse_time(j.status.startTime) or parse_time(j.metadata.creationTimestamp) or 0.0
                )
            )
            for job in done[: len(done) - limit]:
                try:
                    self.client.delete(
                        Job, job.metadata.name or "", job.metadata.namespace, propagation_policy="Background"
                    )
                except NotFoundError:
                    continue
                self.ctx.recorder.normal(cronjob, "SuccessfulDelete", f"Deleted job {job.metadata.name}")


def _reference(job: Job) -> ObjectReference:
    return ObjectReference(
        kind="Job",
        apiVersion="batch/v1",
        namespace=job.metadata.namespace,
        name=job.metadata.name,
        uid=job.metadata.uid,
        resourceVersion=job.metadata.resourceVersion,
    )


def _rfc1123(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%a, %d %b %Y %H:%M:%S %z")


def rfc3339_in(ts: float, zone: tzinfo) -> str:
    """A time as Go's RFC3339 writes it in a zone: 2024-03-10T02:30:00-05:00, or ...Z in UTC."""
    text = datetime.fromtimestamp(ts, zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text

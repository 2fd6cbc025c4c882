"""The Job controller: run a Job's pods to completion, retry failures, then stop.

reconcile(namespace/name) reads the Job and the pods it controls (owner reference with
controller=true, matching its selector) from the caches and decides, in Kubernetes'
order:

1. suspended or resumed: condition Suspended True/False (a resume restarts startTime);
2. failed: more failed pods than ``backoffLimit`` (with restartPolicy OnFailure, also the
   containers' restarts reaching it), or running past ``activeDeadlineSeconds`` from
   startTime: condition Failed (BackoffLimitExceeded / DeadlineExceeded), its active pods
   deleted and counted failed;
3. complete: ``completions`` pods succeeded (work-queue Jobs, completions null: any pod
   succeeded and none is still active): condition Complete, completionTime, leftover
   active pods deleted;
4. otherwise keep min(parallelism, completions - succeeded) pods active (none while
   suspended; a work-queue Job starts no new pod once one succeeded). After failures a
   replacement waits ``job_backoff_base_s`` doubled per failure since the last success,
   up to ``job_backoff_max_s``, counted from the last failure (Kubernetes: 10 s to 6 min).

A finished Job's pods stay for their logs until the Job is deleted (the garbage
collector removes them); ``ttlSecondsAfterFinished`` deletes the Job that long after it
finished. Counts only grow: finished pods deleted by someone else do not un-count
(Kubernetes tracks them with pod finalizers; here status remembers the highest count).
Expectations keep a reconcile from acting on a cache that has not seen its own writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kajitori.api.batch import Job, JobCondition, JobStatus
from kajitori.api.core import Pod
from kajitori.api.meta import ObjectMeta
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.clock import format_time, parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.expectations import Expectations
from master.controllers.owned_pods import OwnedPodEvents
from master.controllers.pod_state import is_active, is_ready, owner_reference
from master.controllers.replicaset import deletion_rank

log = logging.getLogger(__name__)

BURST_PODS = 500  # at most this many creates or deletes per reconcile, as the ReplicaSet controller


@dataclass
class PodTally:
    """What a Job's pods say, counted once per reconcile."""

    active: list[Pod] = field(default_factory=list)
    succeeded: int = 0
    failed: int = 0
    ready: int = 0
    restarts: int = 0
    """Container restarts of active pods (restartPolicy OnFailure: failures the kubelet retried in place)."""
    last_success: float | None = None
    failures_since_success: int = 0
    last_failure: float | None = None


def finished_at(pod: Pod) -> float:
    """When a finished pod's last container ended (its creation time if no container says)."""
    times = [
        parse_time(s.state.terminated.finishedAt)
        for s in [*(pod.status.initContainerStatuses or []), *(pod.status.containerStatuses or [])]
        if s.state.terminated is not None
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else parse_time(pod.metadata.creationTimestamp) or 0.0


def tally_pods(pods: list[Pod]) -> PodTally:
    tally = PodTally()
    failures: list[float] = []
    for pod in pods:
        phase = pod.status.phase
        if phase == "Succeeded":
            tally.succeeded += 1
            done = finished_at(pod)
            tally.last_success = max(tally.last_success or done, done)
        elif phase == "Failed":
            tally.failed += 1
            failures.append(finished_at(pod))
        elif is_active(pod):
            tally.active.append(pod)
            tally.ready += 1 if is_ready(pod) else 0
            statuses = [*(pod.status.initContainerStatuses or []), *(pod.status.containerStatuses or [])]
            tally.restarts += sum(s.restartCount for s in statuses)
    after = [t for t in failures if tally.last_success is None or t > tally.last_success]
    tally.failures_since_success = len(after)
    tally.last_failure = max(after) if after else None
    return tally


def backoff_delay(failures: int, base_s: float, max_s: float) -> float:
    """Kubernetes' pod recreation delay after ``failures`` failures in a row: base, 2 base, 4 base ... max."""
    if failures <= 0:
        return 0.0
    return min(max_s, base_s * 2 ** min(failures - 1, 30))


def want_active(job: Job, succeeded: int, active: int) -> int:
    """How many pods should be running now (Kubernetes' wantActive in manageJob)."""
    spec = job.spec
    if spec.suspend:
        return 0
    if spec.completions is None:
        # A work queue: once a pod succeeded, let the others finish but start no new one.
        return active if succeeded > 0 else spec.parallelism
    return max(0, min(spec.parallelism, spec.completions - succeeded))


def past_backoff_limit(job: Job, tally: PodTally, failed: int) -> bool:
    limit = job.spec.backoffLimit
    if failed > limit:
        return True
    if job.spec.template.spec.restartPolicy != "OnFailure":
        return False
    # Kubernetes' pastBackoffLimitOnFailure: restarts in place count as failures too.
    return tally.restarts > 0 if limit == 0 else tally.restarts >= limit


class JobController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.jobs = ctx.informers.informer(Job)
        self.pods = ctx.informers.informer(Pod)
        self.expectations = Expectations(ctx.clock)
        self.controller = Controller("job", self.reconcile, informers=[self.jobs, self.pods], workers=workers)
        self.jobs.add_handlers(self._on_job, lambda _old, new: self._on_job(new), self._on_job_delete)
        OwnedPodEvents("Job", self.controller, self.expectations).watch(self.pods)  # Jobs adopt no orphans

    # -- handlers: objects to keys -------------------------------------------------

    def _on_job(self, job: Job) -> None:
        self.controller.enqueue(object_key(job))

    def _on_job_delete(self, job: Job) -> None:
        self.expectations.forget(object_key(job))

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None:
            self.expectations.forget(key)
            return
        if job.metadata.deletionTimestamp is not None:
            return  # the garbage collector takes its pods
        now = self.ctx.clock.time()
        tally = tally_pods(self._pods_of(job))
        status = job.status.model_copy(deep=True)
        # Counts only grow (see the module docstring).
        status.succeeded = max(status.succeeded or 0, tally.succeeded) or None
        status.failed = max(status.failed or 0, tally.failed) or None
        waits: list[float] = []
        ending: list[Pod] = []  # counted failed in this pass; deleted once that count is stored
        if status.finished() is None and self.expectations.satisfied(key):
            ending = self._sync_unfinished(job, key, status, tally, now, waits)
        elif status.finished() is not None and tally.active and self.expectations.satisfied(key):
            self._delete_pods(job, key, tally.active)  # a pod that appeared after the end
            tally.active, tally.ready = [], 0
        if status.finished() is None:
            status.active = len(tally.active) or None
            status.ready = tally.ready
        else:
            status.active, status.ready = None, 0
        if status.to_dict() != job.status.to_dict():
            updated = job.model_copy(deep=True)
            updated.status = status
            self.client.update_status(updated)
        # Only now: had the pods gone first and the status write then failed (a 409 from a
        # cache a step behind, common under load), the retry would find no active pod to count.
        self._delete_pods(job, key, ending)
        ttl_wait = self._expire_after_ttl(job, status, now)
        if ttl_wait is not None:
            waits.append(ttl_wait)
        if waits:
            raise Requeue(max(0.05, min(waits)))

    def _pods_of(self, job: Job) -> list[Pod]:
        selector = job.spec.selector
        return [
            p
            for p in self.pods.by_index("controller-uid", job.metadata.uid or "")
            if selector is None or selector.matches(p.metadata.labels)
        ]

    def _sync_unfinished(
        self, job: Job, key: str, status: JobStatus, tally: PodTally, now: float, waits: list[float]
    ) -> list[Pod]:
        """Moves an unfinished Job on; returns the active pods its end counted failed, to delete."""
        stamp = format_time(now)
        if job.spec.suspend:
            if _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp):
                self.ctx.recorder.normal(job, "Suspended", "Job suspended")
        elif _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp, add=False):
            self.ctx.recorder.normal(job, "Resumed", "Job resumed")
            status.startTime = stamp  # a resumed Job's deadline counts from now
        if status.startTime is None and not job.spec.suspend:
            status.startTime = stamp
        failed = status.failed or 0
        reason = message = None
        if past_backoff_limit(job, tally, failed):
            reason, message = "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        elif (deadline := self._deadline(job, status)) is not None:
            if now >= deadline:
                reason, message = "DeadlineExceeded", "Job was active longer than specified deadline"
            else:
                waits.append(deadline - now)
        if reason is not None and message is not None:
            ending = tally.active
            status.failed = failed + len(ending) or None
            tally.active, tally.ready = [], 0
            _set_condition(status, "Failed", "True", reason, message, stamp)
            self.ctx.recorder.warning(job, reason, message)
            return ending
        succeeded = status.succeeded or 0
        wanted = want_active(job, succeeded, len(tally.active))
        if len(tally.active) > wanted:
            victims = sorted(tally.active, key=deletion_rank)[: min(len(tally.active) - wanted, BURST_PODS)]
            self._delete_pods(job, key, victims)
            gone = {p.metadata.uid for p in victims}
            tally.active = [p for p in tally.active if p.metadata.uid not in gone]
        elif len(tally.active) < wanted:
            delay = backoff_delay(
                tally.failures_since_success, self.ctx.settings.job_backoff_base_s, self.ctx.settings.job_backoff_max_s
            )
            ready_at = (tally.last_failure or 0.0) + delay
            if tally.last_failure is not None and now < ready_at:
                waits.append(ready_at - now)
            else:
                self._create_pods(job, key, min(wanted - len(tally.active), BURST_PODS))
        complete = (
            succeeded > 0 and not tally.active
            if job.spec.completions is None
            else succeeded >= job.spec.completions and not tally.active
        )
        if complete and not job.spec.suspend:
            _set_condition(status, "Complete", "True", None, None, stamp)
            status.completionTime = stamp
            self.ctx.recorder.normal(job, "Completed", "Job completed")
        return []

    @staticmethod
    def _deadline(job: Job, status: JobStatus) -> float | None:
        if job.spec.activeDeadlineSeconds is None or job.spec.suspend:
            return None
        started = parse_time(status.startTime)
        return None if started is None else started + job.spec.activeDeadlineSeconds

    def _expire_after_ttl(self, job: Job, status: JobStatus, now: float) -> float | None:
        """Delete a finished Job ``ttlSecondsAfterFinished`` after it ended; seconds left to wait, or None."""
        ttl = job.spec.ttlSecondsAfterFinished
        kind = status.finished()
        if ttl is None or kind is None:
            return None
        cond = status.condition(kind)
        ended = parse_time(status.completionTime) or parse_time(cond.lastTransitionTime if cond else None)
        if ended is None:
            return None
        if now < ended + ttl:
            return ended + ttl - now
        try:
            # Foreground, as Kubernetes' TTL-after-finished controller: the pods go first.
            self.client.delete(Job, job.metadata.name or "", job.metadata.namespace, propagation_policy="Foreground")
        except NotFoundError:
            pass
        return None

    def _create_pods(self, job: Job, key: str, count: int) -> None:
        template = job.spec.template
        body = Pod(
            metadata=ObjectMeta(
                generateName=f"{job.metadata.name}-",
                namespace=job.metadata.namespace,
                labels=dict(template.metadata.labels or {}),
                annotations=dict(template.metadata.annotations) if template.metadata.annotations else None,
                ownerReferences=[owner_reference(job)],
            ),
            spec=template.spec.model_copy(deep=True),
        )
        self.expectations.expect_creations(key, count)
        for i in range(count):
            try:
                created = self.client.create(body, body.metadata.namespace)
            except AlreadyExistsError:
                self.expectations.creation_failed(key)
                continue
            except Exception as exc:
                # The rest would most likely fail the same way: give them up and retry later.
                for _ in range(count - i):
                    self.expectations.creation_failed(key)
                self.ctx.recorder.warning(job, "FailedCreate", f"Error creating: {exc}")
                raise
            self.ctx.recorder.normal(job, "SuccessfulCreate", f"Created pod: {created.metadata.name}")

    def _delete_pods(self, job: Job, key: str, victims: list[Pod]) -> None:
        if not victims:
            return
        self.expectations.expect_deletions(key, [p.metadata.uid or "" for p in victims])
        error: Exception | None = None
        for pod in victims:
            try:
                self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace)
            except NotFoundError:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
                continue
            except Exception as exc:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
                error = exc
                continue
            self.ctx.recorder.normal(job, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")
        if error is not None:
            raise error


def _set_condition(
    status: JobStatus, kind: str, value: str, reason: str | None, message: str | None, stamp: str, *, add: bool = True
) -> bool:
    """Set a condition's status (a new transition time only when it changes); False when nothing changed.

    With ``add=False`` a missing condition stays missing (a Job never suspended has no Suspended=False).
    """
    conditions = list(status.conditions or [])
    current = next((c for c in conditions if c.type == kind), None)
    if current is not None and current.status == value:
        return False
    if current is None and not add:
        return False
    fresh = JobCondition(
        type=kind, status=value, reason=reason, message=message, lastProbeTime=stamp, lastTransitionTime=stamp  # type: ignore[arg-type]
    )
    status.conditions = [fresh if c is current else c for c in conditions] if current else [*conditions, fresh]
    return True

"""The batch/v1 kinds: Job (run-to-completion pods) and CronJob (Jobs on a schedule), with Kubernetes' defaults and rules.

Defaults are Kubernetes' own: parallelism 1, backoffLimit 6, completionMode NonIndexed,
suspend false; completions is 1 when neither completions nor parallelism is given, and
stays null (a work queue: done when any pod succeeded and the rest ended) when only
parallelism is. The pod template's restartPolicy must be Never or OnFailure. The
selector and the ``controller-uid``/``job-name`` labels are the API server's to add at
create (master/apiserver/strategies.py), as kube-apiserver does unless manualSelector.
Indexed completion mode is refused (422 naming spec.completionMode): not implemented.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from kajitori import cron
from kajitori.api.core import ObjectReference, PodTemplateSpec
from kajitori.api.meta import KubeModel, LabelSelector, ObjectMeta, TypedObject

# Kubernetes' counts are int32: a controller never loops over more than that.
NonNegative = Annotated[int, Field(ge=0, le=2**31 - 1)]
Positive = Annotated[int, Field(gt=0, le=2**31 - 1)]

# Labels the server puts on a Job's template (and so on its pods), old and new spellings.
CONTROLLER_UID_LABEL = "controller-uid"
JOB_NAME_LABEL = "job-name"
BATCH_CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
BATCH_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


class JobSpec(KubeModel):
    """The desired state of a Job."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"backoffLimitPerIndex", "maxFailedIndexes", "podFailurePolicy", "podReplacementPolicy"}
    )

    parallelism: NonNegative = 1
    """Pods that may run at the same time. Default 1."""
    completions: NonNegative | None = None
    """Successful pods that complete the Job."""
    activeDeadlineSeconds: Positive | None = None
    """Seconds the Job may run before it is failed."""
    backoffLimit: NonNegative = 6
    """Retries before the Job is marked failed. Default 6."""
    selector: LabelSelector | None = None
    """Label selector of the Job's pods; made by the server unless manualSelector."""
    manualSelector: bool | None = None
    template: PodTemplateSpec
    """The pods the Job runs; restartPolicy must be Never or OnFailure."""
    ttlSecondsAfterFinished: NonNegative | None = None
    """Seconds after the Job finished before it is deleted."""
    completionMode: str = "NonIndexed"
    suspend: bool = False
    """A suspended Job starts no pods."""

    @model_validator(mode="before")
    @classmethod
    def _default_completions(cls, data: Any) -> Any:
        # Kubernetes' SetDefaults_Job: both unset means one pod to run once; parallelism
        # alone leaves completions null (work-queue Jobs).
        if isinstance(data, dict) and data.get("completions") is None and data.get("parallelism") is None:
            data = {**data, "completions": 1}
        return data


class JobCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class JobStatus(KubeModel):
    """The observed state of a Job."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"completedIndexes", "failedIndexes", "terminating", "uncountedTerminatedPods"}
    )

    conditions: list[JobCondition] | None = None
    startTime: str | None = None
    completionTime: str | None = None
    active: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    ready: int | None = None

    def condition(self, kind: str) -> JobCondition | None:
        return next((c for c in self.conditions or [] if c.type == kind), None)

    def finished(self) -> str | None:
        """"Complete" or "Failed" once the Job has ended, else None."""
        for kind in ("Complete", "Failed"):
            cond = self.condition(kind)
            if cond is not None and cond.status == "True":
                return kind
        return None


class Job(TypedObject):
    """A Job runs pods until a number of them have succeeded."""

    apiVersion: str | None = "batch/v1"
    kind: str | None = "Job"
    spec: JobSpec
    """Specification of the desired behavior of the Job."""
    status: JobStatus = Field(default_factory=JobStatus)
    """Most recently observed status of the Job; read-only."""

    @model_validator(mode="after")
    def _rules(self) -> Job:
        # Raised here (not in JobSpec) so that the message names its own full field path.
        spec = self.spec
        policy = spec.template.spec.restartPolicy
        if policy not in ("OnFailure", "Never"):
            raise ValueError(
                f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": supported values: "OnFailure", "Never"'
            )
        if spec.completionMode == "Indexed":
            raise ValueError('spec.completionMode: Unsupported value: "Indexed": Kajitori runs NonIndexed Jobs only')
        if spec.completionMode != "NonIndexed":
            raise ValueError(
                f'spec.completionMode: Unsupported value: "{spec.completionMode}": supported values: "NonIndexed", "Indexed"'
            )
        selector = spec.selector
        if selector is not None and not selector.is_empty() and not selector.matches(spec.template.metadata.labels):
            raise ValueError("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`")
        return self


# --------------------------------------------------------------------------- CronJob

CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
"""On each Job a CronJob starts: the scheduled time it runs for (RFC 3339, in the CronJob's zone)."""
CRONJOB_INSTANTIATE = "cronjob.kubernetes.io/instantiate"
"""On a Job made by hand from a CronJob's template (``create job --from=cronjob/X``): "manual"."""


class JobTemplateSpec(KubeModel):
    """The Jobs a CronJob makes: their metadata and spec."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: JobSpec


class CronJobSpec(KubeModel):
    """The desired state of a CronJob."""

    schedule: str
    """When to run, in cron syntax ("*/5 * * * *", "@hourly")."""
    timeZone: str | None = None
    """The time zone of the schedule (tz database name); default: the controller's."""
    startingDeadlineSeconds: NonNegative | None = None
    """Seconds after a missed time within which it still runs."""
    concurrencyPolicy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    """Allow (the default), Forbid or Replace a Job still running at the next time."""
    suspend: bool = False
    """A suspended CronJob starts no Jobs."""
    jobTemplate: JobTemplateSpec
    """The Jobs the CronJob makes."""
    successfulJobsHistoryLimit: NonNegative = 3
    """Finished successful Jobs kept. Default 3."""
    failedJobsHistoryLimit: NonNegative = 1
    """Failed Jobs kept. Default 1."""


class CronJobStatus(KubeModel):
    """The observed state of a CronJob."""

    active: list[ObjectReference] | None = None
    lastScheduleTime: str | None = None
    lastSuccessfulTime: str | None = None


class CronJob(TypedObject):
    """batch/v1 CronJob: Jobs from ``spec.jobTemplate`` at the times of ``spec.schedule``.

    The schedule and time zone are checked here (422 naming spec.schedule / spec.timeZone),
    with kajitori.cron, the parser the controller uses.
    """

    apiVersion: str | None = "batch/v1"
    kind: str | None = "CronJob"
    spec: CronJobSpec
    """Specification of the desired behavior of the CronJob."""
    status: CronJobStatus = Field(default_factory=CronJobStatus)
    """Most recently observed status of the CronJob; read-only."""

    @model_validator(mode="after")
    def _rules(self) -> CronJob:
        if self.spec.timeZone == "":
            raise ValueError('spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string')
        try:
            cron.load_zone(self.spec.timeZone)
        except cron.TimeZoneError:
            raise ValueError(f'spec.timeZone: Invalid value: "{self.spec.timeZone}": unknown time zone') from None
        try:
            cron.parse(self.spec.schedule, self.spec.timeZone)
        except cron.ScheduleError as exc:
            raise ValueError(f'spec.schedule: Invalid value: "{self.spec.schedule}": {exc}') from None
        policy = self.spec.jobTemplate.spec.template.spec.restartPolicy
        if policy not in ("OnFailure", "Never"):
            raise ValueError(
                "spec.jobTemplate.spec.template.spec.restartPolicy: "
                f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'
            )
        return self

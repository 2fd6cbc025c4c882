"""The apps/v1 kinds: Deployment, ReplicaSet and DaemonSet, and autoscaling/v1 Scale."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field, model_validator

from kajitori.api.core import PodTemplateSpec
from kajitori.api.meta import KubeModel, LabelSelector, TypedObject

IntOrString = int | str
# Kubernetes' counts are int32: a controller never loops over more than that.
NonNegative = Annotated[int, Field(ge=0, le=2**31 - 1)]


def _check_int_or_percent(value: IntOrString, what: str) -> IntOrString:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what} must be greater than or equal to 0")
        return value
    if not value.endswith("%") or not value[:-1].isdigit():
        raise ValueError(f"{what} {value!r} must be an integer or a percentage (e.g. '25%')")
    return value


class RollingUpdateDeployment(KubeModel):
    """The limits of a rolling update: how far below and above the desired replicas it may go."""

    maxUnavailable: IntOrString = "25%"
    """Pods that may be unavailable during the update: a number or a percentage of replicas (rounded down). Default 25%."""
    maxSurge: IntOrString = "25%"
    """Pods that may be made above the desired replicas: a number or a percentage (rounded up). Default 25%."""

    @model_validator(mode="after")
    def _values(self) -> RollingUpdateDeployment:
        _check_int_or_percent(self.maxUnavailable, "maxUnavailable")
        _check_int_or_percent(self.maxSurge, "maxSurge")
        if self.maxUnavailable in (0, "0%") and self.maxSurge in (0, "0%"):
            raise ValueError("maxUnavailable may not be 0 when maxSurge is 0")
        return self


class DeploymentStrategy(KubeModel):
    """How a Deployment replaces old pods with new ones."""

    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    """Type of deployment: "Recreate" (kill all old pods first) or "RollingUpdate" (the default: replace them gradually)."""
    rollingUpdate: RollingUpdateDeployment | None = None
    """The limits of a rolling update; only with type RollingUpdate."""

    @model_validator(mode="after")
    def _default(self) -> DeploymentStrategy:
        if self.type == "RollingUpdate" and self.rollingUpdate is None:
            self.rollingUpdate = RollingUpdateDeployment()
        if self.type == "Recreate" and self.rollingUpdate is not None:
            raise ValueError("rollingUpdate may not be specified when strategy type is 'Recreate'")
        return self


def _check_selector_matches_template(selector: LabelSelector, template: PodTemplateSpec) -> None:
    if selector.is_empty():
        raise ValueError("selector: Invalid value: empty selector is invalid for deployment")
    if not selector.matches(template.metadata.labels):
        # Kubernetes' words, the labels written as Go's %#v writes a map (keys sorted).
        labels = template.metadata.labels
        shown = (
            "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items())) + "}"
            if labels is not None
            else "map[string]string(nil)"
        )
        raise ValueError(f"template.metadata.labels: Invalid value: {shown}: `selector` does not match template `labels`")


class DeploymentSpec(KubeModel):
    """The desired state of a Deployment."""

    replicas: NonNegative = 1
    """Number of desired pods. Default 1."""
    selector: LabelSelector
    """Label selector of the pods the Deployment owns; must match the template's labels, and cannot change."""
    template: PodTemplateSpec
    """The pods the Deployment makes."""
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    """How old pods are replaced by new ones."""
    minReadySeconds: NonNegative = 0
    """Seconds a new pod must be ready before it counts as available. Default 0."""
    revisionHistoryLimit: NonNegative = 10
    """Old ReplicaSets kept for rollbacks. Default 10."""
    progressDeadlineSeconds: NonNegative = 600
    """Seconds a rollout may make no progress before it is reported failed. Default 600."""
    paused: bool | None = None
    """A paused Deployment does not roll out template changes."""


    @model_validator(mode="after")
    def _selector(self) -> DeploymentSpec:
        _check_selector_matches_template(self.selector, self.template)
        return self


class DeploymentCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastUpdateTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class DeploymentStatus(KubeModel):
    """The observed state of a Deployment."""

    observedGeneration: int | None = None
    replicas: int | None = None
    """Pods of the Deployment (old and new)."""
    updatedReplicas: int | None = None
    """Pods of the current template."""
    readyReplicas: int | None = None
    """Pods that are ready."""
    availableReplicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    unavailableReplicas: int | None = None
    conditions: list[DeploymentCondition] | None = None
    collisionCount: int | None = None


class Deployment(TypedObject):
    """A Deployment keeps a number of replicas of a pod template running and rolls them out to a new template gradually."""

    apiVersion: str | None = "apps/v1"
    kind: str | None = "Deployment"
    spec: DeploymentSpec
    """Specification of the desired behavior of the Deployment."""
    status: DeploymentStatus = Field(default_factory=DeploymentStatus)
    """Most recently observed status of the Deployment; read-only."""


class ReplicaSetSpec(KubeModel):
    """The desired state of a ReplicaSet."""

    replicas: NonNegative = 1
    """Number of desired pods. Default 1."""
    selector: LabelSelector
    """Label selector of the pods the ReplicaSet owns; must match the template's labels."""
    template: PodTemplateSpec | None = None
    """The pods the ReplicaSet makes."""
    minReadySeconds: NonNegative = 0
    """Seconds a new pod must be ready before it counts as available. Default 0."""


    @model_validator(mode="after")
    def _selector(self) -> ReplicaSetSpec:
        if self.template is not None:
            _check_selector_matches_template(self.selector, self.template)
        return self


class ReplicaSetCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class ReplicaSetStatus(KubeModel):
    """The observed state of a ReplicaSet."""

    replicas: int = 0
    fullyLabeledReplicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    observedGeneration: int | None = None
    conditions: list[ReplicaSetCondition] | None = None


class ReplicaSet(TypedObject):
    """A ReplicaSet keeps a number of pods matching its selector running."""

    apiVersion: str | None = "apps/v1"
    kind: str | None = "ReplicaSet"
    spec: ReplicaSetSpec
    """Specification of the desired behavior of the ReplicaSet."""
    status: ReplicaSetStatus = Field(default_factory=ReplicaSetStatus)
    """Most recently observed status of the ReplicaSet; read-only."""


class ScaleSpec(KubeModel):
    replicas: NonNegative = 0



class ScaleStatus(KubeModel):
    replicas: int = 0
    selector: str | None = None


class Scale(TypedObject):
    """The scale subresource of a Deployment or ReplicaSet: desired and current replicas."""

    apiVersion: str | None = "autoscaling/v1"
    kind: str | None = "Scale"
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus = Field(default_factory=ScaleStatus)


# -- DaemonSet ----------------------------------------------------------------------------


class RollingUpdateDaemonSet(KubeModel):
    """Kubernetes' defaults: one node's pod replaced at a time, no surge.

    Exactly one of the two is non-zero, as Kubernetes validates: a node either goes
    without its pod for a moment (maxUnavailable) or runs the old and the new pod side
    by side until the new one is available (maxSurge).
    """

    maxUnavailable: IntOrString = 1
    maxSurge: IntOrString = 0

    @model_validator(mode="after")
    def _values(self) -> RollingUpdateDaemonSet:
        _check_int_or_percent(self.maxUnavailable, "maxUnavailable")
        _check_int_or_percent(self.maxSurge, "maxSurge")
        unavailable = self.maxUnavailable not in (0, "0%")
        surge = self.maxSurge not in (0, "0%")
        if not unavailable and not surge:
            raise ValueError("maxUnavailable may not be 0 when maxSurge is 0")
        if unavailable and surge:
            raise ValueError("maxSurge may not be set when maxUnavailable is non-zero")
        return self


class DaemonSetUpdateStrategy(KubeModel):
    """How a DaemonSet replaces its pods when the template changes."""

    type: Literal["RollingUpdate", "OnDelete"] = "RollingUpdate"
    """RollingUpdate (the default: node by node) or OnDelete (only when a pod is deleted)."""
    rollingUpdate: RollingUpdateDaemonSet | None = None
    """The limits of a rolling update."""

    @model_validator(mode="after")
    def _default(self) -> DaemonSetUpdateStrategy:
        # As Kubernetes' SetDefaults_DaemonSet; an OnDelete strategy may keep a rollingUpdate it ignores.
        if self.type == "RollingUpdate" and self.rollingUpdate is None:
            self.rollingUpdate = RollingUpdateDaemonSet()
        return self


class DaemonSetSpec(KubeModel):
    """The desired state of a DaemonSet."""

    selector: LabelSelector
    """Label selector of the pods the DaemonSet owns; must match the template's labels."""
    template: PodTemplateSpec
    """The pod run on every eligible node; restartPolicy must be Always."""
    updateStrategy: DaemonSetUpdateStrategy = Field(default_factory=DaemonSetUpdateStrategy)
    """How pods are replaced when the template changes."""
    minReadySeconds: NonNegative = 0
    revisionHistoryLimit: NonNegative = 10

    @model_validator(mode="after")
    def _selector(self) -> DaemonSetSpec:
        _check_selector_matches_template(self.selector, self.template)
        if self.template.spec.restartPolicy != "Always":
            raise ValueError(
                f"template.spec.restartPolicy: Unsupported value: {self.template.spec.restartPolicy!r}: "
                "supported values: \"Always\""
            )
        return self


class DaemonSetCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class DaemonSetStatus(KubeModel):
    """The observed state of a DaemonSet."""

    currentNumberScheduled: int = 0
    numberMisscheduled: int = 0
    desiredNumberScheduled: int = 0
    numberReady: int = 0
    observedGeneration: int | None = None
    updatedNumberScheduled: int | None = None
    numberAvailable: int | None = None
    numberUnavailable: int | None = None
    collisionCount: int | None = None
    conditions: list[DaemonSetCondition] | None = None


class DaemonSet(TypedObject):
    """A DaemonSet runs one copy of a pod on every eligible node."""

    apiVersion: str | None = "apps/v1"
    kind: str | None = "DaemonSet"
    spec: DaemonSetSpec
    """Specification of the desired behavior of the DaemonSet."""
    status: DaemonSetStatus = Field(default_factory=DaemonSetStatus)
    """Most recently observed status of the DaemonSet; read-only."""

"""The apps/v1 kinds: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision, and autoscaling/v1 Scale."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from kajitori.api.core import PodTemplateSpec
from kajitori.api.meta import KubeModel, LabelSelector, TypedObject, check_dns1123_label
from kajitori.api.storage import StatefulSetVolumeClaim, check_claim_spec

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


# -- StatefulSet and ControllerRevision -----------------------------------------------------


class RollingUpdateStatefulSetStrategy(KubeModel):
    """partition: ordinals below it keep their revision; maxUnavailable: at most this many updated at once (1 when unset)."""

    partition: NonNegative = 0
    maxUnavailable: IntOrString | None = None

    @model_validator(mode="after")
    def _values(self) -> RollingUpdateStatefulSetStrategy:
        if self.maxUnavailable is not None:
            _check_int_or_percent(self.maxUnavailable, "maxUnavailable")
            if self.maxUnavailable in (0, "0%"):
                raise ValueError("maxUnavailable: Invalid value: 0: must be greater than 0")
        return self


class StatefulSetUpdateStrategy(KubeModel):
    type: Literal["RollingUpdate", "OnDelete"] = "RollingUpdate"
    rollingUpdate: RollingUpdateStatefulSetStrategy | None = None

    @model_validator(mode="after")
    def _default(self) -> StatefulSetUpdateStrategy:
        if self.type == "RollingUpdate" and self.rollingUpdate is None:
            self.rollingUpdate = RollingUpdateStatefulSetStrategy()
        if self.type == "OnDelete" and self.rollingUpdate is not None:
            raise ValueError("rollingUpdate: Invalid value: only allowed for updateStrategy 'RollingUpdate'")
        return self


class StatefulSetPersistentVolumeClaimRetentionPolicy(KubeModel):
    whenDeleted: Literal["Retain", "Delete"] = "Retain"
    whenScaled: Literal["Retain", "Delete"] = "Retain"


class StatefulSetOrdinals(KubeModel):
    start: NonNegative = 0


_CLAIM_TEMPLATE_MARK = "<volumeClaimTemplate>"  # never a claim's name (not a DNS subdomain)


class StatefulSetSpec(KubeModel):
    replicas: NonNegative = 1
    selector: LabelSelector
    template: PodTemplateSpec
    volumeClaimTemplates: list[StatefulSetVolumeClaim] | None = None
    serviceName: str | None = None
    podManagementPolicy: Literal["OrderedReady", "Parallel"] = "OrderedReady"
    updateStrategy: StatefulSetUpdateStrategy = Field(default_factory=StatefulSetUpdateStrategy)
    revisionHistoryLimit: NonNegative = 10
    minReadySeconds: NonNegative = 0
    persistentVolumeClaimRetentionPolicy: StatefulSetPersistentVolumeClaimRetentionPolicy = Field(
        default_factory=StatefulSetPersistentVolumeClaimRetentionPolicy
    )
    ordinals: StatefulSetOrdinals | None = None

    @field_validator("serviceName")
    @classmethod
    def _service_name(cls, v: str | None) -> str | None:
        return v if not v else check_dns1123_label(v, what="serviceName")

    @model_validator(mode="before")
    @classmethod
    def _claim_volumes_for_validation(cls, data: Any) -> Any:
        """The template's mounts may name a claim template: for the pod's checks it is a volume (removed after)."""
        if not isinstance(data, dict):
            return data
        template, claims = data.get("template"), data.get("volumeClaimTemplates")
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict) or not isinstance(claims, list):
            return data
        volumes = template["spec"].get("volumes")
        if volumes is not None and not isinstance(volumes, list):
            return data  # the model refuses it, naming the field
        volumes = list(volumes or [])
        present = {v.get("name") for v in volumes if isinstance(v, dict) and isinstance(v.get("name"), str)}
        names = [((c.get("metadata") or {}).get("name") if isinstance(c, dict) else None) for c in claims]
        added = [{"name": n, "persistentVolumeClaim": {"claimName": _CLAIM_TEMPLATE_MARK}} for n in names if isinstance(n, str) and n and n not in present]
        if not added:
            return data
        return {**data, "template": {**template, "spec": {**template["spec"], "volumes": volumes + added}}}

    @model_validator(mode="after")
    def _drop_claim_volumes(self) -> StatefulSetSpec:
        volumes = self.template.spec.volumes
        if volumes:
            kept = [v for v in volumes if v.persistentVolumeClaim is None or v.persistentVolumeClaim.claimName != _CLAIM_TEMPLATE_MARK]
            self.template.spec.volumes = kept or None
        return self


class StatefulSetCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class StatefulSetStatus(KubeModel):
    observedGeneration: int | None = None
    replicas: int = 0
    readyReplicas: int | None = None
    currentReplicas: int | None = None
    updatedReplicas: int | None = None
    currentRevision: str | None = None
    updateRevision: str | None = None
    collisionCount: int | None = None
    availableReplicas: int = 0
    conditions: list[StatefulSetCondition] | None = None


class StatefulSet(TypedObject):
    """Pods with stable names, host names and their own claims, started, updated and removed in ordinal order."""

    apiVersion: str | None = "apps/v1"
    kind: str | None = "StatefulSet"
    spec: StatefulSetSpec
    status: StatefulSetStatus = Field(default_factory=StatefulSetStatus)

    @model_validator(mode="after")
    def _rules(self) -> StatefulSet:
        spec = self.spec
        if spec.selector.is_empty():
            raise ValueError("spec.selector: Invalid value: empty selector is invalid for statefulset")
        if not spec.selector.matches(spec.template.metadata.labels):
            raise ValueError("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`")
        if spec.template.spec.restartPolicy != "Always":
            raise ValueError(
                f"spec.template.spec.restartPolicy: Unsupported value: {spec.template.spec.restartPolicy!r}: "
                'supported values: "Always"'
            )
        names: set[str] = set()
        for i, claim in enumerate(spec.volumeClaimTemplates or []):
            path = f"spec.volumeClaimTemplates[{i}]"
            if not claim.metadata.name:
                raise ValueError(f"{path}.metadata.name: Required value")
            if claim.metadata.name in names:
                raise ValueError(f"{path}.metadata.name: Duplicate value: {claim.metadata.name!r}")
            names.add(claim.metadata.name)
            check_claim_spec(claim.spec, f"{path}.spec")
        return self


class ControllerRevision(TypedObject):
    """apps/v1: an immutable snapshot of a controller's template (``data``) at a ``revision`` number."""

    apiVersion: str | None = "apps/v1"
    kind: str | None = "ControllerRevision"
    data: dict[str, Any] | None = None
    revision: int

    @field_validator("revision")
    @classmethod
    def _revision(cls, v: int) -> int:
        if v < 0:
            raise ValueError("must be greater than or equal to 0")
        return v

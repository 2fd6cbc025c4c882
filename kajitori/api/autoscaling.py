"""The autoscaling/v2 kind: HorizontalPodAutoscaler, with Kubernetes' defaults and rules.

The model checks what kube-apiserver's validation checks for the metrics Kajitori
serves: a scaleTargetRef with kind and name, minReplicas >= 1, maxReplicas >=
minReplicas, metrics of type Resource (cpu or memory) with a Utilization or
AverageValue target, and scaling policies with positive values and periods. No
metrics means Kubernetes' default, 80 % CPU utilization (filled in by the
controller, as the HPA controller does, not stored).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kajitori.api.meta import KubeModel, TypedObject
from kajitori.api.quantity import Quantity

Int32 = Annotated[int, Field(ge=0, le=2**31 - 1)]
Positive = Annotated[int, Field(gt=0, le=2**31 - 1)]

# Kubernetes' default when spec.metrics is empty: 80 % of the pods' CPU requests.
DEFAULT_CPU_UTILIZATION = 80
# The default scale-down stabilization window, seconds (scale-up has none).
DEFAULT_SCALE_DOWN_WINDOW = 300


class CrossVersionObjectReference(KubeModel):
    kind: str = Field(min_length=1)
    """Kind of the referent: Deployment, ReplicaSet or StatefulSet."""
    name: str = Field(min_length=1)
    apiVersion: str | None = None


class MetricTarget(KubeModel):
    type: Literal["Utilization", "Value", "AverageValue"]
    value: Quantity | None = None
    averageValue: Quantity | None = None
    averageUtilization: Positive | None = None
    """Percent of the pods' requests, averaged over the pods."""


class ResourceMetricSource(KubeModel):
    name: Literal["cpu", "memory"]
    target: MetricTarget


class MetricSpec(KubeModel):
    type: Literal["Resource"]
    """Only Resource metrics are served (no custom or external metrics API)."""
    resource: ResourceMetricSource | None = None


class HPAScalingPolicy(KubeModel):
    type: Literal["Pods", "Percent"]
    value: Positive
    periodSeconds: Annotated[int, Field(gt=0, le=1800)]


class HPAScalingRules(KubeModel):
    stabilizationWindowSeconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    selectPolicy: Literal["Max", "Min", "Disabled"] | None = None
    policies: list[HPAScalingPolicy] | None = None


class HorizontalPodAutoscalerBehavior(KubeModel):
    scaleUp: HPAScalingRules | None = None
    scaleDown: HPAScalingRules | None = None


class HorizontalPodAutoscalerSpec(KubeModel):
    scaleTargetRef: CrossVersionObjectReference
    """The workload scaled, through its scale subresource."""
    minReplicas: Positive = 1
    """The lower bound of the replicas; default 1."""
    maxReplicas: Positive
    """The upper bound of the replicas; not below minReplicas."""
    metrics: list[MetricSpec] | None = None
    """What the replicas follow; default 80 % CPU utilization."""
    behavior: HorizontalPodAutoscalerBehavior | None = None
    """Scale-up and scale-down windows and policies."""


class MetricValueStatus(KubeModel):
    value: Quantity | None = None
    averageValue: Quantity | None = None
    averageUtilization: Int32 | None = None


class ResourceMetricStatus(KubeModel):
    name: str
    current: MetricValueStatus


class MetricStatus(KubeModel):
    type: str
    resource: ResourceMetricStatus | None = None


class HorizontalPodAutoscalerCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class HorizontalPodAutoscalerStatus(KubeModel):
    observedGeneration: int | None = None
    lastScaleTime: str | None = None
    currentReplicas: Int32 | None = None
    desiredReplicas: Int32 | None = None
    currentMetrics: list[MetricStatus] | None = None
    conditions: list[HorizontalPodAutoscalerCondition] | None = None


class HorizontalPodAutoscaler(TypedObject):
    """autoscaling/v2 HorizontalPodAutoscaler: the replicas of a workload follow its pods' usage.

    Rules as kube-apiserver's (422 naming the field): maxReplicas not below minReplicas,
    a Resource metric names its resource and has the field its target type needs.
    """

    apiVersion: str | None = "autoscaling/v2"
    kind: str | None = "HorizontalPodAutoscaler"
    spec: HorizontalPodAutoscalerSpec
    """Specification of the autoscaler."""
    status: HorizontalPodAutoscalerStatus = Field(default_factory=HorizontalPodAutoscalerStatus)
    """Most recently observed status of the autoscaler; read-only."""

    @model_validator(mode="after")
    def _rules(self) -> HorizontalPodAutoscaler:
        spec = self.spec
        if spec.maxReplicas < spec.minReplicas:
            raise ValueError(
                f"spec.maxReplicas: Invalid value: {spec.maxReplicas}: must be greater than or equal to `minReplicas`"
            )
        for i, metric in enumerate(spec.metrics or []):
            where = f"spec.metrics[{i}].resource"
            if metric.resource is None:
                raise ValueError(f"{where}: Required value: must populate resource information for resource metrics")
            target = metric.resource.target
            needed = {"Utilization": "averageUtilization", "AverageValue": "averageValue", "Value": "value"}[target.type]
            if getattr(target, needed) is None:
                raise ValueError(f"{where}.target.{needed}: Required value: must set {needed} for type {target.type}")
            if target.type == "Value":
                raise ValueError(f'{where}.target.type: Unsupported value: "Value": supported values: "Utilization", "AverageValue"')
        return self

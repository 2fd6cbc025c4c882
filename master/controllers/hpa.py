"""The HorizontalPodAutoscaler controller: a workload's replicas follow its pods' CPU or memory (kube-controller-manager's).

reconcile(namespace/name), every sync period (15 s, --horizontal-pod-autoscaler-sync-period:
each key is queued again that long after its reconcile, as the upstream queue's fixed
interval does) and on every change of the HPA:

1. read the target's ``scale`` subresource (replicas and the pods' selector);
   failing that: AbleToScale False/FailedGetScale;
2. replicas 0 (with minReplicas > 0): ScalingActive False/ScalingDisabled, nothing else;
   outside [min, max]: move inside; otherwise for each metric, the pods of the selector
   (pod informer) and their usage (metrics.k8s.io, what the scraper keeps) give a
   proposal through ``hpa_rules.desired_from_utilization`` (or the AverageValue rule), the
   largest wins; no usable metric: ScalingActive False/FailedGetResourceMetric;
3. the proposal goes through the behavior (stabilization windows, policies, kept per HPA
   in memory as upstream does) and the min/max bounds, which set ScalingLimited;
4. a different count is written to ``scale`` (SuccessfulRescale Event "New size: N;
   reason: ...", lastScaleTime), then the status: currentReplicas, desiredReplicas,
   currentMetrics and the three conditions with Kubernetes' reasons and messages.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from kajitori.api.autoscaling import (
    DEFAULT_CPU_UTILIZATION,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerCondition,
    MetricSpec,
    MetricStatus,
    MetricTarget,
    MetricValueStatus,
    ResourceMetricSource,
    ResourceMetricStatus,
)
from kajitori.api.core import Pod
from kajitori.api.quantity import parse_quantity
from kajitori.api.registry import UnknownResource, by_kind
from kajitori.api.selectors import SelectorError, parse_label_selector
from kajitori.client import ApiError
from kajitori.clock import format_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.hpa_rules import (
    DEFAULT_DOWN,
    DEFAULT_UP,
    TOLERANCE,
    NoMetrics,
    PodSample,
    Recommendation,
    ScaleEvent,
    clamp,
    desired_from_utilization,
    limited_by_policies,
    stabilized,
    utilization,
)
from master.controllers.pod_state import is_ready

log = logging.getLogger(__name__)

SYNC_PERIOD_S = 15.0
METRICS = "/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"
DEFAULT_METRIC = MetricSpec(
    type="Resource",
    resource=ResourceMetricSource(name="cpu", target=MetricTarget(type="Utilization", averageUtilization=DEFAULT_CPU_UTILIZATION)),
)


class MetricError(Exception):
    """A metric's replicas cannot be computed; the message is the condition's."""


@dataclass
class _Memory:
    """What the controller remembers of one HPA between reconciles (upstream keeps the same in memory)."""

    recommendations: list[Recommendation] = field(default_factory=list)
    events_up: list[ScaleEvent] = field(default_factory=list)
    events_down: list[ScaleEvent] = field(default_factory=list)


def _usage(value: str, resource: str) -> float:
    """Cores for cpu, bytes for memory."""
    return float(parse_quantity(value))


def _request(pod: Pod, resource: str) -> float | None:
    total = 0.0
    for container in pod.spec.containers:
        requests = container.resources.requests if container.resources else None
        if not requests or resource not in requests:
            return None
        total += _usage(str(requests[resource]), resource)
    return total


def _reason_text(resource: str, target: MetricTarget) -> str:
    return f"{resource} resource utilization (percentage of request)" if target.type == "Utilization" else f"{resource} resource"


class HorizontalPodAutoscalerController:
    name = "horizontal-pod-autoscaler"

    def __init__(self, ctx: LoopContext, *, sync_period_s: float = SYNC_PERIOD_S) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.sync_period_s = sync_period_s
        self.hpas: Any = ctx.informers.informer(HorizontalPodAutoscaler)
        self.pods: Any = ctx.informers.informer(Pod)
        self.memory: dict[str, _Memory] = {}
        self.controller = Controller(self.name, self.reconcile, informers=[self.hpas, self.pods], workers=1)
        self.hpas.add_handlers(
            lambda hpa: self.controller.enqueue(object_key(hpa)),
            lambda _old, new: self.controller.enqueue(object_key(new)),
            self._forget,
        )

    def _forget(self, hpa: HorizontalPodAutoscaler) -> None:
        self.memory.pop(object_key(hpa), None)

    # -- reconcile ---------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.memory.pop(key, None)
            return
        if hpa.metadata.deletionTimestamp is None:
            self._reconcile(key, hpa)
        raise Requeue(self.sync_period_s)

    def _reconcile(self, key: str, hpa: HorizontalPodAutoscaler) -> None:
        now = self.ctx.clock.time()
        ref = hpa.spec.scaleTargetRef
        namespace = hpa.metadata.namespace or ""
        status = hpa.status.model_copy(deep=True)
        conditions: dict[str, tuple[str, str, str]] = {}
        try:
            scale_path = self._scale_path(ref.apiVersion or "apps/v1", ref.kind, namespace, ref.name)
            scale = self.client.request("GET", scale_path)
        except (ApiError, UnknownResource) as exc:
            message = f"the HPA controller was unable to get the target's current scale: {getattr(exc, 'message', exc)}"
            self.ctx.recorder.warning(hpa, "FailedGetScale", message)
            conditions["AbleToScale"] = ("False", "FailedGetScale", message)
            self._write_status(hpa, status, conditions, now)
            return
        conditions["AbleToScale"] = ("True", "SucceededGetScale", "the HPA controller was able to get the target's current scale")
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        selector = str((scale.get("status") or {}).get("selector") or "")
        status.currentReplicas = int((scale.get("status") or {}).get("replicas") or 0)
        memory = self.memory.setdefault(key, _Memory())
        min_replicas, max_replicas = hpa.spec.minReplicas, hpa.spec.maxReplicas
        reason = ""
        if current == 0 and min_replicas != 0:
            conditions["ScalingActive"] = ("False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
            desired = 0
        elif current > max_replicas:
            desired, reason = max_replicas, "Current number of replicas above Spec.MaxReplicas"
        elif current < min_replicas:
            desired, reason = min_replicas, "Current number of replicas below Spec.MinReplicas"
        else:
            try:
                proposal, metric_reason, status.currentMetrics = self._compute(hpa, namespace, selector, current)
            except MetricError as exc:
                message = f"the HPA was unable to compute the replica count: {exc}"
                self.ctx.recorder.warning(hpa, "FailedGetResourceMetric", str(exc))
                self.ctx.recorder.warning(hpa, "FailedComputeMetricsReplicas", message)
                conditions["ScalingActive"] = ("False", "FailedGetResourceMetric", message)
                self._write_status(hpa, status, conditions, now, desired=current)
                return
            conditions["ScalingActive"] = (
                "True", "ValidMetricFound", f"the HPA was able to successfully calculate a replica count from {metric_reason}"
            )  # fmt: skip
            desired = self._normalize(hpa, memory, proposal, current, now, conditions)
            reason = f"{metric_reason} above target" if desired > current else "All metrics below target"
        if desired != current:
            try:
                self.client.request("PUT", scale_path, body={**scale, "spec": {**(scale.get("spec") or {}), "replicas": desired}})
            except ApiError as exc:
                message = f"the HPA controller was unable to update the target scale: {exc.message}"
                self.ctx.recorder.warning(hpa, "FailedRescale", f"New size: {desired}; reason: {reason}; error: {exc.message}")
                conditions["AbleToScale"] = ("False", "FailedUpdateScale", message)
                self._write_status(hpa, status, conditions, now, desired=current)
                return
            (memory.events_up if desired > current else memory.events_down).append(ScaleEvent(desired - current, now))
            self.ctx.recorder.normal(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            conditions["AbleToScale"] = ("True", "SucceededRescale", f"the HPA controller was able to update the target scale to {desired}")
            status.lastScaleTime = format_time(now)
        self._write_status(hpa, status, conditions, now, desired=desired)

    def _scale_path(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        resource = by_kind(api_version, kind)
        if "scale" not in resource.subresources:
            raise UnknownResource(f"{kind} has no scale subresource")
        prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
        return f"{prefix}/namespaces/{quote(namespace)}/{resource.plural}/{quote(name)}/scale"

    # -- metrics ---------------------------------------------------------------------

    def _compute(self, hpa: HorizontalPodAutoscaler, namespace: str, selector: str, current: int) -> tuple[int, str, list[MetricStatus]]:
        """The largest proposal of the metrics, the reason of that metric, and each metric's current value."""
        try:
            query = parse_label_selector(selector)
        except SelectorError as exc:
            raise MetricError(f"invalid selector {selector!r}: {exc}") from None
        if not selector:
            raise MetricError("the target's scale has no selector")
        pods = [p for p in self.pods.by_index("namespace", namespace) if query.matches(p.metadata.labels)]
        path = METRICS.format(ns=quote(namespace)) + "?" + urlencode({"labelSelector": selector})
        try:
            listed = self.client.request("GET", path) or {}
        except ApiError as exc:
            raise MetricError(f"unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: {exc.message}") from None
        usage: dict[str, dict[str, float]] = {}
        for item in listed.get("items") or []:
            totals = usage.setdefault(item["metadata"]["name"], {})
            for container in item.get("containers") or []:
                for resource, value in (container.get("usage") or {}).items():
                    totals[resource] = totals.get(resource, 0.0) + _usage(str(value), resource)
        best: tuple[int, str] | None = None
        statuses: list[MetricStatus] = []
        errors: list[str] = []
        for metric in hpa.spec.metrics or [DEFAULT_METRIC]:
            assert metric.resource is not None  # the model requires it for Resource metrics
            resource, target = metric.resource.name, metric.resource.target
            try:
                proposal, current_status = self._proposal(resource, target, pods, usage, current)
            except MetricError as exc:
                errors.append(str(exc))
                continue
            statuses.append(MetricStatus(type="Resource", resource=ResourceMetricStatus(name=resource, current=current_status)))
            if best is None or proposal > best[0]:
                best = (proposal, _reason_text(resource, target))
        if best is None:
            raise MetricError("; ".join(errors))
        return best[0], best[1], statuses

    def _proposal(
        self, resource: str, target: MetricTarget, pods: list[Pod], usage: dict[str, dict[str, float]], current: int
    ) -> tuple[int, MetricValueStatus]:
        samples = []
        for pod in pods:
            ignored = pod.metadata.deletionTimestamp is not None or pod.status.phase == "Failed"
            request = _request(pod, resource)
            if request is None and not ignored and target.type == "Utilization":
                raise MetricError(f"failed to get {resource} utilization: missing request for {resource} in pod {pod.metadata.name}")
            # Memory ignores readiness (upstream counts every pod with a sample); CPU does not.
            ready = (is_ready(pod) and pod.status.phase == "Running") if resource == "cpu" else pod.status.phase != "Pending"
            name = pod.metadata.name or ""
            samples.append(PodSample(name, ready, request or 0.0, usage.get(name, {}).get(resource), ignored))
        counted = [s for s in samples if not s.ignored and s.ready and s.usage is not None]
        if not counted:
            raise MetricError(f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API")
        average = sum(s.usage or 0.0 for s in counted) / len(counted)
        average_value = f"{round(average * 1000)}m" if resource == "cpu" else str(int(average))
        if target.type == "Utilization":
            percent = target.averageUtilization or DEFAULT_CPU_UTILIZATION
            try:
                now_percent = utilization(samples)
                proposal = desired_from_utilization(current, samples, percent)
            except NoMetrics as exc:
                raise MetricError(f"failed to get {resource} utilization: {exc}") from None
            return proposal, MetricValueStatus(averageUtilization=now_percent, averageValue=average_value)  # type: ignore[arg-type]
        # AverageValue: the pods' total over the target per pod (upstream's GetRawResourceReplicas, without the unready rules).
        wanted = _usage(str(target.averageValue), resource)
        ratio = average / wanted if wanted > 0 else 0.0
        proposal = current if abs(1.0 - ratio) <= TOLERANCE else math.ceil(sum(s.usage or 0.0 for s in counted) / wanted)
        return proposal, MetricValueStatus(averageValue=average_value)  # type: ignore[arg-type]

    # -- behavior and bounds ---------------------------------------------------------

    def _normalize(
        self, hpa: HorizontalPodAutoscaler, memory: _Memory, proposal: int, current: int, now: float, conditions: dict[str, tuple[str, str, str]]
    ) -> int:
        behavior = hpa.spec.behavior
        up = (behavior.scaleUp if behavior and behavior.scaleUp else None) or DEFAULT_UP
        down = (behavior.scaleDown if behavior and behavior.scaleDown else None) or DEFAULT_DOWN
        up = up if up.policies is not None else up.model_copy(update={"policies": DEFAULT_UP.policies})
        down = down if down.policies is not None else down.model_copy(update={"policies": DEFAULT_DOWN.policies})
        longest = max(up.stabilizationWindowSeconds or 0, down.stabilizationWindowSeconds if down.stabilizationWindowSeconds is not None else 300)
        memory.recommendations = [r for r in memory.recommendations if r.at > now - longest]
        settled = stabilized(proposal, current, memory.recommendations, now=now, up=up, down=down)
        memory.recommendations.append(Recommendation(proposal, now))
        if settled != proposal:
            conditions["AbleToScale"] = (
                "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
            ) if settled > proposal else (
                "True", "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
            )  # fmt: skip
        else:
            conditions["AbleToScale"] = ("True", "ReadyForNewScale", "recommended size matches current size")
        limited = settled
        if settled > current:
            limited = limited_by_policies(settled, current, memory.events_up, now=now, rules=up)
            if limited < settled:
                conditions["ScalingLimited"] = ("True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
        elif settled < current:
            limited = limited_by_policies(settled, current, memory.events_down, now=now, rules=down)
            if limited > settled:
                conditions["ScalingLimited"] = ("True", "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
        bounded, why = clamp(limited, min_replicas=hpa.spec.minReplicas, max_replicas=hpa.spec.maxReplicas)
        if why == "TooManyReplicas":
            conditions["ScalingLimited"] = ("True", why, "the desired replica count is more than the maximum replica count")
        elif why == "TooFewReplicas":
            conditions["ScalingLimited"] = ("True", why, "the desired replica count is less than the minimum replica count")
        conditions.setdefault("ScalingLimited", ("False", "DesiredWithinRange", "the desired count is within the acceptable range"))
        period = max([p.periodSeconds for p in [*(up.policies or []), *(down.policies or [])]] or [15])
        memory.events_up = [e for e in memory.events_up if e.at > now - period]
        memory.events_down = [e for e in memory.events_down if e.at > now - period]
        return bounded

    # -- status ----------------------------------------------------------------------

    def _write_status(
        self,
        hpa: HorizontalPodAutoscaler,
        status: Any,
        conditions: dict[str, tuple[str, str, str]],
        now: float,
        *,
        desired: int | None = None,
    ) -> None:
        old = {c.type: c for c in hpa.status.conditions or []}
        merged = []
        for kind in ("AbleToScale", "ScalingActive", "ScalingLimited"):
            if kind not in conditions:
                if kind in old:
                    merged.append(old[kind])
                continue
            value, reason, message = conditions[kind]
            before = old.get(kind)
            since = before.lastTransitionTime if before is not None and before.status == value else format_time(now)
            merged.append(HorizontalPodAutoscalerCondition(type=kind, status=value, reason=reason, message=message, lastTransitionTime=since))  # type: ignore[arg-type]
        status.conditions = merged
        status.observedGeneration = hpa.metadata.generation
        if desired is not None:
            status.desiredReplicas = desired
        if status == hpa.status:
            return
        updated = hpa.model_copy(deep=True)
        updated.status = status
        self.client.update_status(updated)

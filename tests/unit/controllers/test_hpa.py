"""The HPA controller's reconcile on recorded inputs: a Deployment's scale, its pods (informer) and their
metrics.k8s.io usage as the master answers them; the writes to scale and status and the Events it makes."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.api.core import Pod, ResourceRequirements
from kajitori.client import ApiError
from kajitori.clock import FakeClock
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.hpa import HorizontalPodAutoscalerController
from tests.unit.controllers.builders import pod
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

SCALE = "/apis/apps/v1/namespaces/default/deployments/web/scale"


class ApiAnswers(RecordingClient):
    """The master as the controller reads it: the target's scale and the pods' metrics, recorded."""

    def __init__(self, replicas: int, usage_m: dict[str, int]) -> None:
        super().__init__()
        self.replicas = replicas
        self.usage_m = usage_m
        self.metrics_error: ApiError | None = None

    def request(self, method: str, path: str, *, body: Any = None) -> Any:
        if method == "GET" and path == SCALE:
            return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
                    "spec": {"replicas": self.replicas}, "status": {"replicas": self.replicas, "selector": "app=web"}}  # fmt: skip
        if method == "GET" and path.startswith("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb"):
            if self.metrics_error is not None:
                raise self.metrics_error
            return {"kind": "PodMetricsList", "items": [
                {"metadata": {"name": name}, "containers": [{"name": "app", "usage": {"cpu": f"{m * 1_000_000}n", "memory": "10Mi"}}]}
                for name, m in self.usage_m.items()]}  # fmt: skip
        self.writes.append((method, "", path, body))
        if method == "PUT" and path == SCALE:
            self.replicas = body["spec"]["replicas"]
        return body


def hpa(**spec: Any) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "hpa-uid", "generation": 1, "resourceVersion": "3"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
                 **spec},
    })  # fmt: skip


def burning_pod(name: str, *, ready: bool = True) -> Pod:
    p = pod(name, ready=ready)
    p.spec.containers[0].resources = ResourceRequirements(requests={"cpu": "100m"})
    return p


def setup(replicas: int, usage_m: dict[str, int], hpa_obj: HorizontalPodAutoscaler | None = None, pods: list[Pod] | None = None
          ) -> tuple[HorizontalPodAutoscalerController, ApiAnswers, RecordingRecorder, FakeClock]:  # fmt: skip
    informers, client, recorder, clock = FakeInformers(), ApiAnswers(replicas, usage_m), RecordingRecorder(), FakeClock()
    informers.informer(HorizontalPodAutoscaler).add(hpa_obj or hpa())
    informers.informer(Pod).add(*(pods if pods is not None else [burning_pod(n) for n in usage_m]))
    ctrl = HorizontalPodAutoscalerController(LoopContext(client=client, informers=informers, recorder=recorder, clock=clock))
    return ctrl, client, recorder, clock


def reconcile(ctrl: HorizontalPodAutoscalerController) -> None:
    with pytest.raises(Requeue) as requeue:
        ctrl.reconcile("default/web")
    assert requeue.value.after_s == 15.0  # the sync period: looked at again without any change


def status(client: ApiAnswers) -> Any:
    return [w[3] for w in client.writes if w[0] == "update_status"][-1].status


def conditions(client: ApiAnswers) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status(client).conditions}


def test_scales_up_on_cpu_above_target_with_the_event_and_status_kubernetes_writes() -> None:
    ctrl, client, recorder, _ = setup(2, {"web-a": 150, "web-b": 150})
    reconcile(ctrl)
    puts = [w for w in client.writes if w[0] == "PUT"]
    assert [(p[2], p[3]["spec"]["replicas"]) for p in puts] == [(SCALE, 5)]  # 150 % against 50 %: 6 wanted, max 5
    assert ("Normal", "web", "SuccessfulRescale", "New size: 5; reason: cpu resource utilization (percentage of request) above target") in recorder.events
    s = status(client)
    assert (s.currentReplicas, s.desiredReplicas, s.lastScaleTime) == (2, 5, "2023-11-14T22:13:20Z")
    assert s.currentMetrics[0].resource.name == "cpu" and s.currentMetrics[0].resource.current.averageUtilization == 150
    assert str(s.currentMetrics[0].resource.current.averageValue) == "150m"
    assert conditions(client) == {"AbleToScale": ("True", "SucceededRescale"), "ScalingActive": ("True", "ValidMetricFound"),
                                  "ScalingLimited": ("True", "TooManyReplicas")}  # fmt: skip


def test_within_tolerance_nothing_changes_and_an_unchanged_status_is_not_rewritten() -> None:
    ctrl, client, recorder, clock = setup(2, {"web-a": 52, "web-b": 53})
    reconcile(ctrl)
    assert not [w for w in client.writes if w[0] == "PUT"] and recorder.events == []
    assert conditions(client) == {"AbleToScale": ("True", "ReadyForNewScale"), "ScalingActive": ("True", "ValidMetricFound"),
                                  "ScalingLimited": ("False", "DesiredWithinRange")}  # fmt: skip
    ctrl.hpas.add(hpa().model_copy(update={"status": status(client)}))
    writes = len(client.writes)
    clock.advance(15)
    reconcile(ctrl)
    assert len(client.writes) == writes


def test_scale_down_waits_for_the_stabilization_window() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 30}}
    ctrl, client, recorder, clock = setup(4, {"web-a": 100, "web-b": 100, "web-c": 100, "web-d": 100}, hpa(behavior=behavior))
    reconcile(ctrl)  # 200 %: wants 8, max 5
    assert client.replicas == 5
    client.usage_m = {n: 5 for n in ("web-a", "web-b", "web-c", "web-d")}
    clock.advance(15)
    reconcile(ctrl)  # idle now, but 15 s ago 8 was recommended: stays
    assert client.replicas == 5 and conditions(client)["AbleToScale"] == ("True", "ScaleDownStabilized")
    clock.advance(20)
    reconcile(ctrl)  # the window has passed
    assert client.replicas == 1
    assert ("Normal", "web", "SuccessfulRescale", "New size: 1; reason: All metrics below target") in recorder.events


def test_no_metrics_is_scaling_active_false_and_the_replicas_stay() -> None:
    ctrl, client, recorder, _ = setup(2, {})
    ctrl.pods.add(burning_pod("web-a"), burning_pod("web-b"))
    reconcile(ctrl)
    assert not [w for w in client.writes if w[0] == "PUT"]
    assert conditions(client)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert status(client).desiredReplicas == 2
    assert any(e[2] == "FailedGetResourceMetric" for e in recorder.events)


def test_a_pod_without_a_cpu_request_is_named() -> None:
    ctrl, client, _, _ = setup(1, {"web-a": 150}, pods=[pod("web-a")])
    reconcile(ctrl)
    s = status(client)
    assert conditions(client)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert "missing request for cpu in pod web-a" in next(c.message for c in s.conditions if c.type == "ScalingActive")


def test_zero_replicas_disables_scaling_and_a_missing_target_is_failed_get_scale() -> None:
    ctrl, client, _, _ = setup(0, {})
    reconcile(ctrl)
    assert conditions(client)["ScalingActive"] == ("False", "ScalingDisabled") and not [w for w in client.writes if w[0] == "PUT"]
    ctrl2, client2, recorder2, _ = setup(1, {}, hpa(scaleTargetRef={"apiVersion": "apps/v1", "kind": "Gadget", "name": "web"}))
    reconcile(ctrl2)
    assert conditions(client2) == {"AbleToScale": ("False", "FailedGetScale")}
    assert recorder2.events[0][2] == "FailedGetScale"


def test_unready_pods_count_as_idle_on_a_scale_up() -> None:
    # Two ready pods at 150 %, two not ready yet counted as using nothing: 75 % of the four requests against 50 %.
    pods = [burning_pod("web-a"), burning_pod("web-b"), burning_pod("web-c", ready=False), burning_pod("web-d", ready=False)]
    ctrl, client, _, _ = setup(4, {"web-a": 150, "web-b": 150}, hpa(maxReplicas=10), pods=pods)
    reconcile(ctrl)
    assert client.replicas == 6  # ceil(75 / 50 * 4)
    client.usage_m = {"web-a": 90, "web-b": 90}
    reconcile(ctrl)  # the ready pods alone (90 %) would scale up; with the unready at 0 (45 %) the direction flips: no change
    assert client.replicas == 6

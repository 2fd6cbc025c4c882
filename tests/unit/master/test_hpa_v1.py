"""autoscaling/v1 <-> v2 HorizontalPodAutoscaler conversion (master.apiserver.hpa_v1), as Kubernetes converts."""

from __future__ import annotations

from typing import Any

import orjson

from master.apiserver.hpa_v1 import BEHAVIOR, CONDITIONS, METRICS, answer_to_v1, patch_to_v2, to_v1, to_v2

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU50: dict[str, Any] = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}


def test_v1_cpu_target_is_a_v2_cpu_utilization_metric() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
          "spec": {"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}}  # fmt: skip
    v2 = to_v2(v1)
    assert v2["apiVersion"] == "autoscaling/v2" and v2["spec"] == {"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 5, "metrics": [CPU50]}
    no_target = to_v2({**v1, "spec": {"scaleTargetRef": REF, "maxReplicas": 5}})
    assert "metrics" not in no_target["spec"]  # v2's default (80 % CPU) applies, as for v1


def test_what_v1_cannot_say_rides_in_annotations_and_comes_back() -> None:
    stored = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
              "spec": {"scaleTargetRef": REF, "maxReplicas": 5, "metrics": [CPU50, MEM], "behavior": {"scaleDown": {"stabilizationWindowSeconds": 10}}},
              "status": {"currentReplicas": 2, "desiredReplicas": 3,
                         "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 91}}}],
                         "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"}]}}  # fmt: skip
    v1 = to_v1(stored)
    assert v1["spec"] == {"scaleTargetRef": REF, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}
    assert v1["status"] == {"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 91}
    annotations = v1["metadata"]["annotations"]
    assert orjson.loads(annotations[METRICS]) == [MEM] and orjson.loads(annotations[BEHAVIOR]) == {"scaleDown": {"stabilizationWindowSeconds": 10}}
    assert orjson.loads(annotations[CONDITIONS])[0]["reason"] == "SucceededRescale"
    edited = {**v1, "spec": {**v1["spec"], "targetCPUUtilizationPercentage": 70}}
    back = to_v2(edited)
    assert back["spec"]["metrics"] == [{**CPU50, "resource": {**CPU50["resource"], "target": {**CPU50["resource"]["target"], "averageUtilization": 70}}}, MEM]
    assert back["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 10}} and back["metadata"]["annotations"] is None


def test_lists_watch_events_and_patches() -> None:
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"}, "spec": {"scaleTargetRef": REF, "maxReplicas": 2, "metrics": [CPU50]}}
    listed = answer_to_v1({"kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2", "items": [obj]})
    assert listed["apiVersion"] == "autoscaling/v1" and listed["items"][0]["spec"]["targetCPUUtilizationPercentage"] == 50
    assert answer_to_v1({"type": "ADDED", "object": obj})["object"]["apiVersion"] == "autoscaling/v1"
    assert answer_to_v1({"kind": "Status", "code": 404}) == {"kind": "Status", "code": 404}
    assert patch_to_v2({"spec": {"targetCPUUtilizationPercentage": 60}}, "application/merge-patch+json")["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    ops = patch_to_v2([{"op": "replace", "path": "/spec/targetCPUUtilizationPercentage", "value": 40}], "application/json-patch+json")
    assert ops == [{"op": "add", "path": "/spec/metrics", "value": [{**CPU50, "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 40}}}]}]

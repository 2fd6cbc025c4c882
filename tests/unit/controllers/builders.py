"""Objects for controller unit tests, built in their wire shape."""

from __future__ import annotations

from typing import Any

from kajitori.api.apps import Deployment, ReplicaSet
from kajitori.api.core import Node, Pod

LABELS = {"app": "web"}
TEMPLATE: dict[str, Any] = {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "app", "image": "img:1"}]}}


def replicaset(name: str = "web", replicas: int = 3, *, uid: str = "rs-uid", owner: Deployment | None = None,
               template: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> ReplicaSet:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid, "resourceVersion": "1", "generation": 1,
                            "creationTimestamp": "2024-01-01T00:00:00Z", "annotations": annotations}  # fmt: skip
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner.metadata.name,
                                    "uid": owner.metadata.uid, "controller": True}]  # fmt: skip
    tmpl = template or TEMPLATE
    return ReplicaSet.model_validate({"metadata": meta, "spec": {"replicas": replicas, "selector": {"matchLabels": dict(tmpl["metadata"]["labels"])}, "template": tmpl}})


def pod(name: str, *, owner: Any = None, node: str | None = "n1", ready: bool = True, ip: str | None = "10.244.0.2",
        created: str = "2024-01-01T00:00:00Z", labels: dict[str, str] | None = None, ports: list[dict[str, Any]] | None = None) -> Pod:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels or dict(LABELS),
                            "creationTimestamp": created, "resourceVersion": "1"}  # fmt: skip
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner.apiVersion, "kind": owner.kind, "name": owner.metadata.name,
                                    "uid": owner.metadata.uid, "controller": True}]  # fmt: skip
    container: dict[str, Any] = {"name": "app", "image": "img:1"}
    if ports:
        container["ports"] = ports
    status: dict[str, Any] = {"phase": "Running" if node else "Pending"}
    if node and ip:
        status["podIP"] = ip
    if node:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    return Pod.model_validate({"metadata": meta, "spec": {"containers": [container], "nodeName": node}, "status": status})


def deployment(replicas: int = 4, *, surge: int | str = 1, unavailable: int | str = 1, image: str = "img:2") -> Deployment:
    template = {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "app", "image": image}]}}
    return Deployment.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "deploy-uid", "generation": 2, "resourceVersion": "5"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS}, "template": template,
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}},
    })  # fmt: skip


def node(name: str, *, ready: str = "True", heartbeat: str = "2023-11-14T22:13:20Z", taints: list[dict[str, Any]] | None = None) -> Node:
    return Node.model_validate({
        "metadata": {"name": name, "resourceVersion": "3", "creationTimestamp": "2023-11-14T22:00:00Z"},
        "spec": {"taints": taints},
        "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat}],
                   "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
    })  # fmt: skip

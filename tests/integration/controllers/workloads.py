"""Manifests and reads the controller tests share."""

from __future__ import annotations

from typing import Any

from kajitori.api.apps import Deployment
from kajitori.api.core import Pod
from kajitori.client import ApiClient
from master.controllers.pod_state import is_active, is_ready


def deployment(name: str, *, replicas: int = 3, image: str = "kajitori/busybox:1", strategy: dict[str, Any] | None = None,
               ports: list[dict[str, Any]] | None = None, namespace: str = "default") -> Deployment:  # fmt: skip
    container: dict[str, Any] = {"name": "app", "image": image}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
    }
    if strategy:
        spec["strategy"] = strategy
    return Deployment.model_validate({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def app_pods(client: ApiClient, app: str, namespace: str = "default") -> list[Pod]:
    return client.list(Pod, namespace, label_selector=f"app={app}").items


def active(pods: list[Pod]) -> list[Pod]:
    return [p for p in pods if is_active(p)]


def ready(pods: list[Pod]) -> list[Pod]:
    return [p for p in pods if is_active(p) and is_ready(p)]


def rolled_out(client: ApiClient, name: str, namespace: str = "default") -> bool:
    d = client.get(Deployment, name, namespace)
    s = d.status
    return bool(
        (s.observedGeneration or 0) >= (d.metadata.generation or 0)
        and s.updatedReplicas == d.spec.replicas
        and s.availableReplicas == d.spec.replicas
        and s.replicas == d.spec.replicas
    )

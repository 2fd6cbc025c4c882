"""Metrics and autoscaling on the real lab (issue 15): `kubectl top nodes` shows every Ready node with a
non-zero CPU and memory (the agents' Docker stats, scraped by the master every 15 s), and an HPA on a
Deployment whose pods burn CPU for two minutes scales it up, then back down once the burning stops.
The HPA and the Deployment are deleted at the end, their pods with them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api.apps import Deployment
from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.api.core import Event, Node, Pod
from kajitori.client import ApiClient, NotFoundError
from lab.failover import wait_until
from tests.e2e.conftest import ADMIN_KUBECONFIG

pytestmark = pytest.mark.e2e

NAMESPACE = "default"
NAME = "e2e-hpa-burn"
# A bounded busy loop: each pod burns a core for two minutes, then idles.
BURN = "timeout 120 sh -c 'while :; do :; done'; exec sleep 3600"


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(ADMIN_KUBECONFIG)}
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=60, env=env)


def ready_nodes(api: ApiClient) -> set[str]:
    return {
        n.metadata.name or ""
        for n in api.list(Node).items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    }


def burning_pods(api: ApiClient) -> list[Pod]:
    return api.list(Pod, NAMESPACE, label_selector=f"app={NAME}").items


@pytest.fixture
def burner(lab_api: ApiClient) -> Iterator[ApiClient]:
    def remove() -> None:
        for model in (HorizontalPodAutoscaler, Deployment):
            try:
                lab_api.delete(model, NAME, NAMESPACE)
            except NotFoundError:
                pass

    remove()  # left over from an interrupted run
    wait_until("earlier burning pods gone", lambda: not burning_pods(lab_api), timeout_s=90)
    yield lab_api
    remove()
    wait_until("the burning pods collected", lambda: not burning_pods(lab_api), timeout_s=120)


def test_kubectl_top_nodes_shows_every_ready_node_busy_and_using_memory(lab_api: ApiClient, lab: Path) -> None:
    nodes = ready_nodes(lab_api)
    assert len(nodes) >= 2, nodes

    shown: dict[str, list[str]] = {}

    def listed() -> bool:
        proc = kubectl("top", "nodes", "--no-headers")
        shown.clear()
        shown.update({line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.strip()})
        return proc.returncode == 0 and nodes <= set(shown)

    wait_until("kubectl top nodes listing every Ready node", listed, timeout_s=90)
    for node in nodes:
        cpu, memory = shown[node][1], shown[node][3]
        assert cpu.endswith("m") and int(cpu[:-1]) > 0, shown[node]
        assert memory.endswith("Mi") and int(memory[:-2]) > 0, shown[node]


def test_an_hpa_scales_a_cpu_burning_deployment_up_and_back_down(burner: ApiClient, lab: Path) -> None:
    container = {"name": "burn", "image": "kajitori/busybox:1", "command": ["sh", "-c", BURN], "resources": {"requests": {"cpu": "50m"}}}
    burner.create(Deployment.model_validate({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": NAME}},
                 "template": {"metadata": {"labels": {"app": NAME}},
                              "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}},
    }))  # fmt: skip
    burner.create(HorizontalPodAutoscaler.model_validate({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME}, "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}},
    }))  # fmt: skip

    def replicas() -> int:
        return burner.get(Deployment, NAME, NAMESPACE).spec.replicas

    def rescaled(reason: str) -> bool:
        # Events are written after the scale, by the recorder's own thread: waited for, not read at once.
        events = burner.list(Event, NAMESPACE).items
        return any(e.involvedObject.name == NAME and e.reason == "SuccessfulRescale" and (e.message or "").endswith(reason) for e in events)

    wait_until("the HPA scaling the burning Deployment up", lambda: replicas() > 1, timeout_s=120)
    wait_until("its SuccessfulRescale event", lambda: rescaled("reason: cpu resource utilization (percentage of request) above target"), timeout_s=30)
    hpa = burner.get(HorizontalPodAutoscaler, NAME, NAMESPACE)
    assert {c.type: c.reason for c in hpa.status.conditions or []}["ScalingActive"] == "ValidMetricFound"
    top = kubectl("top", "pods", "-l", f"app={NAME}", "--no-headers")
    assert top.returncode == 0 and NAME in top.stdout, top.stdout + top.stderr

    wait_until("the HPA scaling back to 1 once the burning stopped", lambda: replicas() == 1, timeout_s=360)
    wait_until("the scale-down's SuccessfulRescale event", lambda: rescaled("New size: 1; reason: All metrics below target"), timeout_s=30)

"""An HPA scales a CPU-burning Deployment up, and back down once the burning stops, on a real master with a
real agent on this dockerd (issue 15): the metrics come from the agent's Docker stats through the master's
scraper (every second here), the HPA controller looks every second (--horizontal-pod-autoscaler-sync-period 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from kajitori.api.apps import Deployment
from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.api.core import Event, Pod
from tests.integration.agent.agent_process import (
    BUSYBOX,
    AgentProcess,
    remove_node_objects,
    remove_test_network,
)
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.present import present
from tests.support.session_names import session_name


def _kubectl(version: str) -> Path | None:
    found = shutil.which("kubectl")
    binary = Path(os.path.realpath(found)).parent / f"kubectl.{version}" if found else None
    return binary if binary is not None and binary.exists() else None


pytestmark = [pytest.mark.integration, pytest.mark.skipif(_kubectl("1.33") is None, reason="kubectl.1.33 is not installed")]

# Each pod burns CPU until the test creates /tmp/stop in it, then idles: the HPA sees the load come
# and go when the test says so, not after a fixed time (a burn of 45 s made the test last 89 s).
# The 100m limit caps the burn at a tenth of a core, still twice its 50m request (200 % > the 50 %
# target), so two burning pods leave the machine's cores to the tests beside this one.
STOP_FILE = "/tmp/stop"
BURN = f"timeout 600 sh -c 'until [ -e {STOP_FILE} ]; do :; done'; exec sleep 3600"

NODE = session_name("hpa-node")  # other sessions on this dockerd must not remove its containers
NETWORK = session_name("kajitori-hpa-test")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    master = MasterProcess(
        tmp_path_factory.mktemp("hpa-master"),
        extra_args=["--metric-resolution", "1", "--horizontal-pod-autoscaler-sync-period", "1"],
    ).start()
    agent = AgentProcess(master, NODE, tmp_path_factory.mktemp("hpa-agent"), network=NETWORK)
    docker_api = docker.APIClient()
    try:
        yield agent.start()
    finally:
        agent.stop()
        master.stop()
        remove_node_objects(docker_api, NODE)
        remove_test_network(docker_api, NETWORK)
        docker_api.close()


def kubectl(master: MasterProcess, *args: str) -> str:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([str(_kubectl("1.33")), *args], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def deployment() -> dict[str, Any]:
    container = {
        "name": "burn", "image": BUSYBOX, "command": ["sh", "-c", BURN],
        "resources": {"requests": {"cpu": "50m"}, "limits": {"cpu": "100m"}},
    }  # fmt: skip
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "burn", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "burn"}},
            "template": {"metadata": {"labels": {"app": "burn"}}, "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}},
        },
    }


@pytest.mark.timeout(420)
def test_hpa_scales_a_burning_deployment_up_and_back_down(cluster: AgentProcess) -> None:
    master = cluster.master
    api = master.client()
    api.create(Deployment.model_validate(deployment()), "default")
    assert kubectl(master, "autoscale", "deployment", "burn", "--min=1", "--max=2", "--cpu-percent=50").strip() == (
        "horizontalpodautoscaler.autoscaling/burn autoscaled"
    )
    kubectl(master, "patch", "hpa", "burn", "--type=merge", "-p", '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":3}}}}')

    def scaled_to(n: int) -> HorizontalPodAutoscaler | None:
        hpa = api.get(HorizontalPodAutoscaler, "burn", "default")
        return hpa if api.get(Deployment, "burn", "default").spec.replicas == n and hpa.status.desiredReplicas == n else None

    def rescaled(message: str) -> bool:
        # Events are written after the scale, by the recorder's own thread: waited for, not read at once.
        events = api.list(Event, "default").items
        return any(e.involvedObject.name == "burn" and e.reason == "SuccessfulRescale" and e.message == message for e in events)

    hpa = wait_for(lambda: scaled_to(2), timeout=180, interval=0.5, what="the HPA scaling the burning Deployment to 2")
    assert hpa is not None
    wait_for(lambda: rescaled("New size: 2; reason: cpu resource utilization (percentage of request) above target"), timeout=30, what="the event")
    assert hpa.status.lastScaleTime is not None
    conditions = {c.type: c for c in hpa.status.conditions or []}
    assert conditions["ScalingActive"].reason == "ValidMetricFound" and conditions["AbleToScale"].status == "True"
    described = kubectl(master, "describe", "hpa", "burn")
    assert "SuccessfulRescale" in described and "ScalingActive" in described

    # Both pods (the new one too, once it runs) stop burning: the load is gone.
    def running_pods() -> list[Pod]:
        pods = api.list(Pod, "default", label_selector="app=burn").items
        return pods if len(pods) == 2 and all(p.status.phase == "Running" for p in pods) else []

    for pod in wait_for(running_pods, timeout=120, what="both pods of the burning Deployment running"):
        assert cluster.exec("default", present(pod.metadata.name), "burn", ["touch", STOP_FILE])[0] == 0

    wait_for(lambda: scaled_to(1), timeout=240, interval=0.5, what="the HPA scaling back to 1 once the burning stopped")
    wait_for(lambda: rescaled("New size: 1; reason: All metrics below target"), timeout=30, what="the scale-down's event")
    row = kubectl(master, "get", "hpa", "burn", "--no-headers").split()
    assert row[:3] == ["burn", "Deployment/burn", "cpu:"] and row[3].endswith("%/50%"), row  # kubectl 1.33's TARGETS

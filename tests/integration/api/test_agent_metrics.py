"""The agent's /metrics on its port, read as Prometheus would with the node's token or the admin's (issue 11):
pod starts, sync latency, runtime operation errors by operation and the running pods, in the kubelet's names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kajitori.api.core import Pod
from tests.integration.agent.agent_process import AgentProcess, make_pod
from tests.integration.api.test_metrics import sample
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.present import present
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    master = MasterProcess(tmp_path_factory.mktemp("agent-metrics-master")).start()
    proc = AgentProcess(master, "metrics-node", tmp_path_factory.mktemp("agent-metrics"), runtime="fake")
    try:
        yield proc.start()
    finally:
        proc.stop()
        master.stop()


def scrape(agent: AgentProcess, token: str) -> httpx.Response:
    return httpx.get(f"{agent.url}/metrics", headers={"Authorization": f"Bearer {token}"}, verify=agent.tls(), timeout=20)


def test_metrics_need_a_token_the_master_accepts(agent: AgentProcess) -> None:
    assert httpx.get(f"{agent.url}/metrics", verify=agent.tls()).status_code == 401
    assert scrape(agent, "wrong").status_code == 401


def test_pod_starts_syncs_running_pods_and_runtime_errors_are_measured(agent: AgentProcess, tmp_path: Path) -> None:
    api = agent.master.client()
    api.create(make_pod("runs", agent.node_name, [{"name": "c", "image": "busybox:1"}]), "default")
    never = make_pod("never", agent.node_name, [{"name": "c", "image": "absent:1", "imagePullPolicy": "Never"}])
    api.create(never, "default")
    wait_for(lambda: api.get(Pod, "runs", "default").status.phase == "Running", timeout=PROCESS_TIMEOUT_S, what="the pod Running")

    def measured() -> str | None:
        text = scrape(agent, agent.token).text
        errors = sample(text, "kubelet_runtime_operations_errors_total", operation_type="ensure_image") or 0
        started = sample(text, "kubelet_pod_start_duration_seconds_count") or 0
        return text if errors >= 1 and started >= 1 else None

    text = present(wait_for(measured, timeout=PROCESS_TIMEOUT_S, what="a pod start and an image error measured"))
    r = scrape(agent, agent.token)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert sample(text, "kubelet_running_pods") == 1
    assert (sample(text, "kubelet_pod_worker_duration_seconds_count", operation="sync") or 0) >= 2
    assert sample(text, "kubelet_pod_start_duration_seconds_bucket", le="+Inf") == sample(text, "kubelet_pod_start_duration_seconds_count")
    # The admin's token is one the master accepts for this Node.
    assert scrape(agent, api.config.token or "").status_code == 200

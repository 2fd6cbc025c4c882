"""kubectl top nodes / top pods against a real master scraping a real agent on this dockerd (issue 15).

The agent samples its containers with Docker and serves kubelet's /metrics/resource; the
master scrapes it every second here (--metric-resolution 1) and serves metrics.k8s.io.
A pod burning CPU shows up with a non-zero CPU and memory in `kubectl top pods` of kubectl
1.28, 1.32 and 1.33, its node in `kubectl top nodes`; label selectors pick pods; a pod
with no metrics is 404 as metrics-server answers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from kajitori.api.core import Pod
from tests.integration.agent.agent_process import AgentProcess, make_pod, remove_node_objects, shell
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S
from tests.support.session_names import session_name


def _kubectl_dir() -> Path | None:
    found = shutil.which("kubectl")
    return Path(os.path.realpath(found)).parent if found else None


KUBECTLS = [v for v in ("1.28", "1.32", "1.33") if (d := _kubectl_dir()) and (d / f"kubectl.{v}").exists()]

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.28 / 1.32 / 1.33 are not installed")]

BURN = "timeout 300 sh -c 'while :; do :; done'; sleep 3600"

NODE = session_name("top-node")  # other sessions on this dockerd must not remove its containers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    master = MasterProcess(tmp_path_factory.mktemp("top-master"), extra_args=["--metric-resolution", "1"]).start()
    agent = AgentProcess(master, NODE, tmp_path_factory.mktemp("top-agent"))
    docker_api = docker.APIClient()
    try:
        agent.start()
        api = master.client()
        api.create(make_pod("burner", agent.node_name, [shell("burn", BURN)], ), "default")
        pod = api.get(Pod, "burner", "default")
        pod.metadata.labels = {"app": "burner"}
        api.update(pod)
        api.create(make_pod("idle", agent.node_name, [shell("idle", "sleep 3600")]), "default")
        yield agent
    finally:
        agent.stop()
        master.stop()
        remove_node_objects(docker_api, NODE)
        docker_api.close()


def kubectl(master: MasterProcess, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    binary = _kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60, env=env)


def millicores(text: str) -> int:
    return int(text.rstrip("m"))


def test_agent_serves_kubelet_resource_metrics(cluster: AgentProcess) -> None:
    def sampled() -> str | None:
        r = httpx.get(f"{cluster.url}/metrics/resource", headers={"Authorization": f"Bearer {cluster.token}"}, verify=cluster.tls(), timeout=20)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return r.text if 'container_cpu_usage_seconds_total{container="burn",namespace="default",pod="burner"}' in r.text else None

    text = wait_for(sampled, timeout=PROCESS_TIMEOUT_S, what="the burner's CPU in /metrics/resource")
    assert text is not None
    assert re.search(r"^node_cpu_usage_seconds_total [0-9.e+]+ \d{13}$", text, re.M), text
    assert re.search(r'^container_memory_working_set_bytes\{container="burn",namespace="default",pod="burner"\} [1-9]', text, re.M), text
    assert httpx.get(f"{cluster.url}/metrics/resource", verify=cluster.tls(), timeout=20).status_code == 401


@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_top_pods_and_nodes(cluster: AgentProcess, version: str) -> None:
    master = cluster.master

    def burner_row() -> list[str] | None:
        proc = kubectl(master, version, "top", "pods", "-n", "default")
        rows = [line.split() for line in proc.stdout.splitlines()[1:]]
        found = [r for r in rows if r[0] == "burner"]
        return found[0] if proc.returncode == 0 and found and millicores(found[0][1]) >= 200 else None

    row = wait_for(burner_row, timeout=PROCESS_TIMEOUT_S, what=f"kubectl {version} top pods showing the burner busy")
    assert row is not None
    assert row[2].endswith("Mi") and int(row[2][:-2]) >= 0

    selected = kubectl(master, version, "top", "pods", "-l", "app=burner", "--no-headers")
    assert selected.returncode == 0, selected.stderr
    assert [line.split()[0] for line in selected.stdout.splitlines()] == ["burner"]

    containers = kubectl(master, version, "top", "pod", "burner", "--containers", "--no-headers")
    assert containers.returncode == 0 and containers.stdout.split()[:2] == ["burner", "burn"], containers.stdout + containers.stderr

    nodes = kubectl(master, version, "top", "nodes", "--no-headers")
    assert nodes.returncode == 0, nodes.stderr
    node_row = next(line.split() for line in nodes.stdout.splitlines() if line.split()[0] == cluster.node_name)
    assert millicores(node_row[1]) > 0 and node_row[3].endswith("Mi") and int(node_row[3][:-2]) > 0


def test_metrics_api_lists_and_refuses_unknown(cluster: AgentProcess) -> None:
    master = cluster.master
    http = httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {master.client().config.token}"}, verify=master.tls(), timeout=20)
    groups = http.get("/apis").json()["groups"]
    assert {"name": "metrics.k8s.io", "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}}.items() <= next(
        g for g in groups if g["name"] == "metrics.k8s.io"
    ).items()
    kinds = {r["name"]: r["kind"] for r in http.get("/apis/metrics.k8s.io/v1beta1").json()["resources"]}
    assert kinds == {"nodes": "NodeMetrics", "pods": "PodMetrics"}
    wait_for(lambda: http.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burner").status_code == 200, timeout=PROCESS_TIMEOUT_S, what="burner metrics")
    one = http.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burner").json()
    assert one["kind"] == "PodMetrics" and one["metadata"]["labels"] == {"app": "burner"} and one["window"].endswith("s")
    assert one["containers"][0]["usage"]["cpu"].endswith("n") and one["containers"][0]["usage"]["memory"].endswith("Ki")
    missing = http.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nobody")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    bad = http.get("/apis/metrics.k8s.io/v1beta1/pods", params={"labelSelector": "a in (("})
    assert bad.status_code == 400 and bad.json()["kind"] == "Status"
    listed = http.get("/apis/metrics.k8s.io/v1beta1/nodes").json()
    assert listed["kind"] == "NodeMetricsList" and [n["metadata"]["name"] for n in listed["items"]] == [cluster.node_name]

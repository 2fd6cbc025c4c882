"""kubectl --chunk-size and the official client's limit/_continue page through a real master (issue 11)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

NS = "paging"


def _kubectl(version: str) -> Path | None:
    found = shutil.which("kubectl")
    binary = Path(os.path.realpath(found)).parent / f"kubectl.{version}" if found else None
    return binary if binary and binary.exists() else None


@pytest.fixture(scope="module")
def twelve_pods(master: MasterProcess) -> list[str]:
    token = master.client().config.token
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, verify=master.tls()) as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code == 201
        names = [f"p{i:02}" for i in range(12)]
        for name in names:
            pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
            assert http.post(f"/api/v1/namespaces/{NS}/pods", json=pod).status_code == 201
    return names


@pytest.mark.parametrize("version", ["1.28", "1.32", "1.33"])
def test_kubectl_get_chunk_size_pages_three_times(master: MasterProcess, twelve_pods: list[str], version: str) -> None:
    binary = _kubectl(version)
    if binary is None:
        pytest.skip(f"kubectl.{version} is not installed")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run(
        [str(binary), "get", "pods", "-n", NS, "--chunk-size=5", "--no-headers", "-v=6"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == twelve_pods
    requests = [line for line in proc.stderr.splitlines() if f"/namespaces/{NS}/pods?" in line and "limit=5" in line]
    assert len(requests) == 3, proc.stderr
    assert ["continue=" in line for line in requests] == [False, True, True]


def test_official_client_pages_with_limit_and_continue(master: MasterProcess, twelve_pods: list[str]) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.config.new_client_from_config(config_file=str(master.kubeconfig))
    try:
        core = kubernetes.client.CoreV1Api(client)
        seen: list[str] = []
        remaining: list[int | None] = []
        token = None
        while True:
            page = core.list_namespaced_pod(NS, limit=5, _continue=token)
            seen += [p.metadata.name for p in page.items]
            remaining.append(page.metadata.remaining_item_count)
            token = page.metadata._continue
            if not token:
                break
        assert seen == twelve_pods
        assert remaining == [7, 2, None]
    finally:
        client.close()

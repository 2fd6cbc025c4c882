"""Interactive pods on the real lab, with a current kubectl: `kubectl exec` into an nginx pod
on each node (the master relays to that node's agent, the agent to its dockerd), and
`kubectl port-forward deployment/nginx LOCAL:80` answering on localhost — the seeds'
daily command."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from kajitori.client import ApiClient
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES
from tests.e2e.lab_access import wait_nginx_ready
from tests.support.master_process import free_port
from tests.support.processes import stop_process

pytestmark = pytest.mark.e2e

KUBECTL = Path(os.path.realpath(shutil.which("kubectl") or "/nonexistent")).parent / "kubectl.1.33"


def kubectl() -> list[str]:
    if not KUBECTL.exists():
        pytest.skip(f"{KUBECTL} is not installed")
    return [str(KUBECTL), "--kubeconfig", str(ADMIN_KUBECONFIG)]


@pytest.mark.parametrize("node", list(NODES))
def test_kubectl_exec_runs_in_a_pod_on_each_node(lab_api: ApiClient, node: str) -> None:
    on_node = [p["metadata"]["name"] for p in wait_nginx_ready(lab_api) if p["spec"].get("nodeName") == node]
    assert on_node, f"no nginx pod on {node} (the lab fixture spreads them over both nodes)"
    done = subprocess.run([*kubectl(), "exec", on_node[0], "--", "hostname"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == on_node[0]
    failed = subprocess.run([*kubectl(), "exec", on_node[0], "--", "sh", "-c", "exit 3"], capture_output=True, timeout=60)
    assert failed.returncode == 3, failed.stderr


@contextmanager
def port_forward(target: str, remote: int) -> Iterator[int]:
    local = free_port()
    proc = subprocess.Popen(
        [*kubectl(), "port-forward", target, f"{local}:{remote}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()  # blocks until kubectl listens (or exits, giving "")
        assert first.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}"), first
        yield local
    finally:
        stop_process(proc)


def http_get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nHost: nginx\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_kubectl_port_forward_to_the_nginx_deployment_answers_on_localhost(lab_api: ApiClient) -> None:
    wait_nginx_ready(lab_api)
    with port_forward("deployment/nginx", 80) as local, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(http_get, [local, local]))
        answers.append(http_get(local))  # and the forward still serves after both ended
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b"nginx" in answer

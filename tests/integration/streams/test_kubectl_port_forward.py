"""kubectl port-forward (SPDY/3.1 in a WebSocket, kubectl >= 1.31) to a busybox httpd in a real pod.

kubectl is started on a free local port, and the test waits for its `Forwarding from`
line before it connects; two HTTP requests go through at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from kajitori.api.apps import Deployment
from kajitori.client import ApiClient
from tests.integration.streams.conftest import HTTP_PORT, KUBECTL_VERSIONS, kubectl_binary, run_kubectl
from tests.support.master_process import MasterProcess, free_port
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration


@contextmanager
def port_forward(master: MasterProcess, version: str, target: str, remote: int) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    local = free_port()
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen(
        [kubectl_binary(version), "port-forward", target, f"{local}:{remote}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until kubectl listens (or exits, giving "")
        assert first.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}"), (first, proc.stderr.read() if proc.poll() is not None else "")
        yield local, proc
    finally:
        stop_process(proc)


def http_get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_port_forward_carries_two_concurrent_http_requests(master: MasterProcess, pod: str, version: str) -> None:
    with port_forward(master, version, f"pod/{pod}", HTTP_PORT) as (local, _proc), ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(http_get, [local, local]))
        answers.append(http_get(local))  # and the forward still serves after both ended
    for answer in answers:
        assert answer.startswith(b"HTTP/1.") and answer.rstrip().endswith(b"pong"), answer


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_port_forward_to_a_closed_port_reports_connection_refused(master: MasterProcess, pod: str, version: str) -> None:
    with port_forward(master, version, f"pod/{pod}", 9) as (local, proc):
        assert http_get(local) == b""  # the pod refused: kubectl closes the local connection
    assert proc.stderr is not None
    assert "connection refused" in proc.stderr.read().lower()


def test_kubectl_1_30_port_forward_is_told_which_versions_are_served(master: MasterProcess, pod: str) -> None:
    # kubectl 1.30 speaks SPDY for port-forward and upgrades before it listens: a clear refusal, never a hang.
    done = run_kubectl(master, "1.30", "port-forward", f"pod/{pod}", f"{free_port()}:{HTTP_PORT}")
    assert done.returncode != 0
    assert b"kubectl 1.31 or newer for port-forward" in done.stderr, done.stderr


def test_port_forward_to_a_deployment_with_two_ports(master: MasterProcess, api: ApiClient, pod: str) -> None:
    # No controllers run here: the Deployment only selects the test's pod, which is what kubectl resolves it to.
    api.create(
        Deployment.model_validate(
            {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": pod}},
                    "template": {"metadata": {"labels": {"app": pod}}, "spec": {"containers": [{"name": "main", "image": "kajitori/busybox:1"}]}},
                },
            }
        )
    )
    first, second = free_port(), free_port()
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen(
        [kubectl_binary("1.33"), "port-forward", "deployment/web", f"{first}:{HTTP_PORT}", f"{second}:{HTTP_PORT}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        wanted = {f"Forwarding from 127.0.0.1:{first} -> {HTTP_PORT}", f"Forwarding from 127.0.0.1:{second} -> {HTTP_PORT}"}
        seen: list[str] = []
        while not wanted <= set(seen):  # kubectl listens on [::1] too, and says so in between
            line = proc.stdout.readline()
            assert line, seen
            seen.append(line.strip())
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(http_get, [first, second]))
        for answer in answers:
            assert answer.rstrip().endswith(b"pong"), answer
    finally:
        stop_process(proc)

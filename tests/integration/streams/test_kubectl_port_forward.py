"""kubectl port-forward (SPDY/3.1 in a WebSocket, kubectl >= 1.31) to a busybox httpd in a real pod.

kubectl is started on a free local port, and the test waits for its `Forwarding from`
line before it connects; two HTTP requests go through at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from kajitori.api.apps import Deployment
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import AgentProcess, wait_for
from tests.integration.streams.conftest import HTTP_PORT, KUBECTL_VERSIONS, POD, kubectl_binary, run_kubectl
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
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # blocks until kubectl listens (or exits, giving "")
        assert first.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}"), (first, proc.stderr.read() if proc.poll() is not None else "")
        yield local, proc
    finally:
        stop_process(proc)


@contextmanager
def port_forwards(master: MasterProcess, version: str, target: str, remotes: list[int]) -> Iterator[tuple[list[int], subprocess.Popen[str]]]:
    """kubectl port-forward of a free local port to each remote port, once it says it listens on all of them."""
    locals_ = [free_port() for _ in remotes]
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen(
        [kubectl_binary(version), "port-forward", target, *(f"{local}:{remote}" for local, remote in zip(locals_, remotes, strict=True))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        wanted = {f"Forwarding from 127.0.0.1:{local} -> {remote}" for local, remote in zip(locals_, remotes, strict=True)}
        seen: list[str] = []
        while not wanted <= set(seen):  # kubectl listens on [::1] too, and says so in between
            line = proc.stdout.readline()
            assert line, (seen, proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
            seen.append(line.strip())
        yield locals_, proc
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


@pytest.fixture(scope="module")
def web(api: ApiClient, pod: str) -> str:
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
    return "web"


def start_in_pod(agent: AgentProcess, script: str, port: int) -> None:
    """Run `script` in the background in the pod and wait until something listens on `port` there."""
    agent.exec("default", POD, "main", ["sh", "-c", f"({script}) </dev/null >/dev/null 2>&1 &"])
    wait_for(f"a listener on {port}", lambda: f":{port} " in agent.exec("default", POD, "main", ["netstat", "-ltn"])[1])


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_port_forward_to_a_deployment_with_two_remote_ports(master: MasterProcess, agent: AgentProcess, web: str, version: str) -> None:
    second_port = {"1.33": 8181, "1.32": 8182}[version]
    start_in_pod(agent, f"mkdir -p /www2 && echo second > /www2/index.html && httpd -f -p {second_port} -h /www2", second_port)
    with port_forwards(master, version, f"deployment/{web}", [HTTP_PORT, second_port]) as (locals_, _proc), ThreadPoolExecutor(2) as pool:
        first, second = pool.map(http_get, locals_)
    assert first.rstrip().endswith(b"pong"), first
    assert second.rstrip().endswith(b"second"), second


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_a_connection_whose_pod_does_not_read_stalls_no_other(master: MasterProcess, agent: AgentProcess, pod: str, version: str) -> None:
    # A server that accepts and never reads: nc's output goes to a pipe nobody drains.
    stall_port = {"1.33": 9100, "1.32": 9101}[version]
    start_in_pod(agent, f"sleep 600 | nc -l -p {stall_port} | sleep 600", stall_port)
    with port_forwards(master, version, f"pod/{pod}", [stall_port, HTTP_PORT]) as ((stalled, served), proc):
        pushed = [0]
        flood_done = threading.Event()

        def flood() -> None:
            chunk = b"x" * 65536
            try:
                with socket.create_connection(("127.0.0.1", stalled), timeout=120) as sock:
                    while pushed[0] < 256 << 20:
                        sock.sendall(chunk)
                        pushed[0] += len(chunk)
            except OSError:
                pass  # dropped: what the master does to a connection whose pod does not take its data
            finally:
                flood_done.set()

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        wait_for("the stalled connection to take 4 MiB", lambda: pushed[0] >= 4 << 20 or flood_done.is_set())
        answer = http_get(served)  # while the other connection is stuck
        assert answer.rstrip().endswith(b"pong"), answer
        assert flood_done.wait(120), "the stalled connection was never dropped"
        answer = http_get(served)  # and the forward goes on after the stalled one was dropped
        assert answer.rstrip().endswith(b"pong"), answer
        assert proc.poll() is None


def test_a_large_upload_to_a_pod_that_reads_arrives_whole(master: MasterProcess, agent: AgentProcess, pod: str) -> None:
    # A connection that is slow but moving is never dropped for its buffer: kubectl outruns
    # the pod here only by what the relay holds.
    port, size = 9200, 64 << 20
    start_in_pod(agent, f"sleep 600 | nc -l -p {port} | wc -c > /tmp/uploaded-{port}", port)
    with port_forwards(master, "1.33", f"pod/{pod}", [port]) as ((local,), _proc):
        with socket.create_connection(("127.0.0.1", local), timeout=120) as sock:
            chunk = b"u" * 65536
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        counted = wait_for("the pod to count the upload", lambda: agent.exec("default", POD, "main", ["cat", f"/tmp/uploaded-{port}"])[1].strip(), timeout=120)
    assert int(counted) == size

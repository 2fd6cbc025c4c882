"""`kajitori port-forward` (v4.channel.k8s.io, one WebSocket per connection) to the busybox httpd in a real pod.

The CLI is started on a free local port; the test waits for its `Forwarding from` line
before it connects, and sends two HTTP requests at once through it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from kajitori.api.apps import Deployment
from kajitori.api.core import Service
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import BUSYBOX, AgentProcess, make_pod, shell, wait_for
from tests.integration.streams.conftest import HTTP_PORT, NODE, SERVE
from tests.integration.streams.test_kubectl_port_forward import http_get
from tests.support.master_process import MasterProcess, free_port
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration


@contextmanager
def port_forward(master: MasterProcess, target: str, *specs: str) -> Iterator[subprocess.Popen[str]]:
    command = [
        sys.executable,
        "-m",
        "cli",
        "port-forward",
        target,
        *specs,
        "--kubeconfig",
        str(master.kubeconfig),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        stop_process(proc)


def forwarding_lines(proc: subprocess.Popen[str], count: int) -> list[str]:
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(count)]  # blocks until it listens (or exits, giving "")
    assert all(lines), (lines, proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
    return [line.rstrip("\n") for line in lines]


def test_port_forward_to_a_pod_carries_two_concurrent_http_requests(master: MasterProcess, pod: str) -> None:
    local = free_port()
    with port_forward(master, f"pod/{pod}", f"{local}:{HTTP_PORT}") as proc:
        # localhost, the default --address, is both loopbacks, as for kubectl
        assert forwarding_lines(proc, 2) == [f"Forwarding from 127.0.0.1:{local} -> {HTTP_PORT}", f"Forwarding from [::1]:{local} -> {HTTP_PORT}"]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(http_get, [local, local]))
        for answer in answers:
            assert answer.startswith(b"HTTP/1.") and answer.rstrip().endswith(b"pong"), answer
        assert forwarding_lines(proc, 2) == [f"Handling connection for {local}"] * 2


def test_port_forward_to_a_deployment_and_a_service_reaches_their_pod(
    master: MasterProcess, api: ApiClient, pod: str
) -> None:
    # No controllers run here: both only select the test's pod, which is what the CLI resolves them to.
    api.create(
        Deployment.model_validate(
            {
                "metadata": {"name": "cli-web", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": pod}},
                    "template": {
                        "metadata": {"labels": {"app": pod}},
                        "spec": {"containers": [{"name": "main", "image": "kajitori/busybox:1"}]},
                    },
                },
            }
        )
    )
    api.create(
        Service.model_validate(
            {
                "metadata": {"name": "cli-web", "namespace": "default"},
                "spec": {"selector": {"app": pod}, "ports": [{"port": 80, "targetPort": HTTP_PORT}]},
            }
        )
    )
    first, second = free_port(), free_port()
    with (
        port_forward(master, "deployment/cli-web", f"{first}:{HTTP_PORT}") as by_deployment,
        port_forward(master, "svc/cli-web", f"{second}:80") as by_service,
    ):
        assert forwarding_lines(by_deployment, 1) == [f"Forwarding from 127.0.0.1:{first} -> {HTTP_PORT}"]
        assert forwarding_lines(by_service, 1) == [f"Forwarding from 127.0.0.1:{second} -> {HTTP_PORT}"]  # the service's targetPort
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(http_get, [first, first, second]))
        for answer in answers:
            assert answer.rstrip().endswith(b"pong"), answer


def test_port_forward_errors_are_one_line(master: MasterProcess, pod: str) -> None:
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "port-forward",
            "pod/no-such-pod",
            "8080",
            "--kubeconfig",
            str(master.kubeconfig),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (missing.returncode, missing.stderr) == (
        1,
        'Error from server (NotFound): pods "no-such-pod" not found\n',
    )
    local = free_port()
    with port_forward(master, f"pod/{pod}", f"{local}:1") as proc:
        forwarding_lines(proc, 2)
        assert http_get(local) == b""  # nobody listens on port 1 in the pod: the local connection is closed
    assert proc.stderr is not None
    [line] = proc.stderr.read().splitlines()
    assert (
        line.startswith(f"error: an error occurred forwarding {local} -> 1: ") and "refused" in line.lower()
    ), line


def http_get_from(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_port_forward_listens_on_each_address_of_a_comma_list(master: MasterProcess, pod: str) -> None:
    with port_forward(master, f"pod/{pod}", f":{HTTP_PORT}", "--address", "::1,127.0.0.1") as proc:
        [first, second] = forwarding_lines(proc, 2)
        local = int(first.split(" -> ")[0].rsplit(":", 1)[1])  # a free port, the same on both
        assert [first, second] == [f"Forwarding from [::1]:{local} -> {HTTP_PORT}", f"Forwarding from 127.0.0.1:{local} -> {HTTP_PORT}"]
        for host in ("::1", "127.0.0.1"):
            assert http_get_from(host, local).rstrip().endswith(b"pong")


def test_port_forward_refuses_an_address_that_is_not_an_ip(master: MasterProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "port-forward", "pod/x", "80", "--address", "127.0.0.1,example", "--kubeconfig", str(master.kubeconfig)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (1, "error: example is not a valid IP\n")


def test_port_forward_waits_for_a_running_pod(master: MasterProcess, api: ApiClient, agent: AgentProcess) -> None:
    api.create(
        Deployment.model_validate(
            {
                "metadata": {"name": "later", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": "later"}},
                    "template": {"metadata": {"labels": {"app": "later"}}, "spec": {"containers": [{"name": "main", "image": BUSYBOX}]}},
                },
            }
        )
    )
    local = free_port()
    with port_forward(master, "deployment/later", f"{local}:{HTTP_PORT}", "--address", "127.0.0.1", "--pod-running-timeout", "3m") as proc:
        # No pod yet: the CLI waits instead of failing; the pod comes and runs.
        later = make_pod("later", NODE, [shell("main", SERVE)])
        later.metadata.labels = {"app": "later"}
        api.create(later)
        assert forwarding_lines(proc, 1) == [f"Forwarding from 127.0.0.1:{local} -> {HTTP_PORT}"]
        wait_for("httpd in the later pod", lambda: http_get(local).rstrip().endswith(b"pong"))


def test_port_forward_gives_up_after_the_pod_running_timeout(master: MasterProcess, api: ApiClient) -> None:
    api.create(
        Deployment.model_validate(
            {
                "metadata": {"name": "never", "namespace": "default"},
                "spec": {
                    "selector": {"matchLabels": {"app": "never"}},
                    "template": {"metadata": {"labels": {"app": "never"}}, "spec": {"containers": [{"name": "main", "image": BUSYBOX}]}},
                },
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli", "port-forward", "deployment/never", "80", "--pod-running-timeout", "1s", "--kubeconfig", str(master.kubeconfig)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (1, "error: timed out waiting for the condition: no Running pod of deployment/never\n")

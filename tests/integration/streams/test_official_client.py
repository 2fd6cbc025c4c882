"""The official `kubernetes` Python client's stream() (exec, v4.channel.k8s.io) and portforward() against a real agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.streams.conftest import HTTP_PORT
from tests.support.master_process import MasterProcess

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from kubernetes.stream import portforward, stream  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def core(master: MasterProcess) -> Iterator[k8s.CoreV1Api]:
    api_client = k8s_config.new_client_from_config(config_file=str(master.kubeconfig))
    yield k8s.CoreV1Api(api_client)
    api_client.close()


def test_stream_exec_returns_the_output(core: k8s.CoreV1Api, pod: str) -> None:
    out = stream(core.connect_get_namespaced_pod_exec, pod, "default", command=["sh", "-c", "hostname; echo to-err >&2"], stderr=True, stdin=False, stdout=True, tty=False)
    assert pod in out and "to-err" in out


def test_stream_exec_without_preload_reads_channels_and_exit_code(core: k8s.CoreV1Api, pod: str) -> None:
    resp = stream(
        core.connect_get_namespaced_pod_exec, pod, "default",
        command=["sh", "-c", "read line; echo got $line; echo oops >&2; exit 4"],
        stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False,
    )  # fmt: skip
    resp.write_stdin("hello\n")
    resp.run_forever(timeout=30)
    assert resp.read_stdout() == "got hello\n"
    assert resp.read_stderr() == "oops\n"
    assert resp.returncode == 4


def test_stream_exec_with_stderr_false_gets_no_stderr(core: k8s.CoreV1Api, pod: str) -> None:
    command = ["sh", "-c", "echo to-out; echo to-err >&2"]
    out = stream(core.connect_get_namespaced_pod_exec, pod, "default", command=command, stderr=False, stdin=False, stdout=True, tty=False)
    assert out == "to-out\n"
    resp = stream(
        core.connect_get_namespaced_pod_exec, pod, "default",
        command=command, stderr=True, stdin=False, stdout=False, tty=False, _preload_content=False,
    )  # fmt: skip
    resp.run_forever(timeout=30)
    assert resp.read_stdout() == ""
    assert resp.read_stderr() == "to-err\n"
    assert resp.returncode == 0


def test_stream_exec_asking_for_no_stream_is_a_400(core: k8s.CoreV1Api, pod: str) -> None:
    with pytest.raises(Exception) as raised:
        stream(core.connect_get_namespaced_pod_exec, pod, "default", command=["true"], stderr=False, stdin=False, stdout=False, tty=False)
    assert "Handshake status 400" in str(raised.value) and "you must specify at least 1 of stdin, stdout, stderr" in str(raised.value)


def test_portforward_reaches_the_pods_http_server(core: k8s.CoreV1Api, pod: str) -> None:
    forward = portforward(core.connect_get_namespaced_pod_portforward, pod, "default", ports=str(HTTP_PORT))
    sock = forward.socket(HTTP_PORT)
    sock.setblocking(True)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.") and answer.rstrip().endswith(b"pong")
    assert forward.error(HTTP_PORT) is None
    forward.close()


def test_portforward_to_a_closed_port_reports_on_the_error_channel(core: k8s.CoreV1Api, pod: str) -> None:
    forward = portforward(core.connect_get_namespaced_pod_portforward, pod, "default", ports="9")
    sock = forward.socket(9)
    sock.setblocking(True)
    while sock.recv(65536):
        pass
    error = forward.error(9)
    assert error is not None and "connection refused" in error.lower()
    forward.close()

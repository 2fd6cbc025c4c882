"""A pod whose node's agent has stopped: exec and port-forward answer an error naming the node, at once, never a hang.

A second agent of this module's own runs a pod and is then stopped (its containers
stay, as they do when a kubelet dies); the master still has the Node and the pod, so
every stream to the pod must fail at the agent link with a Status naming the node.
A third is frozen (SIGSTOP: the kernel still accepts its connections, nothing answers,
as with a machine that hangs): the link gives up after its connect timeout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator

import docker
import pytest

from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import (
    AgentProcess,
    make_pod,
    remove_node_objects,
    remove_test_network,
    shell,
    wait_for,
)
from tests.integration.streams.conftest import HTTP_PORT, KUBECTL_VERSIONS, SERVE, kubectl_binary, run_kubectl
from tests.support.master_process import MasterProcess, free_port
from tests.support.processes import freeze, stop_process
from tests.support.session_names import session_name

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from kubernetes.stream import stream  # noqa: E402

pytestmark = pytest.mark.integration

GONE_NODE = session_name("streams-gone-node")
GONE_NETWORK = session_name("kajitori-test-streams-gone")
ORPHAN = "orphan"
FROZEN_NODE = session_name("streams-frozen-node")
FROZEN_NETWORK = session_name("kajitori-test-streams-frozen")
FROZEN = "frozen"


@pytest.fixture(scope="module")
def orphan(master: MasterProcess, api: ApiClient, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    remove_node_objects(docker_api, GONE_NODE)
    proc = AgentProcess(master, GONE_NODE, tmp_path_factory.mktemp("gone-agent"), network=GONE_NETWORK).start()
    try:
        api.create(make_pod(ORPHAN, GONE_NODE, [shell("main", SERVE)]))
        wait_for("the pod running", lambda: api.get(Pod, ORPHAN, "default").status.phase == "Running")
        proc.stop()
        yield ORPHAN
    finally:
        proc.stop()
        remove_node_objects(docker_api, GONE_NODE)
        remove_test_network(docker_api, GONE_NETWORK)


@pytest.fixture(scope="module")
def frozen(master: MasterProcess, api: ApiClient, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    remove_node_objects(docker_api, FROZEN_NODE)
    proc = AgentProcess(master, FROZEN_NODE, tmp_path_factory.mktemp("frozen-agent"), network=FROZEN_NETWORK).start()
    assert proc.proc is not None
    try:
        api.create(make_pod(FROZEN, FROZEN_NODE, [shell("main", SERVE)]))
        wait_for("the pod running", lambda: api.get(Pod, FROZEN, "default").status.phase == "Running")
        freeze(proc.proc.pid)
        yield FROZEN
    finally:
        proc.proc.send_signal(signal.SIGCONT)
        proc.stop()
        remove_node_objects(docker_api, FROZEN_NODE)
        remove_test_network(docker_api, FROZEN_NETWORK)


def test_exec_to_a_pod_whose_agent_hangs_gives_up_naming_the_node(master: MasterProcess, frozen: str) -> None:
    done = run_kubectl(master, "1.33", "exec", frozen, "--", "true", timeout=120)
    assert done.returncode != 0
    assert f"cannot reach the agent of node {FROZEN_NODE}".encode() in done.stderr, done.stderr
    assert b"no answer in 10 s" in done.stderr, done.stderr


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_to_a_pod_whose_agent_stopped_names_the_node(master: MasterProcess, orphan: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", orphan, "--", "true", timeout=120)
    assert done.returncode != 0
    assert f"cannot reach the agent of node {GONE_NODE}".encode() in done.stderr, done.stderr


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_port_forward_to_a_pod_whose_agent_stopped_names_the_node(master: MasterProcess, orphan: str, version: str) -> None:
    local = free_port()
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen(
        [kubectl_binary(version), "port-forward", f"pod/{orphan}", f"{local}:{HTTP_PORT}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{local}")
        with socket.create_connection(("127.0.0.1", local), timeout=120) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert sock.recv(65536) == b""  # closed, never a hang
        # kubectl ends the forward on an error-stream message, printing it.
        proc.wait(120)
        assert f"cannot reach the agent of node {GONE_NODE}" in proc.stderr.read()
    finally:
        stop_process(proc)


def test_the_official_clients_exec_gets_a_502_naming_the_node(master: MasterProcess, orphan: str) -> None:
    api_client = k8s_config.new_client_from_config(config_file=str(master.kubeconfig))
    try:
        core = k8s.CoreV1Api(api_client)
        with pytest.raises(Exception) as raised:
            stream(core.connect_get_namespaced_pod_exec, orphan, "default", command=["true"], stderr=True, stdin=False, stdout=True, tty=False)
        assert "Handshake status 502" in str(raised.value) and f"cannot reach the agent of node {GONE_NODE}" in str(raised.value), raised.value
    finally:
        api_client.close()

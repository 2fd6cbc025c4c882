"""A real master, a real agent on the real dockerd and one running busybox pod, for the stream tests.

The pod serves HTTP on 8080 (busybox httpd, "pong") and keeps a shell alive; everything
the agent makes carries `io.kajitori.node=<NODE>` and is removed by that label afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import (
    BUSYBOX,
    AgentProcess,
    make_pod,
    remove_node_objects,
    remove_test_network,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

NODE = session_name("streams-test-node")  # other sessions' agents on this dockerd must not take its pods
POD = "streamer"
NETWORK = session_name("kajitori-test-streams")
HTTP_PORT = 8080
SERVE = f"mkdir -p /www && echo pong > /www/index.html && httpd -p {HTTP_PORT} -h /www && trap 'exit 0' TERM; sleep 3600 & wait"
KUBECTL_DIR = Path(os.path.realpath(shutil.which("kubectl") or "/nonexistent")).parent
KUBECTL_VERSIONS = ["1.33", "1.32"]


def kubectl_binary(version: str) -> str:
    path = KUBECTL_DIR / f"kubectl.{version}"
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    return str(path)


def run_kubectl(master: MasterProcess, version: str, *args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    return subprocess.run([kubectl_binary(version), *args], input=input, capture_output=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    api = docker.APIClient(version="1.41")
    try:
        api.ping()
        api.inspect_image(BUSYBOX)
    except Exception as exc:
        pytest.fail(f"dockerd or {BUSYBOX} is missing ({exc}); run `make host images`")
    yield api
    api.close()


@pytest.fixture(scope="module")
def agent(master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    remove_node_objects(docker_api, NODE)
    proc = AgentProcess(master, NODE, tmp_path_factory.mktemp("agent"), network=NETWORK).start()
    yield proc
    proc.stop()
    remove_node_objects(docker_api, NODE)
    remove_test_network(docker_api, NETWORK)


@pytest.fixture(scope="module")
def pod(api: ApiClient, agent: AgentProcess) -> str:
    pod = make_pod(POD, NODE, [shell("main", SERVE)])
    pod.metadata.labels = {"app": POD}  # so a Deployment selecting it can be port-forwarded to
    api.create(pod)
    wait_for("the pod running", lambda: api.get(Pod, POD, "default").status.phase == "Running")
    # httpd daemonizes before the shell goes on to sleep: the port is open once the shell sleeps.
    probe = ["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 {HTTP_PORT}"]
    wait_for("httpd answering", lambda: "pong" in agent.exec("default", POD, "main", probe)[1])
    return POD

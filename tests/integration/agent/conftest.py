"""Fixtures for the agent's runtime tests on the real dockerd of this machine.

Everything a test makes carries `io.kajitori.test=agent-<pid of this pytest>` and is removed
by label after each test, whatever the test did; only objects with that label are ever removed.
The pid keeps two test sessions on one dockerd (a developer's run beside CI's, or repeated
runs) from removing each other's containers mid-test; objects of a session that died are
removed by the next one (its pid no longer runs). The agent processes of the pod tests name
their nodes and pod network after the session too (tests/support/session_names.py), and what
a dead session's agents left is removed the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest

from agent.docker_runtime import DockerRuntime
from agent.pod_sync import LABEL_NODE
from agent.runtime import PAUSE_IMAGE, ContainerConfig, ContainerRuntime
from tests.support.session_names import is_gone, session_of

# The contract lives with the unit tests (it runs on the fake there); share that one file.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "agent"))

TEST_LABEL = "io.kajitori.test"
RUN_ID = f"agent-{os.getpid()}"
TEST_LABELS = {TEST_LABEL: RUN_ID}
TEST_FILTER = f"{TEST_LABEL}={RUN_ID}"
BUSYBOX = "kajitori/busybox:1"
UNPULLABLE = "127.0.0.1:5999/kajitori/missing:1"
"""A registry on loopback where nothing listens: the pull fails without leaving the machine."""
NETWORK = f"kajitori-test-{RUN_ID}"
# What the agent processes of the pod tests name after the session (agent_process.py, test_pod_*.py).
POD_NETWORK_BASE = "kajitori-test-pods"
NODE_BASES = ("agent-test-node", "agent-adoption-node", "agent-explain-node")

# A shell that obeys SIGTERM at once, so stops in tests take no grace period.
SERVE_FOREVER = "trap 'exit 0' TERM; sleep 3600 & wait"


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    api = docker.APIClient(version="1.41")
    try:
        api.ping()
    except Exception as exc:
        pytest.fail(f"dockerd is not reachable ({exc}); run `make host`")
    for image in (PAUSE_IMAGE, BUSYBOX):
        try:
            api.inspect_image(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"image {image} is missing; run `make images`")
    yield api
    api.close()


def remove_test_objects(api: docker.APIClient) -> None:
    for summary in api.containers(all=True, filters={"label": [TEST_FILTER]}):
        try:
            api.remove_container(summary["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass


def _session_gone(run_id: str) -> bool:
    """True for `agent-<pid>` of a pytest that no longer runs (or the pre-pid label `agent`)."""
    pid = run_id.removeprefix("agent-")
    return not pid.isdigit() or not Path(f"/proc/{pid}").exists()


def remove_objects_of_dead_sessions(api: docker.APIClient) -> None:
    for summary in api.containers(all=True, filters={"label": [TEST_LABEL]}):
        run_id = (summary.get("Labels") or {}).get(TEST_LABEL, "")
        if run_id.startswith("agent") and _session_gone(run_id):
            try:
                api.remove_container(summary["Id"], force=True, v=True)
            except docker.errors.APIError:
                pass  # already going
    for network in api.networks(filters={"label": [TEST_LABEL]}):
        run_id = (network.get("Labels") or {}).get(TEST_LABEL, "")
        if run_id.startswith("agent") and _session_gone(run_id):
            try:
                api.remove_network(network["Id"])
            except docker.errors.APIError:
                pass


@pytest.fixture(scope="session", autouse=True)
def dead_sessions_agents_cleaned(docker_api: docker.APIClient) -> None:
    """Pods and pod networks that agents of dead sessions left (their containers sleep for an hour)."""
    for summary in docker_api.containers(all=True, filters={"label": [LABEL_NODE]}):
        node = (summary.get("Labels") or {}).get(LABEL_NODE, "")
        if any(is_gone(session_of(node, base)) for base in NODE_BASES):
            try:
                docker_api.remove_container(summary["Id"], force=True, v=True)
            except docker.errors.APIError:
                pass  # already going
    for network in docker_api.networks():
        if is_gone(session_of(network["Name"], POD_NETWORK_BASE)):
            try:
                docker_api.remove_network(network["Id"])
            except docker.errors.APIError:
                pass  # still has endpoints: a later session tries again


@pytest.fixture(scope="session")
def test_network(docker_api: docker.APIClient) -> Iterator[str]:
    remove_objects_of_dead_sessions(docker_api)
    docker_api.create_network(NETWORK, driver="bridge", labels=TEST_LABELS)
    yield NETWORK
    remove_test_objects(docker_api)
    try:
        docker_api.remove_network(NETWORK)
    except docker.errors.NotFound:
        pass


@pytest.fixture
def runtime(docker_api: docker.APIClient, test_network: str) -> Iterator[DockerRuntime]:
    runtime = DockerRuntime()
    yield runtime
    remove_test_objects(docker_api)
    runtime.close()


@dataclass
class DockerHarness:
    runtime: DockerRuntime
    network: str
    image: str = BUSYBOX
    unpullable_image: str = UNPULLABLE
    pull_error_words: str = "connection refused"
    labels: dict[str, str] = field(default_factory=lambda: dict(TEST_LABELS))

    def fresh_runtime(self) -> ContainerRuntime:
        return DockerRuntime()

    def shell(self, name: str, script: str, *, restart_count: int = 0) -> ContainerConfig:
        return ContainerConfig(
            name=name,
            image=self.image,
            command=("sh", "-c", script),
            restart_count=restart_count,
            labels=self.labels,
        )

    def long_running(self, name: str, *, restart_count: int = 0) -> ContainerConfig:
        return self.shell(name, SERVE_FOREVER, restart_count=restart_count)

    def exiting(self, name: str, exit_code: int, *, restart_count: int = 0) -> ContainerConfig:
        return self.shell(name, f"exit {exit_code}", restart_count=restart_count)

    def printing(self, name: str, text: str) -> ContainerConfig:
        return self.shell(name, f"echo '{text}'; {SERVE_FOREVER}")

    def answering_exec(self, name: str) -> ContainerConfig:
        return self.long_running(name)


@pytest.fixture
def harness(runtime: DockerRuntime, test_network: str) -> DockerHarness:
    return DockerHarness(runtime=runtime, network=test_network)

"""Fixtures for the agent's runtime tests on the real dockerd of this machine.

Everything a test makes carries `io.kajitori.test=agent` and is removed by label after
each test, whatever the test did; only objects with that label are ever removed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest

from agent.docker_runtime import DockerRuntime
from agent.runtime import PAUSE_IMAGE, ContainerConfig, ContainerRuntime

# The contract lives with the unit tests (it runs on the fake there); share that one file.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "agent"))

TEST_LABEL = "io.kajitori.test"
TEST_LABELS = {TEST_LABEL: "agent"}
BUSYBOX = "kajitori/busybox:1"
UNPULLABLE = "127.0.0.1:5999/kajitori/missing:1"
"""A registry on loopback where nothing listens: the pull fails without leaving the machine."""
NETWORK = "kajitori-test-agent"

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
    for summary in api.containers(all=True, filters={"label": [f"{TEST_LABEL}=agent"]}):
        try:
            api.remove_container(summary["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="session")
def test_network(docker_api: docker.APIClient) -> Iterator[str]:
    remove_test_objects(docker_api)
    for stale in docker_api.networks(names=[NETWORK], filters={"label": [f"{TEST_LABEL}=agent"]}):
        docker_api.remove_network(stale["Id"])
    docker_api.create_network(NETWORK, driver="bridge", labels=TEST_LABELS)
    yield NETWORK
    remove_test_objects(docker_api)
    try:
        docker_api.remove_network(NETWORK)
    except docker.errors.NotFound:
        pass  # another test session on this dockerd removed it first


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

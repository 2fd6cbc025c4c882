"""The runtime contract (runtime_contract.py) run against the in-memory FakeRuntime."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from agent.fake_runtime import FakeRuntime
from agent.runtime import ContainerConfig, ContainerRuntime
from tests.unit.agent.runtime_contract import RuntimeContract

IMAGE = "kajitori/busybox:1"
UNPULLABLE = "127.0.0.1:5999/kajitori/missing:1"


@dataclass
class FakeHarness:
    runtime: FakeRuntime
    network: str = "pods"
    image: str = IMAGE
    unpullable_image: str = UNPULLABLE
    pull_error_words: str = "connection refused"
    labels: dict[str, str] = field(default_factory=dict)

    def fresh_runtime(self) -> ContainerRuntime:
        # Memory is the fake's only store: an agent restarting on it sees the same object.
        return self.runtime

    def long_running(self, name: str, *, restart_count: int = 0) -> ContainerConfig:
        return ContainerConfig(name=name, image=self.image, restart_count=restart_count)

    def exiting(self, name: str, exit_code: int, *, restart_count: int = 0) -> ContainerConfig:
        self.runtime.script_exits(name, exit_code)
        return ContainerConfig(name=name, image=self.image, restart_count=restart_count)

    def printing(self, name: str, text: str) -> ContainerConfig:
        self.runtime.script_output(name, text.encode() + b"\n")
        return ContainerConfig(name=name, image=self.image)

    def answering_exec(self, name: str) -> ContainerConfig:
        self.runtime.script_exec(name, lambda cmd: (4, b"hi\n"))
        return ContainerConfig(name=name, image=self.image)


class TestFakeRuntimeContract(RuntimeContract):
    @pytest.fixture
    def harness(self) -> FakeHarness:
        runtime = FakeRuntime(images=["kajitori/pause:3.9", IMAGE])
        runtime.fail_pull(UNPULLABLE, 'Get "http://127.0.0.1:5999/v2/": connect: connection refused')
        return FakeHarness(runtime=runtime)

"""What every `ContainerRuntime` owes the sync loop, written once and run against each runtime.

A test class inherits `RuntimeContract` and provides a `harness` fixture (a `RuntimeHarness`)
that knows how to make its runtime's containers print, exit or answer exec: the real
runtime does it with busybox commands, the fake one with its scripting calls.
tests/unit/agent runs it on the fake, tests/integration/agent on dockerd.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol, TypeVar

import pytest

from agent.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_POD_UID,
    LABEL_RESTART_COUNT,
    SANDBOX_CONTAINER_NAME,
    ContainerConfig,
    ContainerId,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ContainerState,
    ImageNotPresent,
    ImagePullError,
    PodRef,
    PodUID,
    PullPolicy,
    RuntimeEvent,
    RuntimeEventKind,
    SandboxConfig,
    TerminationReason,
)

T = TypeVar("T")

WAIT_S = 30.0
"""How long a test waits for a state before failing; a ceiling for broken cases, never a measure."""


def wait_for(what: str, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + WAIT_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


class RuntimeHarness(Protocol):
    runtime: ContainerRuntime
    network: str
    image: str
    """A present image with a shell."""
    unpullable_image: str
    pull_error_words: str
    """Words the pull error of `unpullable_image` contains."""
    labels: dict[str, str]
    """Labels that let the harness clean up after the test."""

    def fresh_runtime(self) -> ContainerRuntime:
        """A new runtime object on the same backing store (what an agent restart sees)."""
        ...

    def long_running(self, name: str, *, restart_count: int = 0) -> ContainerConfig: ...

    def exiting(self, name: str, exit_code: int, *, restart_count: int = 0) -> ContainerConfig: ...

    def printing(self, name: str, text: str) -> ContainerConfig:
        """Prints `text` (stdout) then keeps running."""
        ...

    def answering_exec(self, name: str) -> ContainerConfig:
        """Keeps running; exec of `sh -c 'echo hi; exit 4'` answers (4, b"hi\\n")."""
        ...


def new_pod(name: str) -> PodRef:
    return PodRef(namespace="contract", name=name, uid=PodUID(str(uuid.uuid4())))


class RuntimeContract:
    """Tests every runtime passes; subclasses provide the `harness` fixture."""

    def _sandbox(self, harness: RuntimeHarness, pod: PodRef) -> ContainerId:
        info = harness.runtime.run_sandbox(
            SandboxConfig(pod=pod, network=harness.network, labels=harness.labels)
        )
        return info.id

    def _started(self, harness: RuntimeHarness, sandbox: ContainerId, config: ContainerConfig) -> ContainerId:
        container = harness.runtime.create_container(sandbox, config)
        harness.runtime.start_container(container)
        return container

    def _exited(self, harness: RuntimeHarness, container: ContainerId) -> ContainerInfo:
        def probe() -> ContainerInfo | None:
            info = harness.runtime.inspect_container(container)
            return info if info.state == ContainerState.EXITED else None

        return wait_for(f"container {container} to exit", probe)

    def test_sandbox_runs_with_an_ip_and_is_listed_by_pod(self, harness: RuntimeHarness) -> None:
        pod = new_pod("sandboxed")
        info = harness.runtime.run_sandbox(
            SandboxConfig(pod=pod, network=harness.network, labels=harness.labels)
        )

        assert info.state == ContainerState.RUNNING
        assert info.ip
        assert info.hostname == "sandboxed"
        assert info.network == harness.network
        listed = harness.runtime.list_sandboxes(pod.uid)
        assert [(s.id, s.pod, s.ip) for s in listed] == [(info.id, pod, info.ip)]
        assert listed[0].labels[LABEL_CONTAINER_NAME] == SANDBOX_CONTAINER_NAME
        assert listed[0].labels[LABEL_MANAGED] == "true"
        assert harness.runtime.list_containers(pod.uid) == []

    def test_container_goes_from_created_to_running_with_its_labels(self, harness: RuntimeHarness) -> None:
        pod = new_pod("lifecycle")
        sandbox = self._sandbox(harness, pod)
        container = harness.runtime.create_container(sandbox, harness.long_running("app", restart_count=2))

        created = harness.runtime.inspect_container(container)
        assert created.state == ContainerState.CREATED
        harness.runtime.start_container(container)

        running = harness.runtime.inspect_container(container)
        assert running.state == ContainerState.RUNNING
        assert (running.name, running.pod, running.sandbox_id, running.restart_count) == (
            "app",
            pod,
            sandbox,
            2,
        )
        assert running.labels[LABEL_POD_UID] == pod.uid
        assert running.labels[LABEL_RESTART_COUNT] == "2"
        assert running.image == harness.image
        assert running.image_id.startswith("sha256:")
        assert running.started_at is not None
        assert running.exit_code is None and running.finished_at is None

    @pytest.mark.parametrize(
        ("exit_code", "reason"),
        [
            pytest.param(0, TerminationReason.COMPLETED, id="completed"),
            pytest.param(7, TerminationReason.ERROR, id="error"),
        ],
    )
    def test_exit_code_and_restart_count_read_back(
        self, harness: RuntimeHarness, exit_code: int, reason: TerminationReason
    ) -> None:
        pod = new_pod("exits")
        sandbox = self._sandbox(harness, pod)
        container = self._started(harness, sandbox, harness.exiting("job", exit_code, restart_count=3))

        exited = self._exited(harness, container)

        assert (exited.exit_code, exited.reason, exited.restart_count) == (exit_code, reason, 3)
        assert exited.finished_at is not None and exited.started_at is not None
        assert exited.finished_at >= exited.started_at

    def test_a_fresh_runtime_adopts_what_runs(self, harness: RuntimeHarness) -> None:
        pod = new_pod("adopted")
        sandbox = self._sandbox(harness, pod)
        first = self._started(harness, sandbox, harness.long_running("one", restart_count=1))
        second = self._started(harness, sandbox, harness.long_running("two"))

        fresh = harness.fresh_runtime()

        assert [s.id for s in fresh.list_sandboxes(pod.uid)] == [sandbox]
        adopted = {c.id: (c.name, c.restart_count, c.state) for c in fresh.list_containers(pod.uid)}
        assert adopted == {
            first: ("one", 1, ContainerState.RUNNING),
            second: ("two", 0, ContainerState.RUNNING),
        }

    def test_stop_and_remove_sandbox_removes_every_container(self, harness: RuntimeHarness) -> None:
        pod = new_pod("removed")
        sandbox = self._sandbox(harness, pod)
        app = self._started(harness, sandbox, harness.long_running("app"))
        self._started(harness, sandbox, harness.long_running("sidecar"))

        harness.runtime.stop_sandbox(sandbox, 1)
        assert harness.runtime.inspect_container(app).state == ContainerState.EXITED
        assert harness.runtime.inspect_sandbox(sandbox).state == ContainerState.EXITED
        harness.runtime.remove_sandbox(sandbox)

        assert harness.runtime.list_containers(pod.uid) == []
        assert harness.runtime.list_sandboxes(pod.uid) == []
        harness.runtime.remove_sandbox(sandbox)  # removing twice is not an error

    def test_a_gone_container_is_not_found_but_removing_it_is_fine(self, harness: RuntimeHarness) -> None:
        gone = ContainerId("0" * 64)

        with pytest.raises(ContainerNotFound):
            harness.runtime.inspect_container(gone)
        with pytest.raises(ContainerNotFound):
            harness.runtime.stop_container(gone, 1)
        harness.runtime.remove_container(gone)

    def test_pull_policies(self, harness: RuntimeHarness) -> None:
        present = harness.runtime.ensure_image(harness.image, PullPolicy.IF_NOT_PRESENT)
        assert present.id.startswith("sha256:")
        assert harness.runtime.ensure_image(harness.image, PullPolicy.NEVER).id == present.id

        with pytest.raises(ImagePullError, match=harness.pull_error_words):
            harness.runtime.ensure_image(harness.unpullable_image, PullPolicy.IF_NOT_PRESENT)
        with pytest.raises(ImageNotPresent):
            harness.runtime.ensure_image(harness.unpullable_image, PullPolicy.NEVER)

    def test_exec_returns_output_and_exit_code(self, harness: RuntimeHarness) -> None:
        pod = new_pod("exec")
        sandbox = self._sandbox(harness, pod)
        container = self._started(harness, sandbox, harness.answering_exec("shell"))

        assert harness.runtime.exec_sync(container, ["sh", "-c", "echo hi; exit 4"], 10) == (4, b"hi\n")

    def test_logs_return_what_the_container_printed(self, harness: RuntimeHarness) -> None:
        pod = new_pod("logs")
        sandbox = self._sandbox(harness, pod)
        container = self._started(harness, sandbox, harness.printing("talker", "hello from talker"))

        def printed() -> bytes | None:
            text = b"".join(harness.runtime.logs(container))
            return text if b"hello from talker" in text else None

        assert wait_for("the container's output", printed) == b"hello from talker\n"
        stamped = b"".join(harness.runtime.logs(container, timestamps=True, tail=1))
        assert stamped.endswith(b" hello from talker\n") and stamped[:4].isdigit()

    def test_events_tell_start_and_die_with_the_pod(self, harness: RuntimeHarness) -> None:
        pod = new_pod("events")
        stream = harness.runtime.events()
        seen: list[RuntimeEvent] = []
        died = threading.Event()

        def consume() -> None:
            for event in stream:
                if event.pod_uid == pod.uid:
                    seen.append(event)
                    if event.kind == RuntimeEventKind.DIE and event.container_name == "quitter":
                        died.set()

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        try:
            sandbox = self._sandbox(harness, pod)
            self._started(harness, sandbox, harness.exiting("quitter", 5))
            assert died.wait(WAIT_S), f"no die event; saw {seen}"
        finally:
            stream.close()
            reader.join(WAIT_S)
        assert not reader.is_alive()
        kinds = [(e.container_name, e.kind) for e in seen]
        assert ("quitter", RuntimeEventKind.START) in kinds
        die = next(e for e in seen if e.kind == RuntimeEventKind.DIE and e.container_name == "quitter")
        assert die.exit_code == 5

    def test_info_reports_node_facts(self, harness: RuntimeHarness) -> None:
        info = harness.runtime.info()

        assert info.cpus > 0 and info.memory_bytes > 0
        assert "://" in info.runtime_version
        assert info.operating_system == "linux"

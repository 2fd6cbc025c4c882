"""FakeRuntime's scripting and the Docker rules it keeps, beyond the shared contract."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from agent.fake_runtime import STOP_EXIT_CODE, FakeRuntime
from agent.runtime import (
    ContainerConfig,
    ContainerCreateError,
    ContainerId,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerStartError,
    ContainerState,
    PodRef,
    PodUID,
    PortMapping,
    PullPolicy,
    RuntimeEventKind,
    SandboxConfig,
    TerminationReason,
)

IMAGE = "kajitori/busybox:1"


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def pod(name: str) -> PodRef:
    return PodRef(namespace="default", name=name, uid=PodUID(f"uid-{name}"))


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(images=["kajitori/pause:3.9", IMAGE], pod_cidr="10.244.3.0/24")


def run(runtime: FakeRuntime, sandbox: ContainerId, name: str, restart_count: int = 0) -> ContainerId:
    container = runtime.create_container(
        sandbox, ContainerConfig(name=name, image=IMAGE, restart_count=restart_count)
    )
    runtime.start_container(container)
    return container


def test_it_is_a_container_runtime(runtime: FakeRuntime) -> None:
    assert isinstance(runtime, ContainerRuntime)


def test_pods_get_addresses_from_the_pod_cidr_and_give_them_back(runtime: FakeRuntime) -> None:
    first = runtime.run_sandbox(SandboxConfig(pod=pod("a"), network="pods"))
    second = runtime.run_sandbox(SandboxConfig(pod=pod("b"), network="pods"))

    assert (first.ip, second.ip) == ("10.244.3.2", "10.244.3.3")
    runtime.remove_sandbox(first.id)
    assert "10.244.3.2" not in {s.ip for s in runtime.list_sandboxes()}


def test_a_scripted_crash_loop_exits_then_keeps_running(runtime: FakeRuntime) -> None:
    runtime.script_exits("app", 1, 1, None)
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("crashy"), network="pods")).id

    states = []
    for attempt in range(3):
        info = runtime.inspect_container(run(runtime, sandbox, "app", attempt))
        states.append((info.state, info.exit_code, info.restart_count))

    assert states == [
        (ContainerState.EXITED, 1, 0),
        (ContainerState.EXITED, 1, 1),
        (ContainerState.RUNNING, None, 2),
    ]


def test_exit_container_with_oom_reports_oom_killed(runtime: FakeRuntime) -> None:
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("hog"), network="pods")).id
    container = run(runtime, sandbox, "hog")

    runtime.exit_container(container, 137, oom=True)

    info = runtime.inspect_container(container)
    assert (info.state, info.exit_code, info.reason) == (
        ContainerState.EXITED,
        137,
        TerminationReason.OOM_KILLED,
    )


def test_stopping_exits_with_sigterms_code(runtime: FakeRuntime) -> None:
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("stopped"), network="pods")).id
    container = run(runtime, sandbox, "app")

    runtime.stop_container(container, 30)

    assert runtime.inspect_container(container).exit_code == STOP_EXIT_CODE


def test_a_host_port_is_held_by_one_running_sandbox(runtime: FakeRuntime) -> None:
    port = (PortMapping(container_port=80, host_port=8080),)
    first = runtime.run_sandbox(SandboxConfig(pod=pod("one"), network="pods", port_mappings=port))

    with pytest.raises(ContainerStartError, match="port is already allocated"):
        runtime.run_sandbox(SandboxConfig(pod=pod("two"), network="pods", port_mappings=port))
    other_protocol = (PortMapping(container_port=80, host_port=8080, protocol="UDP"),)
    runtime.run_sandbox(SandboxConfig(pod=pod("udp"), network="pods", port_mappings=other_protocol))
    runtime.stop_sandbox(first.id, 0)
    runtime.run_sandbox(SandboxConfig(pod=pod("three"), network="pods", port_mappings=port))


def test_images_follow_pull_policy(runtime: FakeRuntime) -> None:
    runtime.ensure_image(IMAGE, PullPolicy.IF_NOT_PRESENT)
    runtime.ensure_image(IMAGE, PullPolicy.ALWAYS)
    runtime.ensure_image("nginx", PullPolicy.IF_NOT_PRESENT)
    runtime.ensure_image("nginx", PullPolicy.IF_NOT_PRESENT)

    assert runtime.pulls == [IMAGE, "nginx:latest"]


def test_containers_need_their_image_and_a_running_sandbox(runtime: FakeRuntime) -> None:
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("strict"), network="pods")).id

    with pytest.raises(ContainerCreateError, match="No such image"):
        runtime.create_container(sandbox, ContainerConfig(name="app", image="never-pulled:1"))
    container = runtime.create_container(sandbox, ContainerConfig(name="app", image=IMAGE))
    runtime.stop_sandbox(sandbox, 0)
    with pytest.raises(ContainerStartError, match="non running"):
        runtime.start_container(container)
    with pytest.raises(ContainerRuntimeError, match="not running"):
        runtime.exec_sync(container, ["true"], 1)


def test_fail_start_keeps_the_container_created_with_the_message(runtime: FakeRuntime) -> None:
    runtime.fail_start("app", 'exec: "nope": executable file not found in $PATH')
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("nostart"), network="pods")).id
    container = runtime.create_container(sandbox, ContainerConfig(name="app", image=IMAGE))

    with pytest.raises(ContainerStartError, match="executable file not found"):
        runtime.start_container(container)
    info = runtime.inspect_container(container)
    assert info.state == ContainerState.CREATED and "executable file not found" in info.message


def test_logs_tail_since_and_follow_until_exit() -> None:
    clock = ManualClock()
    runtime = FakeRuntime(images=["kajitori/pause:3.9", IMAGE], clock=clock)
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("talker"), network="pods")).id
    container = run(runtime, sandbox, "talker")
    runtime.write_log(container, b"one\n")
    clock.now += timedelta(seconds=10)
    runtime.write_log(container, b"two\n")

    assert b"".join(runtime.logs(container, tail=1)) == b"two\n"
    assert b"".join(runtime.logs(container, since=clock.now - timedelta(seconds=1))) == b"two\n"
    followed: list[bytes] = []
    follower = threading.Thread(target=lambda: followed.extend(runtime.logs(container, follow=True)))
    follower.start()
    runtime.write_log(container, b"three\n")
    runtime.exit_container(container, 0)
    follower.join(10)

    assert not follower.is_alive()
    assert b"".join(followed) == b"one\ntwo\nthree\n"


def test_events_stop_when_closed_and_closed_streams_get_nothing(runtime: FakeRuntime) -> None:
    stream = runtime.events()
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod("evented"), network="pods")).id
    container = run(runtime, sandbox, "app")
    runtime.remove_sandbox(sandbox)
    stream.close()

    seen = [(e.container_id, e.kind) for e in stream]

    assert seen == [
        (sandbox, RuntimeEventKind.START),
        (container, RuntimeEventKind.START),
        (container, RuntimeEventKind.DIE),
        (container, RuntimeEventKind.DESTROY),
        (sandbox, RuntimeEventKind.DIE),
        (sandbox, RuntimeEventKind.DESTROY),
    ]


def test_many_hollow_nodes_fit_in_one_process() -> None:
    nodes = [FakeRuntime(images=["kajitori/pause:3.9", IMAGE]) for _ in range(300)]
    for index, node in enumerate(nodes):
        sandbox = node.run_sandbox(SandboxConfig(pod=pod(f"p{index}"), network="pods")).id
        run(node, sandbox, "app")

    assert sum(len(node.list_containers()) for node in nodes) == 300

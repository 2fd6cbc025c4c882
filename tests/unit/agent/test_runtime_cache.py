"""CachedRuntime: the runtime contract while its events are read, and what it saves and never misses."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from agent.fake_runtime import FakeRuntime
from agent.runtime import (
    ContainerConfig,
    ContainerId,
    ContainerInfo,
    ContainerRuntime,
    ContainerState,
    EventStream,
    PodRef,
    PodUID,
    RuntimeEvent,
    RuntimeEventKind,
    SandboxConfig,
)
from agent.runtime_cache import CachedRuntime
from tests.unit.agent.runtime_contract import RuntimeContract

IMAGE = "kajitori/busybox:1"
UNPULLABLE = "127.0.0.1:5999/kajitori/missing:1"


class CountingFake(FakeRuntime):
    """A FakeRuntime that counts the reads the cache is meant to save."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads: collections.Counter[str] = collections.Counter()
        self.on_inspect: Any = None

    def list_sandboxes(self, pod_uid: PodUID | None = None) -> list[Any]:
        self.reads["list_sandboxes"] += 1
        return super().list_sandboxes(pod_uid)

    def list_containers(self, pod_uid: PodUID | None = None) -> list[ContainerInfo]:
        self.reads["list_containers"] += 1
        return super().list_containers(pod_uid)

    def list_states(self, pod_uid: PodUID | None = None) -> dict[ContainerId, Any]:
        self.reads["list_states"] += 1
        return super().list_states(pod_uid)

    def inspect_container(self, container_id: ContainerId) -> ContainerInfo:
        self.reads["inspect_container"] += 1
        info = super().inspect_container(container_id)
        if self.on_inspect is not None:
            hook, self.on_inspect = self.on_inspect, None
            hook()
        return info


def new_fake() -> CountingFake:
    fake = CountingFake(images=["kajitori/pause:3.9", IMAGE])
    fake.fail_pull(UNPULLABLE, 'Get "http://127.0.0.1:5999/v2/": connect: connection refused')
    return fake


# ---------------------------------------------------------------- the contract, with events being read


@dataclass
class CachedHarness:
    fake: FakeRuntime
    runtime: CachedRuntime
    network: str = "pods"
    image: str = IMAGE
    unpullable_image: str = UNPULLABLE
    pull_error_words: str = "connection refused"
    labels: dict[str, str] = field(default_factory=dict)

    def fresh_runtime(self) -> ContainerRuntime:
        return CachedRuntime(self.fake)

    def long_running(self, name: str, *, restart_count: int = 0) -> ContainerConfig:
        return ContainerConfig(name=name, image=self.image, restart_count=restart_count)

    def exiting(self, name: str, exit_code: int, *, restart_count: int = 0) -> ContainerConfig:
        self.fake.script_exits(name, exit_code)
        return ContainerConfig(name=name, image=self.image, restart_count=restart_count)

    def printing(self, name: str, text: str) -> ContainerConfig:
        self.fake.script_output(name, text.encode() + b"\n")
        return ContainerConfig(name=name, image=self.image)

    def answering_exec(self, name: str) -> ContainerConfig:
        self.fake.script_exec(name, lambda cmd: (4, b"hi\n"))
        return ContainerConfig(name=name, image=self.image)


def consume(stream: EventStream) -> threading.Thread:
    """Read the stream on a thread, as the agent's runtime-events loop does."""
    thread = threading.Thread(target=lambda: collections.deque(stream, maxlen=0), daemon=True)
    thread.start()
    return thread


class TestCachedRuntimeContract(RuntimeContract):
    @pytest.fixture
    def harness(self) -> Iterator[CachedHarness]:
        fake = new_fake()
        cached = CachedRuntime(fake)
        stream = cached.events()
        consume(stream)
        yield CachedHarness(fake=fake, runtime=cached)
        stream.close()


# ---------------------------------------------------------------- what it saves and never misses


def pod(name: str) -> PodRef:
    return PodRef(namespace="default", name=name, uid=PodUID(f"uid-{name}"))


def started_pod(cached: CachedRuntime, name: str) -> tuple[ContainerId, ContainerId]:
    sandbox = cached.run_sandbox(SandboxConfig(pod=pod(name), network="pods"))
    container = cached.create_container(sandbox.id, ContainerConfig(name="main", image=IMAGE))
    cached.start_container(container)
    return sandbox.id, container


def handed_on(events: Iterator[RuntimeEvent], kind: RuntimeEventKind, container: ContainerId) -> None:
    """Read events until `container`'s `kind` was handed on (and so marked in the cache)."""
    for event in events:
        if event.kind == kind and event.container_id == container:
            return


def test_it_is_a_container_runtime() -> None:
    assert isinstance(CachedRuntime(new_fake()), ContainerRuntime)


def test_without_an_event_reader_every_read_goes_to_the_runtime() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    started_pod(cached, "a")
    cached.list_containers(PodUID("uid-a"))
    cached.list_containers(PodUID("uid-a"))
    assert fake.reads["list_containers"] == 2


def test_repeated_reads_of_an_unchanged_pod_cost_nothing() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    stream = cached.events()
    events = iter(stream)
    _, container = started_pod(cached, "a")
    first = cached.list_containers(PodUID("uid-a"))
    handed_on(events, RuntimeEventKind.START, container)
    before = sum(fake.reads.values())
    for _ in range(5):
        assert cached.list_containers(PodUID("uid-a")) == first
        assert len(cached.list_sandboxes(PodUID("uid-a"))) == 1
    assert sum(fake.reads.values()) == before
    assert first[0].state == ContainerState.RUNNING
    stream.close()


def test_a_die_event_shows_in_the_next_read() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    stream = cached.events()
    events = iter(stream)
    _, container = started_pod(cached, "a")
    assert cached.list_containers(PodUID("uid-a"))[0].state == ContainerState.RUNNING
    fake.exit_container(container, 3)
    handed_on(events, RuntimeEventKind.DIE, container)
    (info,) = cached.list_containers(PodUID("uid-a"))
    assert (info.state, info.exit_code) == (ContainerState.EXITED, 3)
    stream.close()


def test_an_inspect_overtaken_by_an_event_is_not_kept() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    stream = cached.events()
    events = iter(stream)
    _, container = started_pod(cached, "a")

    def die_while_inspecting() -> None:
        fake.exit_container(container, 1)
        handed_on(events, RuntimeEventKind.DIE, container)

    fake.on_inspect = die_while_inspecting
    # The inspect answers "running", but the container died before the answer was kept.
    cached.list_containers(PodUID("uid-a"))
    (info,) = cached.list_containers(PodUID("uid-a"))
    assert info.state == ContainerState.EXITED
    stream.close()


def test_a_full_listing_drops_what_went_and_inspects_only_what_changed() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    stream = cached.events()
    _, kept = started_pod(cached, "a")
    sandbox_b, _ = started_pod(cached, "b")
    assert len(cached.list_containers()) == 2
    # Removed behind the cache's back, with no event read: the next full listing finds out.
    fake.remove_sandbox(sandbox_b)
    fake.reads.clear()
    assert [c.id for c in cached.list_containers()] == [kept]
    assert fake.reads == {"list_states": 1}
    assert cached.list_sandboxes(PodUID("uid-b")) == []
    stream.close()


def test_closing_the_stream_stops_serving_from_memory() -> None:
    fake = new_fake()
    cached = CachedRuntime(fake)
    stream = cached.events()
    _, container = started_pod(cached, "a")
    cached.list_containers(PodUID("uid-a"))
    stream.close()
    fake.exit_container(container, 2)
    fake.reads.clear()
    (info,) = cached.list_containers(PodUID("uid-a"))
    assert info.state == ContainerState.EXITED
    assert fake.reads["list_containers"] == 1

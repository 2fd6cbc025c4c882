"""A `ContainerRuntime` that answers the sync loop's reads from memory while the runtime's events flow.

The sync loop asks "what runs for this pod?" on every sync (informer events, runtime events,
probe results, relists): on dockerd that was one listing plus one inspect per container,
every time. `CachedRuntime` wraps a runtime and keeps what it last learnt of every managed
sandbox and container (the kubelet's pod cache fed by its PLEG), so a sync costs no runtime
call unless something changed. It stays right by these rules:

  - Reads are served from memory only while an event stream of this runtime is open and
    read (the agent's runtime-events loop). With no consumer, or once the stream ends,
    every call goes to the runtime and the memory is dropped: nothing can go stale unseen.
  - An object is *dirty* when it may differ from what is stored: the agent acted on it
    (create, start, stop), or an event named it (die, oom, destroy; start unless it is already
    known running). A read for a pod first inspects that pod's dirty objects again.
  - The stream wrapper marks an event's object dirty *before* handing the event on, so the
    sync the event wakes sees the change.
  - An inspect's answer is stored only if the object was not marked again meanwhile (a mark
    number per dirty object), so a slow inspect never overwrites a newer change. A `start`
    event is no newer than the inspect the agent makes after its own start call.
  - A full listing (`list_sandboxes()`/`list_containers()` without a pod: housekeeping,
    every relist period) is one runtime listing of ids and states; only objects that are new
    or whose state differs are inspected, and objects gone from the runtime are dropped
    (unless stored after the listing began).

Writes (run, create, start, stop, remove), exec, logs and images go straight to the runtime.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from agent.runtime import (
    SANDBOX_CONTAINER_NAME,
    ContainerConfig,
    ContainerId,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ContainerState,
    EventStream,
    ImageInfo,
    ObjectState,
    PodUID,
    PullPolicy,
    RuntimeEvent,
    RuntimeEventKind,
    RuntimeInfo,
    SandboxConfig,
    SandboxInfo,
)


@dataclass(frozen=True)
class _Dirty:
    pod_uid: PodUID
    is_sandbox: bool
    mark: int
    started_only: bool = False
    """Marked only by a `start` event: an inspect made after the agent's own start call already
    shows that start (dockerd never restarts managed containers), so it may settle the mark."""


@dataclass(frozen=True)
class _Stored:
    info: SandboxInfo | ContainerInfo
    mark: int
    """The mark number current when it was stored (a listing that began later may drop it)."""


class CachedRuntime:
    """`ContainerRuntime` over another one, reading from memory while its events are consumed."""

    def __init__(self, runtime: ContainerRuntime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._marks = itertools.count(1)
        self._streams = 0
        self._populated = False
        self._objects: dict[ContainerId, _Stored] = {}
        self._dirty: dict[ContainerId, _Dirty] = {}

    # ------------------------------------------------------------ reads

    def list_sandboxes(self, pod_uid: PodUID | None = None) -> list[SandboxInfo]:
        if not self._caching():
            return self.runtime.list_sandboxes(pod_uid)
        found = self._read(pod_uid)
        return [info for info in found if isinstance(info, SandboxInfo)]

    def list_containers(self, pod_uid: PodUID | None = None) -> list[ContainerInfo]:
        if not self._caching():
            return self.runtime.list_containers(pod_uid)
        found = self._read(pod_uid)
        return [info for info in found if isinstance(info, ContainerInfo)]

    def list_states(self, pod_uid: PodUID | None = None) -> dict[ContainerId, ObjectState]:
        return self.runtime.list_states(pod_uid)

    def inspect_sandbox(self, sandbox_id: ContainerId) -> SandboxInfo:
        mark = self._mark_taken()
        try:
            info = self.runtime.inspect_sandbox(sandbox_id)
        except ContainerNotFound:
            self._drop(sandbox_id)
            raise
        self._store(info, mark)
        return info

    def inspect_container(self, container_id: ContainerId) -> ContainerInfo:
        mark = self._mark_taken()
        try:
            info = self.runtime.inspect_container(container_id)
        except ContainerNotFound:
            self._drop(container_id)
            raise
        self._store(info, mark)
        return info

    # ------------------------------------------------------------ writes

    def ensure_image(self, image: str, pull_policy: PullPolicy) -> ImageInfo:
        return self.runtime.ensure_image(image, pull_policy)

    def run_sandbox(self, config: SandboxConfig) -> SandboxInfo:
        mark = self._mark_taken()
        info = self.runtime.run_sandbox(config)
        self._store(info, mark)
        return info

    def stop_sandbox(self, sandbox_id: ContainerId, timeout_s: float) -> None:
        try:
            self.runtime.stop_sandbox(sandbox_id, timeout_s)
        finally:
            self._mark_sandbox_and_members(sandbox_id)

    def remove_sandbox(self, sandbox_id: ContainerId) -> None:
        try:
            self.runtime.remove_sandbox(sandbox_id)
        except BaseException:
            self._mark_sandbox_and_members(sandbox_id)
            raise
        with self._lock:
            members = [
                object_id
                for object_id, stored in self._objects.items()
                if isinstance(stored.info, ContainerInfo) and stored.info.sandbox_id == sandbox_id
            ]
            for object_id in [sandbox_id, *members]:
                self._objects.pop(object_id, None)
                self._dirty.pop(object_id, None)

    def create_container(self, sandbox_id: ContainerId, config: ContainerConfig) -> ContainerId:
        container_id = self.runtime.create_container(sandbox_id, config)
        with self._lock:
            sandbox = self._objects.get(sandbox_id)
            if self._streams and sandbox is not None:
                self._dirty[container_id] = _Dirty(sandbox.info.pod.uid, False, next(self._marks))
        return container_id

    def start_container(self, container_id: ContainerId) -> None:
        try:
            self.runtime.start_container(container_id)
        finally:
            self._mark(container_id)

    def stop_container(self, container_id: ContainerId, timeout_s: float) -> None:
        try:
            self.runtime.stop_container(container_id, timeout_s)
        finally:
            self._mark(container_id)

    def remove_container(self, container_id: ContainerId) -> None:
        try:
            self.runtime.remove_container(container_id)
        except BaseException:
            self._mark(container_id)
            raise
        self._drop(container_id)

    # ------------------------------------------------------------ pass-through

    def exec_sync(self, container_id: ContainerId, cmd: list[str], timeout_s: float) -> tuple[int, bytes]:
        return self.runtime.exec_sync(container_id, cmd, timeout_s)

    def logs(
        self,
        container_id: ContainerId,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        since: datetime | None = None,
    ) -> Iterator[bytes]:
        return self.runtime.logs(container_id, follow=follow, tail=tail, timestamps=timestamps, since=since)

    def info(self) -> RuntimeInfo:
        return self.runtime.info()

    def events(self) -> EventStream:
        return _ObservedEventStream(self, self.runtime.events())

    def close(self) -> None:
        close = getattr(self.runtime, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------ what the event stream tells

    def _stream_opened(self) -> None:
        with self._lock:
            self._streams += 1

    def _stream_closed(self) -> None:
        with self._lock:
            self._streams -= 1
            if not self._streams:
                # Events may now be missed: forget everything rather than answer from it later.
                self._populated = False
                self._objects.clear()
                self._dirty.clear()

    def _observe(self, event: RuntimeEvent) -> None:
        if event.pod_uid is None:
            return
        with self._lock:
            # Marked even before the first listing is complete: a change just after the listing
            # answered must not be lost.
            stored = self._objects.get(event.container_id)
            known_running = stored is not None and stored.info.state == ContainerState.RUNNING
            if (
                event.kind == RuntimeEventKind.START
                and known_running
                and event.container_id not in self._dirty
            ):
                return  # the agent started it and has already seen it running
            if event.kind == RuntimeEventKind.DESTROY and stored is None:
                return
            earlier = self._dirty.get(event.container_id)
            started_only = event.kind == RuntimeEventKind.START and (earlier is None or earlier.started_only)
            self._dirty[event.container_id] = _Dirty(
                event.pod_uid, event.container_name == SANDBOX_CONTAINER_NAME, next(self._marks), started_only
            )

    # ------------------------------------------------------------ memory

    def _caching(self) -> bool:
        with self._lock:
            return self._streams > 0

    def _read(self, pod_uid: PodUID | None) -> list[SandboxInfo | ContainerInfo]:
        with self._lock:
            populated = self._populated
        if pod_uid is None or not populated:
            self._relist()
        if pod_uid is not None:
            self._refresh(pod_uid)
        with self._lock:
            return [
                stored.info
                for stored in self._objects.values()
                if pod_uid is None or stored.info.pod.uid == pod_uid
            ]

    def _relist(self) -> None:
        with self._lock:
            began = next(self._marks)
        states = self.runtime.list_states()
        with self._lock:
            for object_id, kept in list(self._objects.items()):
                if object_id not in states and kept.mark < began and object_id not in self._dirty:
                    del self._objects[object_id]
            for object_id, state in states.items():
                if object_id in self._dirty:
                    continue
                stored = self._objects.get(object_id)
                if stored is None or stored.info.state != state.state:
                    self._dirty[object_id] = _Dirty(state.pod_uid, state.is_sandbox, next(self._marks))
            self._populated = True
            wanted = list(self._dirty)
        self._refresh_ids(wanted)

    def _refresh(self, pod_uid: PodUID) -> None:
        with self._lock:
            wanted = [object_id for object_id, dirty in self._dirty.items() if dirty.pod_uid == pod_uid]
        self._refresh_ids(wanted)

    def _refresh_ids(self, object_ids: list[ContainerId]) -> None:
        for object_id in object_ids:
            with self._lock:
                dirty = self._dirty.get(object_id)
            if dirty is None:
                continue
            info: SandboxInfo | ContainerInfo | None
            try:
                if dirty.is_sandbox:
                    info = self.runtime.inspect_sandbox(object_id)
                else:
                    info = self.runtime.inspect_container(object_id)
            except ContainerNotFound:
                info = None
            with self._lock:
                if self._dirty.get(object_id) != dirty:
                    continue  # marked again (or settled by another reader) while we looked
                del self._dirty[object_id]
                if info is None:
                    self._objects.pop(object_id, None)
                else:
                    self._objects[object_id] = _Stored(info, next(self._marks))

    def _mark_taken(self) -> int:
        with self._lock:
            return next(self._marks)

    def _store(self, info: SandboxInfo | ContainerInfo, mark: int) -> None:
        """Keep what an inspect or run said, unless the object was marked after `mark` was taken."""
        with self._lock:
            if not self._streams:
                return
            dirty = self._dirty.get(info.id)
            if dirty is not None:
                if dirty.mark > mark and not dirty.started_only:
                    return
                del self._dirty[info.id]
            self._objects[info.id] = _Stored(info, next(self._marks))

    def _mark(self, object_id: ContainerId) -> None:
        with self._lock:
            stored = self._objects.get(object_id)
            if not self._streams or stored is None:
                return
            self._dirty[object_id] = _Dirty(
                stored.info.pod.uid, isinstance(stored.info, SandboxInfo), next(self._marks)
            )

    def _mark_sandbox_and_members(self, sandbox_id: ContainerId) -> None:
        with self._lock:
            members = [
                object_id
                for object_id, stored in self._objects.items()
                if isinstance(stored.info, ContainerInfo) and stored.info.sandbox_id == sandbox_id
            ]
        for object_id in [sandbox_id, *members]:
            self._mark(object_id)

    def _drop(self, object_id: ContainerId) -> None:
        with self._lock:
            self._objects.pop(object_id, None)
            self._dirty.pop(object_id, None)


class _ObservedEventStream:
    """The wrapped runtime's events, each marked in the cache before it is handed on.

    The cache serves reads from the moment the stream is made (the runtime keeps events from
    then on until they are read) until it is closed or its iteration ends.
    """

    def __init__(self, cache: CachedRuntime, inner: EventStream) -> None:
        self._cache = cache
        self._inner = inner
        self._open = True
        self._lock = threading.Lock()
        cache._stream_opened()

    def __iter__(self) -> Iterator[RuntimeEvent]:
        try:
            for event in self._inner:
                self._cache._observe(event)
                yield event
        finally:
            self._end()

    def close(self) -> None:
        self._end()
        self._inner.close()

    def _end(self) -> None:
        with self._lock:
            was_open, self._open = self._open, False
        if was_open:
            self._cache._stream_closed()

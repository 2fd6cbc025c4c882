"""What every store keeps in memory: the objects, the revision, the watch history, the watchers.

``MemoryState`` holds them; ``MemoryReads`` gives a store its reads and watches from them.

Both stores hold the whole state in memory (each object as its dict and its JSON bytes,
so gets and lists never leave the process and a list is a join of ready-made bytes);
``MemoryState`` is that state, and the reads and watches answered from it. It owns no
truth: a store calls ``apply`` only with a change already committed to its own truth
(the SQLite file, fsynced; or etcd, as its watch reports it), so nothing read or heard
from here can be undone by a crash.

The loop's guarantees, as long as a store applies changes in revision order (both do,
under ``lock``):
- ``apply`` changes the objects and the revision before any watcher hears of it;
- every watcher of a collection hears its events in revision order, exactly once: a
  ``watch`` replays the kept events after ``from_rv`` and subscribes under the same
  lock, so no change falls between the replay and the first live event.

Watch history is a ring of the most recent events, bounded both in events and in bytes
(as ``event_bytes`` counts them against ``HISTORY_BYTES``): a few 1 MiB objects written
often cannot grow it past the byte bound, many small ones stop at the count. Asking for a
revision older than the ring raises ``TooOld`` (HTTP 410) and the watcher relists, as
with Kubernetes' own watch cache.

A watcher registered with ``on_loop`` from inside an asyncio event loop is called on that
loop (``call_soon_threadsafe``); others are called at once, inside ``apply``. A watcher
whose callback raises is dropped: a broken watcher must not fail a committed write.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from master.store.interface import (
    HISTORY_BYTES,
    HISTORY_EVENTS,
    StoredObject,
    StoreEvent,
    TooOld,
    event_bytes,
)

log = logging.getLogger(__name__)


def collection_of(key: str) -> str:
    # "/core/pods/default/web-1" -> "/core/pods"
    return key.rsplit("/", 2)[0]


def namespace_of(key: str) -> str:
    return key.rsplit("/", 2)[1]


class MemorySubscription:
    """One watcher of one collection; ``cancel`` stops deliveries, even ones already queued on its loop."""

    def __init__(
        self,
        state: MemoryState,
        collection: str,
        callback: Callable[[StoreEvent], None],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._state = state
        self.collection = collection
        self.callback = callback
        self.loop = loop
        self.cancelled = False

    def deliver(self, event: StoreEvent) -> None:
        if self.cancelled:
            return
        try:
            self.callback(event)
        except Exception:  # a broken watcher must not fail the write that was already committed
            log.exception("watch callback failed; dropping that watcher")
            self.cancel()

    def cancel(self) -> None:
        self.cancelled = True
        self._state.unsubscribe(self)


class MemoryState:
    """The objects by collection, the revision, the bounded history ring and the subscribers, under ``lock``."""

    def __init__(
        self,
        revision: int,
        objects: Iterable[StoredObject] = (),
        *,
        history: int = HISTORY_EVENTS,
        history_bytes: int = HISTORY_BYTES,
    ) -> None:
        # Reentrant: the stores hold it across their own check-then-write and call in here.
        self.lock = threading.RLock()
        self._objects: dict[str, dict[str, StoredObject]] = {}
        for stored in objects:
            self._objects.setdefault(collection_of(stored.key), {})[stored.key] = stored
        self._revision = revision
        self._history: deque[StoreEvent] = deque()
        self._history_limit = history
        self._history_bytes_limit = history_bytes
        self._history_bytes = 0
        # Events with rv > _history_floor are all in the ring (until it wraps or is cut).
        self._history_floor = revision
        self._subscribers: dict[str, set[MemorySubscription]] = {}

    # -- reads ---------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    def count(self) -> int:
        return sum(len(c) for c in self._objects.values())

    def get(self, key: str) -> StoredObject | None:
        return self._objects.get(collection_of(key), {}).get(key)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        with self.lock:
            items = self._objects.get(collection, {})
            if namespace is None:
                return list(items.values()), self._revision
            return [o for k, o in items.items() if namespace_of(k) == namespace], self._revision

    @property
    def by_collection(self) -> Mapping[str, Mapping[str, StoredObject]]:
        """The live objects by collection and key (read-only; it changes as changes are applied)."""
        return self._objects

    def objects(self) -> Iterator[StoredObject]:
        """Every object (a snapshot: safe to apply changes while iterating)."""
        with self.lock:
            snapshot = [o for bucket in self._objects.values() for o in bucket.values()]
        return iter(snapshot)

    @property
    def history_bytes(self) -> int:
        """What the kept history costs now, as ``event_bytes`` counts it."""
        return self._history_bytes

    def kept_event(self, rv: int, key: str) -> StoreEvent | None:
        """The kept event of ``key`` at revision ``rv``, if the ring still has it."""
        with self.lock:
            for event in reversed(self._history):
                if event.rv == rv and event.current.key == key:
                    return event
        return None

    # -- changes -------------------------------------------------------------

    def apply(self, event: StoreEvent) -> None:
        """Take in one committed change: objects and revision first, then history, then the watchers."""
        with self.lock:
            key = event.current.key
            if event.type == "DELETED":
                self._objects.get(event.collection, {}).pop(key, None)
            else:
                self._objects.setdefault(event.collection, {})[key] = event.current
            self._revision = max(self._revision, event.rv)
            self._remember(event)
            for sub in list(self._subscribers.get(event.collection, ())):
                if sub.loop is None:
                    sub.deliver(event)
                    continue
                try:
                    sub.loop.call_soon_threadsafe(sub.deliver, event)
                except RuntimeError:  # its loop is closed
                    sub.cancel()

    def advance(self, revision: int) -> None:
        """Move the revision on without a change of these objects (etcd's relist)."""
        with self.lock:
            self._revision = max(self._revision, revision)

    def _remember(self, event: StoreEvent) -> None:
        self._history.append(event)
        self._history_bytes += event_bytes(event)
        # Keep the newest event even when it alone is over the byte bound: a resume from
        # the revision just before it must still work.
        while len(self._history) > 1 and (
            len(self._history) > self._history_limit or self._history_bytes > self._history_bytes_limit
        ):
            dropped = self._history.popleft()
            self._history_bytes -= event_bytes(dropped)
            self._history_floor = dropped.rv

    def forget_before(self, rv: int) -> None:
        """Drop history up to ``rv``: resuming from before it answers TooOld."""
        with self.lock:
            while self._history and self._history[0].rv <= rv:
                self._history_bytes -= event_bytes(self._history.popleft())
            self._history_floor = max(self._history_floor, min(rv, self._revision))

    def forget_all(self, floor: int) -> None:
        """Drop the whole history: nobody may resume from before ``floor``."""
        with self.lock:
            self._history.clear()
            self._history_bytes = 0
            self._history_floor = floor

    # -- watch ---------------------------------------------------------------

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]:
        """The kept events of ``collection`` after ``from_rv``, oldest first; ``TooOld`` when some are no longer kept."""
        with self.lock:
            if from_rv < self._history_floor:
                raise TooOld(from_rv, self._history_floor)
            return [e for e in self._history if e.rv > from_rv and e.collection == collection]

    def watch(
        self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None], *, on_loop: bool = False
    ) -> MemorySubscription:
        """Replay the kept events after ``from_rv`` to ``callback``, then deliver new ones as they happen."""
        loop: asyncio.AbstractEventLoop | None = None
        if on_loop:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        with self.lock:
            sub = MemorySubscription(self, collection, callback, loop)
            for event in self.events_since(collection, from_rv):
                callback(event)
            self._subscribers.setdefault(collection, set()).add(sub)
            return sub

    def unsubscribe(self, sub: MemorySubscription) -> None:
        with self.lock:
            self._subscribers.get(sub.collection, set()).discard(sub)


class MemoryReads:
    """The reads and watches of a store whose state is the ``MemoryState`` in ``self._memory``."""

    _memory: MemoryState
    # Keys whose stored value was written by another encryption provider than the first
    # (master.store.encryption): an update of one is written even when nothing changed.
    _stale: set[str]
    # Whether watchers registered from an event loop are called on it (etcd feeds memory from a thread).
    _watch_on_loop = False

    @property
    def revision(self) -> int:
        return self._memory.revision

    def count(self) -> int:
        return self._memory.count()

    def get(self, key: str) -> StoredObject | None:
        return self._memory.get(key)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        return self._memory.list(collection, namespace)

    def is_stale(self, key: str) -> bool:
        """Whether ``key``'s stored bytes are encrypted otherwise than a write would now encrypt them."""
        return key in self._stale

    @property
    def history_bytes(self) -> int:
        """What the kept history costs now, as ``event_bytes`` counts it."""
        return self._memory.history_bytes

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]:
        """The kept events of ``collection`` after ``from_rv``, oldest first; ``TooOld`` when some are no longer kept."""
        return self._memory.events_since(collection, from_rv)

    def watch(
        self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]
    ) -> MemorySubscription:
        """Replay the kept events after ``from_rv`` to ``callback``, then deliver new ones as they happen."""
        return self._memory.watch(collection, from_rv, callback, on_loop=self._watch_on_loop)

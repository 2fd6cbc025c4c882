"""Fan-out of store events to watch streams, after the write that made them has returned.

The store calls back inside every write. Here each collection has exactly one such
callback, which only appends the event to a list and, once per burst, schedules
``_dispatch`` on the event loop; so a write costs the same with 0 or 1,000 watchers.
``_dispatch`` then hands each event to the watchers of its namespace and to the
cluster-wide ones (a watcher of another namespace costs nothing), and each watcher
matches its selectors and queues a reference to the stored bytes, or, when its
stream is idle, writes the event to its connection at once: ``EventFrames`` makes the
event's line, framed as a chunk of the chunked response, once per kind it is shown as
(its type; ADDED or DELETED to a watcher whose selector it entered or left), the same
bytes for every watcher (see ``master.apiserver.watch``).

Turns: one turn of ``_dispatch`` queues an event to at most ``DISPATCH_SLICE`` watchers
and schedules the next turn, so the loop reads sockets in between. Each queued-to
watcher's stream then runs (encrypts and writes to its socket) in the loop's next
turn: without slices 1,000 live watchers would all run in one turn, and a write that
arrived meanwhile would wait for all of them. A watcher written to at once costs its
TLS write inside the turn (tens of microseconds, more on a busy machine), so a turn
also ends after ``TURN_S``: 64 such writes made each turn a few milliseconds, which a
write request paid once per turn of the loop it needed.

Batches: a watcher written to at once also gets, in the same write, the events of its
collection that were written meanwhile and still wait for their turn (up to
``BATCH_EVENTS``): when writes come faster than 1,000 watchers can be told, each is
told the backlog in one TLS record and one send, not one per event. The hub's own
turn for those events then finds them seen.

Memory: every watcher's queued live events are bounded in bytes
(``WatchStream.QUEUE_BYTES``), and all watchers' together by ``total_bytes``; past the
total, the watcher furthest behind is ended with 410, as one past its own bound is.

Order: events reach a watcher in revision order, each once; a watcher that starts
from a revision first gets the kept events after it (replayed by ``add``) and then
only newer ones (``_dispatch`` skips what the replay, or a batch, already gave).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from itertools import islice
from typing import Protocol

from kajitori.api.registry import Resource
from master.apiserver.http_protocol import chunk_frame
from master.store import Store, StoreEvent, Subscription

log = logging.getLogger(__name__)

TOTAL_QUEUE_BYTES = 256 * 1024 * 1024
DISPATCH_SLICE = 64  # watchers woken per turn of the loop
LOOKS_PER_SLICE = 2048  # watchers looked at per turn (a look that queues nothing is cheap)
TURN_S = 0.0005  # and at most this long a turn, once it has told one watcher
BATCH_EVENTS = 32  # events a watcher written to at once may get in one write


def event_line(kind: str, body: bytes) -> bytes:
    """One watch event as a line of a JSON watch stream: ``{"type":KIND,"object":BODY}``."""
    return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"


class EventFrames:
    """One event as a chunk of a JSON watch response, made once per kind it is shown as, for every watcher."""

    __slots__ = ("_frames", "event", "namespace")

    def __init__(self, event: StoreEvent) -> None:
        self.event = event
        self.namespace: str | None = (event.current.obj.get("metadata") or {}).get("namespace")
        self._frames: dict[str, bytes] = {}

    def frame(self, kind: str) -> bytes:
        """``chunk_frame(event_line(kind, the stored JSON))``."""
        frame = self._frames.get(kind)
        if frame is None:
            frame = self._frames[kind] = chunk_frame(event_line(kind, self.event.current.raw))
        return frame


class WatchStream(Protocol):
    """What the hub needs of a watch stream (``master.apiserver.watch.WatchStream``)."""

    resource: Resource
    namespace: str | None
    queued_bytes: int
    seen_rv: int

    def replay(self, event: StoreEvent) -> None: ...

    def tell(self, frames: EventFrames, later: Sequence[EventFrames] = ()) -> bool: ...

    def fail(self) -> None: ...


class _Collection:
    """The watchers of one collection, indexed by namespace (None: every namespace)."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.by_namespace: dict[str | None, set[WatchStream]] = {}

    def candidates(self, namespace: str | None) -> list[WatchStream]:
        found = list(self.by_namespace.get(None, ()))
        if namespace is not None:
            found.extend(self.by_namespace.get(namespace, ()))
        return found

    def empty(self) -> bool:
        return not any(self.by_namespace.values())


class WatchHub:
    def __init__(self, store: Store, *, total_bytes: int = TOTAL_QUEUE_BYTES) -> None:
        self.store = store
        self.total_bytes = total_bytes
        self.queued_bytes = 0  # kept by the streams: what all their live queues hold now
        self._collections: dict[str, _Collection] = {}
        self._pending: deque[EventFrames] = deque()
        self._event: EventFrames | None = None  # the event being handed out, to the watchers in _left
        self._left: deque[WatchStream] = deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._dispatched_rv = store.revision  # see progress_rv

    def dispatch_pending(self) -> bool:
        """Whether some written events have not been handed to the watchers yet."""
        return bool(self._pending) or bool(self._left)

    def progress_rv(self) -> int:
        """A revision up to which every event of every watched collection has been offered to
        its watchers: a bookmark may claim it for any watcher whose queue is empty.

        Events reach the hub in revision order (the store calls back in commit order), so
        the last event fully handed out bounds all earlier ones. The store's own revision
        does not: a committed event may still be on its way to ``_pending`` (etcd's
        deliveries come through the loop), and a bookmark past it would let a client resume
        after an event it never got."""
        return self._dispatched_rv

    def watchers(self) -> int:
        return sum(len(s) for c in self._collections.values() for s in c.by_namespace.values())

    def watchers_by_collection(self) -> dict[str, int]:
        """The live watchers of each collection (``/core/pods``), for /metrics."""
        return {name: sum(len(s) for s in c.by_namespace.values()) for name, c in self._collections.items()}

    def add(self, stream: WatchStream, from_rv: int) -> None:
        """Register ``stream`` from ``from_rv``: queue the kept events after it, then every new one.

        Raises ``TooOld`` when the store no longer keeps the events after ``from_rv``.
        Called on the event loop.
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        collection = stream.resource.collection
        entry = self._collections.get(collection)
        if entry is None:
            # Subscribe first, so a write between the replay below and the registration
            # lands in _pending and is not lost.
            sub = self.store.watch(collection, self.store.revision, self._on_store_event)
            entry = self._collections[collection] = _Collection(sub)
        try:
            replay = self.store.events_since(collection, from_rv)
        except Exception:
            self._forget_if_empty(collection)
            raise
        stream.seen_rv = from_rv
        for event in replay:
            stream.replay(event)
        entry.by_namespace.setdefault(stream.namespace, set()).add(stream)

    def remove(self, stream: WatchStream) -> None:
        collection = stream.resource.collection
        entry = self._collections.get(collection)
        if entry is None:
            return
        entry.by_namespace.get(stream.namespace, set()).discard(stream)
        self._forget_if_empty(collection)

    def _forget_if_empty(self, collection: str) -> None:
        entry = self._collections.get(collection)
        if entry is not None and entry.empty():
            entry.subscription.cancel()
            del self._collections[collection]

    def _on_store_event(self, event: StoreEvent) -> None:
        # Inside the write: queue and return.
        self._pending.append(EventFrames(event))
        if self._scheduled or self._loop is None:
            return
        self._scheduled = True
        if threading.get_ident() == self._loop_thread:
            self._loop.call_soon(self._dispatch)
        else:
            self._loop.call_soon_threadsafe(self._dispatch)

    def _dispatch(self) -> None:
        assert self._loop is not None
        self._scheduled = False
        woken = looked = 0
        clock = time.perf_counter
        ends = clock() + TURN_S
        while woken < DISPATCH_SLICE and looked < LOOKS_PER_SLICE and (not woken or clock() < ends):
            if not self._left:
                self._handed_out()
                if not self._pending:
                    break
                self._event = self._pending.popleft()
                entry = self._collections.get(self._event.event.collection)
                if entry is not None:
                    self._left = deque(entry.candidates(self._event.namespace))
                continue
            # The watchers of one event, as many as this turn takes: the loop runs once per
            # watcher per event, so what it looks up is looked up once here.
            frames, left, later = self._event, self._left, self._later()
            assert frames is not None
            while left and woken < DISPATCH_SLICE and looked < LOOKS_PER_SLICE:
                looked += 1
                if left.popleft().tell(frames, later):
                    woken += 1
                    if clock() >= ends:
                        break
        if not self._left:
            self._handed_out()
        if self.queued_bytes > self.total_bytes:
            self._end_furthest_behind()
        if (self._left or self._pending) and not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._dispatch)

    def _later(self) -> list[EventFrames]:
        """The pending events of the collection being handed out (at most ``BATCH_EVENTS - 1``), in order."""
        if self._event is None or not self._pending:
            return []
        collection = self._event.event.collection
        # Copied in one call, which holds the GIL throughout: a store may call back from a
        # writer thread, and a deque appended to while Python code iterates it raises.
        pending = list(islice(self._pending, BATCH_EVENTS - 1))
        return [f for f in pending if f.event.collection == collection]

    def _handed_out(self) -> None:
        """The current event has been offered to every watcher it had."""
        if self._event is not None:
            self._dispatched_rv = max(self._dispatched_rv, self._event.event.rv)
            self._event = None

    def _end_furthest_behind(self) -> None:
        streams = [s for c in self._collections.values() for ss in c.by_namespace.values() for s in ss]
        for stream in sorted(streams, key=lambda s: s.queued_bytes, reverse=True):
            if self.queued_bytes <= self.total_bytes:
                return
            log.warning("watches hold %d bytes in all; ending the one furthest behind", self.queued_bytes)
            stream.fail()

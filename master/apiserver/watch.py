"""Watch streams: newline-delimited JSON events for one resource, filtered, in revision order.

Each watcher owns a queue that ``WatchHub`` fills on the event loop after the write
(``master.apiserver.watch_hub``). The queue holds references to the stored JSON, and
its live events are bounded in bytes (``QUEUE_BYTES``): a reader that falls that far
behind only ends its own watch, with an ERROR event (410 Expired), and its client
relists; no writer and no other watcher waits for it. The initial objects of a watch
without a resourceVersion, and the kept events a resume replays, are references to
what the store already holds, so they are not counted against that bound.

Written now: a watcher whose stream is parked on an empty queue and whose connection
takes more (``write_now``, from ``master.apiserver.http_protocol``) is not queued to
and woken: the hub's ``tell`` writes the event to its connection at once. Its task, its
timeout and the middlewares' sends would cost several times the write itself, once per
watcher per event; and the event's line, framed as a chunk of the response, is made
once (``watch_hub.EventFrames``), the same bytes for every such watcher. A watch with no
selector shows every event the hub tells it as it is, so it is not matched at all.
Events written after it and still waiting for the hub go along in the same write
(one TLS record and one send for all of them). Anything else (a full socket buffer, a
queue not yet empty, a stream busy sending) takes the queue, so the order stays the
revision order. ``KAJITORI_WATCH_WRITE_NOW=0`` turns this off (the benchmark compares both).
What is left per watcher and event is mostly that TLS record and send (about 5 of the
6 µs on the 2-core bench machine; the Python of hub, stream and protocol about 0.75 µs).

A watch without bookmarks is not woken before its deadline: a client that hangs up
is noticed by the response's own disconnect listener, and waking every idle watcher
every ``BOOKMARK_INTERVAL_S`` for nothing cost 1,000 watchers 200 task wake-ups a second
(about 0.1 ms of the master's CPU per write in bench/watch_fanout), all in one turn of
the loop for watches opened together.

Selectors follow Kubernetes: an object that stops matching arrives as DELETED, one
that starts matching as ADDED.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence

import orjson

from kajitori.api.registry import Resource
from kajitori.api.selectors import FieldQuery, LabelQuery
from master.apiserver import errors
from master.apiserver.http_protocol import WriteNow, chunk_frame
from master.apiserver.watch_hub import EventFrames, WatchHub, event_line
from master.store import StoredObject, StoreEvent, TooOld

log = logging.getLogger(__name__)

QUEUE_BYTES = 8 * 1024 * 1024
ITEM_OVERHEAD = 100  # what a queued event costs beyond its object's JSON
CHUNK_BYTES = 1024 * 1024  # at most this much (or one event) per write to the socket
BOOKMARK_INTERVAL_S = 5.0
WRITE_NOW = os.environ.get("KAJITORI_WATCH_WRITE_NOW", "1") != "0"


class WatchStream:
    def __init__(
        self,
        hub: WatchHub,
        resource: Resource,
        namespace: str | None,
        labels: LabelQuery,
        fields: FieldQuery,
        *,
        bookmarks: bool,
        timeout_s: float,
        encode: Callable[[StoredObject], bytes] | None = None,
        queue_bytes: int = QUEUE_BYTES,
        write_now: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.hub = hub
        self.resource = resource
        self.namespace = namespace if resource.namespaced else None
        self.labels = labels
        self.fields = fields
        self.bookmarks = bookmarks
        self.timeout_s = timeout_s
        # How an event's object goes on the wire: its stored JSON, or e.g. a one-row
        # meta.k8s.io Table for `kubectl get -w`.
        self.encode: Callable[[StoredObject], bytes] = encode or (lambda stored: stored.raw)
        self._shared_line = encode is None  # every watcher's line of an event is the same bytes
        self._selects = bool(labels) or bool(fields)
        self.write_now = write_now if WRITE_NOW else None
        self._parked = False  # the stream waits on an empty queue, no send of its own in flight
        self.queue_limit = queue_bytes
        self.queued_bytes = 0  # live events only (see the module docstring)
        self.seen_rv = 0  # the newest revision queued; the hub never offers one twice
        # (kind, object or its encoding, counted bytes); None ends the stream after what is before it.
        self._queue: deque[tuple[str, StoredObject | bytes, int] | None] = deque()
        self._ready = asyncio.Event()
        self._ended = False
        self._registered = False

    def _matches(self, stored: StoredObject | None) -> bool:
        if stored is None:
            return False
        if not self._selects and not self.namespace:
            return True
        meta = stored.obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if not self._selects:
            return True
        return self.labels.matches(meta.get("labels")) and self.fields.matches(stored.obj)

    def replay(self, event: StoreEvent) -> None:
        """Queue a kept event if this watch shows it (the hub's replay when the watch starts from a revision)."""
        if self._ended or event.rv <= self.seen_rv:
            return
        self.seen_rv = event.rv
        kind = self._shown_as(event)
        if kind is not None:
            self._put(kind, event.current, counted=False)

    def tell(self, frames: EventFrames, later: Sequence[EventFrames] = ()) -> bool:
        """Queue a new event, or write it at once, if this watch shows it (the hub's dispatch, on the event loop); whether it did.

        The hub tells an event only to the watchers of its namespace and the cluster-wide
        ones, with its frames made once for all of them (``frames``). ``later``: the events
        of this collection written after it and not yet handed out; written at once, this
        watcher gets those it shows in the same write (one TLS record and one send instead
        of one per event), and the hub's later tells of them are then past ``seen_rv``.
        Called once per watcher per event (1,000 times for one write): kept short.
        """
        event = frames.event
        if self._ended or event.rv <= self.seen_rv:
            return False
        self.seen_rv = event.rv
        kind = self._told_as(event)
        if kind is None:
            return False
        if self._parked and not self._queue and self.write_now is not None:
            if later:
                return self._write_with_later(self.write_now, kind, frames, later)
            if self.write_now(self._frame(kind, frames)):
                return True
        self._put(kind, event.current, counted=True)
        return True

    def _write_with_later(self, write_now: WriteNow, kind: str, frames: EventFrames, later: Sequence[EventFrames]) -> bool:
        shown = [(kind, frames)]
        for next_frames in later:
            event = next_frames.event
            if (self.namespace is not None and next_frames.namespace != self.namespace) or event.rv <= self.seen_rv:
                continue
            self.seen_rv = event.rv
            next_kind = self._told_as(event)
            if next_kind is not None:
                shown.append((next_kind, next_frames))
        if not write_now(b"".join([self._frame(k, f) for k, f in shown])):
            for k, f in shown:
                self._put(k, f.event.current, counted=True)
        return True

    def _told_as(self, event: StoreEvent) -> str | None:
        """How this watch shows an event of its namespace the hub tells it (``_shown_as``).

        Without selectors nothing is matched: the namespace is the hub's index, and no
        update changes it."""
        return self._shown_as(event) if self._selects else event.type

    def _frame(self, kind: str, frames: EventFrames) -> bytes:
        if self._shared_line:
            return frames.frame(kind)
        return chunk_frame(event_line(kind, self.encode(frames.event.current)))

    def _shown_as(self, event: StoreEvent) -> str | None:
        """How this watch shows ``event``: its type, ADDED or DELETED as its selectors say; None: not at all."""
        now = self._matches(event.current)
        if event.type == "MODIFIED":
            before = self._matches(event.previous)
            if now and before:
                return "MODIFIED"
            if now:
                return "ADDED"
            return "DELETED" if before else None
        return event.type if now else None

    def _put(self, kind: str, stored: StoredObject, *, counted: bool) -> None:
        if self._ended:
            return
        size = len(stored.raw) + ITEM_OVERHEAD if counted else 0
        if counted and self.queued_bytes + size > self.queue_limit:
            log.warning(
                "watch on %s fell %d bytes behind; ending it so the client relists", self.resource.plural, self.queued_bytes
            )
            self.fail()
            return
        self._queue.append((kind, stored, size))
        self._account(size)
        self._ready.set()

    def _account(self, size: int) -> None:
        self.queued_bytes += size
        self.hub.queued_bytes += size

    def fail(self) -> None:
        """End this watch with 410 Expired: drop what is queued, say why, stop hearing events."""
        if self._ended:
            return
        self._ended = True
        self._account(-self.queued_bytes)
        self._queue.clear()
        status = errors.gone("the watch fell too far behind; resume from a newer resourceVersion").body()
        self._queue.append(("ERROR", orjson.dumps(status), 0))
        self._queue.append(None)
        self._ready.set()
        self.stop()

    def start(self, resource_version: str | None) -> None:
        """Subscribe; with no (or "0") resourceVersion first send the current objects as ADDED.

        Raises ApiError 410 when the version is older than the kept history.
        """
        if resource_version in (None, "", "0"):
            items, revision = self.hub.store.list(self.resource.collection, self.namespace)
            for stored in sorted(items, key=lambda o: o.key):
                if self._matches(stored):
                    self._put("ADDED", stored, counted=False)
            from_rv = revision
        else:
            try:
                from_rv = int(resource_version)
            except ValueError:
                raise errors.bad_request(f"resourceVersion {resource_version!r} is not valid") from None
        try:
            self.hub.add(self, from_rv)
        except TooOld as exc:
            raise errors.gone(str(exc)) from None
        self._registered = True

    def stop(self) -> None:
        self.write_now = None  # it holds the connection's protocol: no longer than the watch
        if self._registered:
            self._registered = False
            self.hub.remove(self)

    def _take_chunk(self) -> tuple[bytes, bool]:
        """What is queued, encoded, up to ``CHUNK_BYTES`` (at least one event); and whether the stream ends."""
        parts: list[bytes] = []
        size = 0
        freed = 0
        ended = False
        while self._queue and (not parts or size < CHUNK_BYTES):
            item = self._queue.popleft()
            if item is None:
                ended = True
                break
            kind, payload, counted = item
            freed += counted
            body = payload if isinstance(payload, bytes) else self.encode(payload)
            parts.append(event_line(kind, body))
            size += len(body)
        self._account(-freed)
        return b"".join(parts), ended

    async def stream(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                if not self._queue:
                    self._ready.clear()
                    self._parked = True
                    # Without bookmarks nothing is due before the deadline (module docstring).
                    wait = min(remaining, BOOKMARK_INTERVAL_S) if self.bookmarks else remaining
                    try:
                        async with asyncio.timeout(wait):
                            await self._ready.wait()
                    except TimeoutError:
                        self._parked = False
                        if self.bookmarks and not self._queue:
                            yield self._bookmark()
                        continue
                    finally:
                        self._parked = False
                chunk, ended = self._take_chunk()
                if chunk:
                    yield chunk
                if ended:
                    return
        finally:
            self.stop()
            self._ended = True
            self._account(-self.queued_bytes)

    def _bookmark_rv(self) -> int:
        # Sent on an empty queue: every event up to the hub's progress has been offered to
        # this watcher, and whatever it showed, sent. Remembered as seen, so a bookmark never
        # claims less than the one before (it once went back to the watch's start whenever
        # a dispatch was pending, and an informer resumed from there into a 410 and relisted).
        self.seen_rv = max(self.seen_rv, self.hub.progress_rv())
        return self.seen_rv

    def _bookmark(self) -> bytes:
        obj = {
            "kind": self.resource.kind,
            "apiVersion": self.resource.api_version,
            "metadata": {"resourceVersion": str(self._bookmark_rv())},
        }
        return b'{"type":"BOOKMARK","object":' + orjson.dumps(obj) + b"}\n"

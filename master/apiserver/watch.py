"""Watch streams: newline-delimited JSON events for one resource, filtered, in revision order.

Each watcher owns a bounded queue filled by the store's callback on the event loop.
A slow reader therefore only ever fills its own queue: when it overflows, that one
watch ends with an ERROR event (410 Expired) and its client resumes or relists; no
writer and no other watcher waits for it.

Selectors follow Kubernetes: an object that stops matching arrives as DELETED, one
that starts matching as ADDED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import orjson

from kajitori.api.registry import Resource
from kajitori.api.selectors import FieldQuery, LabelQuery
from master.apiserver import errors
from master.store import Store, StoredObject, StoreEvent, Subscription, TooOld

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
BOOKMARK_INTERVAL_S = 5.0


def _event_bytes(kind: str, raw: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + raw + b"}\n"


class WatchStream:
    def __init__(
        self,
        store: Store,
        resource: Resource,
        namespace: str | None,
        labels: LabelQuery,
        fields: FieldQuery,
        *,
        bookmarks: bool,
        timeout_s: float,
        encode: Callable[[StoredObject], bytes] | None = None,
    ) -> None:
        self.store = store
        self.resource = resource
        self.namespace = namespace if resource.namespaced else None
        self.labels = labels
        self.fields = fields
        self.bookmarks = bookmarks
        self.timeout_s = timeout_s
        # How an event's object goes on the wire: its stored JSON, or e.g. a one-row
        # meta.k8s.io Table for `kubectl get -w`.
        self.encode: Callable[[StoredObject], bytes] = encode or (lambda stored: stored.raw)
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._overflowed = False
        self._subscription: Subscription | None = None

    def _matches(self, stored: StoredObject | None) -> bool:
        if stored is None:
            return False
        meta = stored.obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(stored.obj)

    def _on_event(self, event: StoreEvent) -> None:
        if self._overflowed:
            return
        now = self._matches(event.current)
        if event.type == "MODIFIED":
            before = self._matches(event.previous)
            if now and before:
                kind = "MODIFIED"
            elif now:
                kind = "ADDED"
            elif before:
                kind = "DELETED"
            else:
                return
        elif now:
            kind = event.type
        else:
            return
        self._put(_event_bytes(kind, self.encode(event.current)))

    def _put(self, item: bytes | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._overflowed = True
            log.warning("watch on %s fell %d events behind; ending it so the client relists", self.resource.plural, QUEUE_LIMIT)
            self._drain_and_fail()

    def _drain_and_fail(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        status = errors.gone("the watch fell too far behind; resume from a newer resourceVersion").body()
        self.queue.put_nowait(b'{"type":"ERROR","object":' + orjson.dumps(status) + b"}\n")
        self.queue.put_nowait(None)
        if self._subscription is not None:
            self._subscription.cancel()

    def start(self, resource_version: str | None) -> None:
        """Subscribe; with no (or "0") resourceVersion first send the current objects as ADDED.

        Raises ApiError 410 when the version is older than the kept history.
        """
        if resource_version in (None, "", "0"):
            items, revision = self.store.list(self.resource.collection, self.namespace)
            for stored in sorted(items, key=lambda o: o.key):
                if self._matches(stored):
                    self._put(_event_bytes("ADDED", self.encode(stored)))
            from_rv = revision
        else:
            try:
                from_rv = int(resource_version)
            except ValueError:
                raise errors.bad_request(f"resourceVersion {resource_version!r} is not valid") from None
        try:
            self._subscription = self.store.watch(self.resource.collection, from_rv, self._on_event)
        except TooOld as exc:
            raise errors.gone(str(exc)) from None

    def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None

    async def stream(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout=min(remaining, BOOKMARK_INTERVAL_S))
                except TimeoutError:
                    if self.bookmarks:
                        yield self._bookmark()
                    continue
                if item is None:
                    return
                # Hand over everything already queued in one write: fewer syscalls under load.
                chunk = [item]
                while not self.queue.empty() and len(chunk) < 512:
                    more = self.queue.get_nowait()
                    if more is None:
                        yield b"".join(chunk)
                        return
                    chunk.append(more)
                yield b"".join(chunk)
        finally:
            self.stop()

    def _bookmark(self) -> bytes:
        obj = {
            "kind": self.resource.kind,
            "apiVersion": self.resource.api_version,
            "metadata": {"resourceVersion": str(self.store.revision)},
        }
        return b'{"type":"BOOKMARK","object":' + orjson.dumps(obj) + b"}\n"

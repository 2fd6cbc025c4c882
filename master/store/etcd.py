"""The store on etcd v3: etcd is the truth, shared by every master; each master caches it.

Keys live under ``/registry`` (``/registry/core/pods/default/web-1``) and values are the
objects' JSON without ``resourceVersion``: an object's version is etcd's ``mod_revision``,
stamped in when it is read, as kube-apiserver does. Writes are single transactions that
compare before they write, so two masters never lose each other's updates:

- create: ``create_revision(key) == 0`` then put (else AlreadyExists);
- update: ``mod_revision(key) == expected_rv`` (or, with no precondition, the key exists);
- delete: the same compare, then delete returning the last value.

Reads never go to etcd. Each master keeps every object in memory (the dict and its JSON
bytes, as ``SQLiteStore`` does), fed by ONE etcd watch on the prefix that runs in a thread
of its own and also feeds the watch history ring and every subscriber. A write is
acknowledged only once that watch has delivered the write's revision, so a read after
one's own acknowledged write sees it, and subscribers hear of changes in revision order
whichever master made them.

History is bounded three times: by ``history`` events, by ``history_bytes``, and by compaction. Every
``compaction_interval_s`` a master compacts etcd at the revision it saw one interval
earlier, unless another master did in the meantime (the ``compact_rev_key`` version
handshake of kube-apiserver), and drops ring events up to that revision: a watch that
resumes from before it answers ``TooOld`` (410 Gone) and its informer relists. If the
cache's own etcd watch falls behind a compaction (etcd was unreachable for long), it
relists etcd and tells subscribers the difference.

Subscribers registered from an asyncio event loop are called on that loop
(``call_soon_threadsafe``), as the API server's watch streams require; others are called
from the watch thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from master.store.etcd_client import (
    EtcdClient,
    EtcdCompacted,
    EtcdError,
    EtcdUnavailable,
    KeyValue,
    WatchEvent,
)
from master.store.interface import (
    HISTORY_BYTES,
    HISTORY_EVENTS,
    AlreadyExists,
    Conflict,
    EventType,
    NotFound,
    StoredObject,
    StoreError,
    StoreEvent,
    StoreUnavailable,
    TooOld,
    event_bytes,
)

log = logging.getLogger(__name__)

PREFIX = "/registry"
# Outside the prefix, so the cache's watch never sees it (kube-apiserver's name for it).
COMPACT_REV_KEY = b"compact_rev_key"


def _collection_of(key: str) -> str:
    # "/core/pods/default/web-1" -> "/core/pods"
    return key.rsplit("/", 2)[0]


def _namespace_of(key: str) -> str:
    return key.rsplit("/", 2)[1]


def _stamped(key: str, value: bytes, rv: int) -> StoredObject:
    obj = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return StoredObject(key, rv, obj, orjson.dumps(obj))


def _unversioned(obj: dict[str, Any]) -> bytes:
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    return orjson.dumps({**obj, "metadata": meta})


class _Subscription:
    def __init__(self, store: EtcdStore, collection: str, callback: Callable[[StoreEvent], None]) -> None:
        self._store = store
        self.collection = collection
        self.callback = callback
        self.cancelled = False
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    def deliver(self, event: StoreEvent) -> None:
        if self.cancelled:
            return
        try:
            self.callback(event)
        except Exception:  # a broken watcher must not stop the cache's feed
            log.exception("watch callback failed; dropping that watcher")
            self.cancel()

    def cancel(self) -> None:
        self.cancelled = True
        self._store._unsubscribe(self)


class EtcdStore:
    """The shared store. ``endpoints``: etcd client URLs; TLS files as kube-apiserver's ``--etcd-*``."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        cafile: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        prefix: str = PREFIX,
        history: int = HISTORY_EVENTS,
        history_bytes: int = HISTORY_BYTES,
        compaction_interval_s: float = 300.0,
        ack_timeout_s: float = 10.0,
        startup_timeout_s: float = 0.0,
    ) -> None:
        self._client = EtcdClient(endpoints, cafile=cafile, certfile=certfile, keyfile=keyfile)
        self._prefix = prefix.rstrip("/").encode()
        self._ack_timeout_s = ack_timeout_s
        self._lock = threading.RLock()
        self._seen = threading.Condition(self._lock)  # notified whenever _revision moves
        self._closed = threading.Event()
        self._objects: dict[str, dict[str, StoredObject]] = {}
        self._history: deque[StoreEvent] = deque()
        self._history_limit = history
        self._history_bytes_limit = history_bytes
        self._history_bytes = 0
        self._subscribers: dict[str, set[_Subscription]] = {}
        kvs, self._revision = self._first_read(endpoints, startup_timeout_s)
        for kv in kvs:
            stored = _stamped(self._key(kv), kv.value, kv.mod_revision)
            self._objects.setdefault(_collection_of(stored.key), {})[stored.key] = stored
        # Events with rv > _history_floor are all in the ring (until it wraps or is compacted).
        self._history_floor = self._revision
        self._watcher = threading.Thread(target=self._follow, name="etcd-watch", daemon=True)
        self._watcher.start()
        self._compactor: threading.Thread | None = None
        if compaction_interval_s > 0:
            self._compactor = threading.Thread(
                target=self._compact_every, args=(compaction_interval_s,), name="etcd-compact", daemon=True
            )
            self._compactor.start()
        log.info("etcd store on %s at revision %d with %d objects", ", ".join(endpoints), self._revision, self.count())

    def _first_read(self, endpoints: Sequence[str], timeout_s: float) -> tuple[list[KeyValue], int]:
        """Everything under the prefix; waits up to ``timeout_s`` for etcd (masters may start first)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._client.range_prefix(self._prefix + b"/")
            except EtcdError as exc:
                if time.monotonic() >= deadline:
                    raise StoreError(f"reading etcd at {', '.join(endpoints)}: {exc}") from exc
                log.warning("waiting for etcd at %s: %s", ", ".join(endpoints), exc)
                self._closed.wait(1.0)

    def _key(self, kv: KeyValue) -> str:
        return kv.key[len(self._prefix) :].decode()

    # -- reads (memory only) -------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    def count(self) -> int:
        return sum(len(c) for c in self._objects.values())

    def get(self, key: str) -> StoredObject | None:
        return self._objects.get(_collection_of(key), {}).get(key)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        with self._lock:
            items = self._objects.get(collection, {})
            if namespace is None:
                return list(items.values()), self._revision
            return [o for k, o in items.items() if _namespace_of(k) == namespace], self._revision

    # -- writes (one etcd transaction each) ----------------------------------

    def create(self, key: str, obj: dict[str, Any]) -> StoredObject:
        result = self._txn(key, target="CREATE", equals=0, put=_unversioned(obj))
        if not result.succeeded:
            raise AlreadyExists(key)
        return self._acknowledged(key, result.revision)

    def update(self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None) -> StoredObject:
        if expected_rv is None:
            result = self._txn(key, target="CREATE", equals=0, result="GREATER", put=_unversioned(obj))
        else:
            result = self._txn(key, target="MOD", equals=expected_rv, put=_unversioned(obj))
        if not result.succeeded:
            raise Conflict(key) if result.kvs else NotFound(key)
        return self._acknowledged(key, result.revision)

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject:
        if expected_rv is None:
            result = self._txn(key, target="CREATE", equals=0, result="GREATER", delete=True)
        else:
            result = self._txn(key, target="MOD", equals=expected_rv, delete=True)
        if not result.succeeded:
            raise Conflict(key) if result.kvs else NotFound(key)
        if not result.kvs:  # deleted by someone else between the compare and the delete: cannot happen in one txn
            raise NotFound(key)
        self._wait_for(result.revision, key)
        return _stamped(key, result.kvs[0].value, result.revision)

    def _txn(self, key: str, **kwargs: Any) -> Any:
        try:
            return self._client.txn(self._prefix + key.encode(), **kwargs)
        except EtcdUnavailable as exc:
            raise StoreUnavailable(f"etcd is unavailable: {exc}") from exc
        except EtcdError as exc:
            raise StoreError(f"writing {key}: {exc}") from exc

    def _acknowledged(self, key: str, rv: int) -> StoredObject:
        self._wait_for(rv, key)
        stored = self.get(key)
        if stored is not None and stored.rv == rv:
            return stored
        # Changed again (by another master) before we looked: hand back our own version.
        with self._lock:
            for event in reversed(self._history):
                if event.rv == rv and event.current.key == key:
                    return event.current
        raise StoreError(f"writing {key}: revision {rv} committed but no longer in the cache")

    def _wait_for(self, rv: int, key: str) -> None:
        """Block until the cache has applied revision ``rv`` (read-your-writes)."""
        with self._seen:
            if not self._seen.wait_for(lambda: self._revision >= rv or self._closed.is_set(), self._ack_timeout_s):
                raise StoreUnavailable(f"writing {key}: committed at revision {rv}, but this master's cache has not seen it yet")

    # -- the cache's feed ----------------------------------------------------

    def _follow(self) -> None:
        """Apply etcd's events to memory, forever; resume after errors, relist after compaction."""
        while not self._closed.is_set():
            try:
                for batch in self._client.watch_prefix(self._prefix + b"/", self._revision + 1):
                    self._apply(batch)
            except EtcdCompacted as exc:
                log.warning("the cache's etcd watch is behind compaction (%d): relisting", exc.compact_revision)
                self._relist()
            except EtcdError as exc:
                if self._closed.is_set():
                    return
                log.warning("etcd watch interrupted at revision %d: %s; resuming", self._revision, exc)
                self._closed.wait(0.5)
            except Exception:
                log.exception("etcd watch failed at revision %d; resuming", self._revision)
                self._closed.wait(0.5)

    def _apply(self, batch: Sequence[WatchEvent]) -> None:
        with self._lock:
            for ev in batch:
                key = self._key(ev.kv)
                collection = _collection_of(key)
                bucket = self._objects.setdefault(collection, {})
                previous = bucket.get(key)
                rv = ev.kv.mod_revision
                kind: EventType
                if ev.type == "DELETE":
                    if previous is None and ev.prev is None:
                        continue
                    last = ev.prev.value if ev.prev is not None else _unversioned(previous.obj)  # type: ignore[union-attr]
                    current = _stamped(key, last, rv)
                    bucket.pop(key, None)
                    kind = "DELETED"
                else:
                    current = _stamped(key, ev.kv.value, rv)
                    bucket[key] = current
                    kind = "ADDED" if previous is None else "MODIFIED"
                self._publish(StoreEvent(kind, rv, collection, current, previous))
                self._revision = max(self._revision, rv)
            self._seen.notify_all()

    def _publish(self, event: StoreEvent) -> None:
        self._history.append(event)
        self._history_bytes += event_bytes(event)
        # Bounded in events and in bytes (the newest is always kept: a resume just before it works).
        while len(self._history) > 1 and (
            len(self._history) > self._history_limit or self._history_bytes > self._history_bytes_limit
        ):
            dropped = self._history.popleft()
            self._history_bytes -= event_bytes(dropped)
            self._history_floor = dropped.rv
        for sub in list(self._subscribers.get(event.collection, ())):
            if sub.loop is None:
                sub.deliver(event)
                continue
            try:
                sub.loop.call_soon_threadsafe(sub.deliver, event)
            except RuntimeError:  # its loop is closed
                sub.cancel()

    def _relist(self) -> None:
        """Replace the cache with etcd's current state; subscribers get the difference."""
        try:
            kvs, revision = self._client.range_prefix(self._prefix + b"/")
        except EtcdError as exc:
            log.warning("relisting etcd failed: %s", exc)
            self._closed.wait(0.5)
            return
        with self._lock:
            fresh = {self._key(kv): kv for kv in kvs}
            events: list[StoreEvent] = []
            for key, kv in fresh.items():
                previous = self.get(key)
                if previous is None or previous.rv != kv.mod_revision:
                    current = _stamped(key, kv.value, kv.mod_revision)
                    self._objects.setdefault(_collection_of(key), {})[key] = current
                    kind: EventType = "ADDED" if previous is None else "MODIFIED"
                    events.append(StoreEvent(kind, kv.mod_revision, _collection_of(key), current, previous))
            for collection, bucket in self._objects.items():
                for key in [k for k in bucket if k not in fresh]:
                    previous = bucket.pop(key)
                    gone = _stamped(key, _unversioned(previous.obj), revision)
                    events.append(StoreEvent("DELETED", revision, collection, gone, previous))
            # The events in between are lost: nobody may resume from before this point.
            self._history.clear()
            self._history_bytes = 0
            self._history_floor = revision
            for event in sorted(events, key=lambda e: e.rv):
                self._publish(event)
            self._revision = max(self._revision, revision)
            self._seen.notify_all()

    # -- compaction ----------------------------------------------------------

    def _compact_every(self, interval_s: float) -> None:
        version, seen = 0, 0
        while not self._closed.wait(interval_s):
            try:
                version, seen = self.compact_once(version, seen)
            except (EtcdError, StoreError) as exc:
                log.warning("etcd compaction failed: %s", exc)

    def compact_once(self, version: int, previous_rev: int) -> tuple[int, int]:
        """One compaction turn: compact at ``previous_rev`` if no master did since ``version``.

        Returns the ``compact_rev_key`` version and the revision to compact at next turn.
        """
        result = self._client.txn(COMPACT_REV_KEY, target="VERSION", equals=version, put=b"")
        if result.succeeded:
            version += 1
            if previous_rev > 0:
                self._client.compact(previous_rev)
                log.info("compacted etcd at revision %d", previous_rev)
        else:
            version = result.kvs[0].version if result.kvs else 0
        if previous_rev > 0:
            self.forget_before(previous_rev)
        return version, result.revision

    def forget_before(self, rv: int) -> None:
        """Drop watch history up to ``rv``: resuming from before it answers TooOld."""
        with self._lock:
            while self._history and self._history[0].rv <= rv:
                self._history_bytes -= event_bytes(self._history.popleft())
            self._history_floor = max(self._history_floor, min(rv, self._revision))

    # -- watch ---------------------------------------------------------------

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]:
        """The kept events of ``collection`` after ``from_rv``, oldest first; ``TooOld`` when some are no longer kept."""
        with self._lock:
            if from_rv < self._history_floor:
                raise TooOld(from_rv, self._history_floor)
            return [e for e in self._history if e.rv > from_rv and e.collection == collection]

    def watch(self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]) -> _Subscription:
        """Replay the kept events after ``from_rv`` to ``callback``, then deliver new ones as they happen."""
        with self._lock:
            if from_rv < self._history_floor:
                raise TooOld(from_rv, self._history_floor)
            sub = _Subscription(self, collection, callback)
            for event in self._history:
                if event.rv > from_rv and event.collection == collection:
                    callback(event)
            self._subscribers.setdefault(collection, set()).add(sub)
            return sub

    def _unsubscribe(self, sub: _Subscription) -> None:
        with self._lock:
            self._subscribers.get(sub.collection, set()).discard(sub)

    def close(self) -> None:
        self._closed.set()
        self._client.close()
        with self._seen:
            self._seen.notify_all()
        self._watcher.join(timeout=5)
        if self._compactor is not None:
            self._compactor.join(timeout=5)

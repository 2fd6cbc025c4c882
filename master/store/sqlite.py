"""The embedded store: one SQLite file (WAL, synchronous=FULL) plus an in-memory cache.

SQLite is the truth on disk; every object also lives in memory (as the dict and its
JSON bytes) so that gets and lists never touch the disk and a list of 10,000 pods is
a join of ready-made bytes. A write commits (and fsyncs) first, then changes memory,
then tells the watchers, so nobody ever sees a change that a crash could undo.

Watch history is a ring of the most recent events kept in memory, bounded both in
events (20,000) and in bytes (64 MiB, counting each event's object and its previous
state): a few 1 MiB objects written often cannot grow it past the byte bound, many
small ones stop at the count. A watcher that asks for a revision older than the ring
gets ``TooOld`` (HTTP 410) and relists, which is how Kubernetes' own watch cache
behaves. After a restart the ring starts empty at the stored revision.

Thread-safety: one lock around writes and the memory they change. The API server calls
the store from its event loop, so in practice there is one writer.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from kajitori.private_files import create_private, ensure_private_dir
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
    TooOld,
    event_bytes,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    rv INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def _collection_of(key: str) -> str:
    # "/core/pods/default/web-1" -> "/core/pods"
    return key.rsplit("/", 2)[0]


def _namespace_of(key: str) -> str:
    return key.rsplit("/", 2)[1]


class _Subscription:
    def __init__(self, store: SQLiteStore, collection: str, callback: Callable[[StoreEvent], None]) -> None:
        self._store = store
        self.collection = collection
        self.callback = callback

    def cancel(self) -> None:
        self._store._unsubscribe(self)


class SQLiteStore:
    """The default store. ``history`` and ``history_bytes`` bound the recent events a watch may resume from."""

    def __init__(self, path: str | Path, *, history: int = HISTORY_EVENTS, history_bytes: int = HISTORY_BYTES) -> None:
        self.path = Path(path)
        # The file holds every Secret. SQLite makes its -wal and -shm files with the mode of
        # the database file, so creating that one 0600 (in a 0700 directory) covers all three.
        ensure_private_dir(self.path.parent)
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
            if path == self.path or path.exists():
                create_private(path)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged write survives kill -9
            # and power loss alike.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"opening {self.path}: {exc}") from exc
        self._objects: dict[str, dict[str, StoredObject]] = {}
        row = self._db.execute("SELECT value FROM meta WHERE name='revision'").fetchone()
        self._revision: int = row[0] if row else 0
        for key, rv, value in self._db.execute("SELECT key, rv, value FROM objects"):
            obj = orjson.loads(value)
            self._objects.setdefault(_collection_of(key), {})[key] = StoredObject(key, rv, obj, bytes(value))
        self._history: deque[StoreEvent] = deque()
        self._history_limit = history
        self._history_bytes_limit = history_bytes
        self._history_bytes = 0
        # Events with rv > _history_floor are all in the ring (until it wraps).
        self._history_floor = self._revision
        self._subscribers: dict[str, set[_Subscription]] = {}
        log.info("store %s opened at revision %d with %d objects", self.path, self._revision, self.count())

    # -- reads ---------------------------------------------------------------

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

    # -- writes --------------------------------------------------------------

    def create(self, key: str, obj: dict[str, Any]) -> StoredObject:
        with self._lock:
            if self.get(key) is not None:
                raise AlreadyExists(key)
            return self._write(key, obj, "ADDED", None)

    def update(self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None) -> StoredObject:
        with self._lock:
            current = self.get(key)
            if current is None:
                raise NotFound(key)
            if expected_rv is not None and expected_rv != current.rv:
                raise Conflict(key)
            return self._write(key, obj, "MODIFIED", current)

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject:
        with self._lock:
            current = self.get(key)
            if current is None:
                raise NotFound(key)
            if expected_rv is not None and expected_rv != current.rv:
                raise Conflict(key)
            return self._write(key, current.obj, "DELETED", current)

    def _write(self, key: str, obj: dict[str, Any], kind: EventType, previous: StoredObject | None) -> StoredObject:
        rv = self._revision + 1
        obj = {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(rv)}}
        raw = orjson.dumps(obj)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if kind == "DELETED":
                self._db.execute("DELETE FROM objects WHERE key=?", (key,))
            else:
                self._db.execute("INSERT OR REPLACE INTO objects(key, rv, value) VALUES (?,?,?)", (key, rv, raw))
            self._db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('revision', ?)", (rv,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"writing {key}: {exc}") from exc
        self._revision = rv
        stored = StoredObject(key, rv, obj, raw)
        collection = _collection_of(key)
        if kind == "DELETED":
            self._objects.get(collection, {}).pop(key, None)
        else:
            self._objects.setdefault(collection, {})[key] = stored
        event = StoreEvent(kind, rv, collection, stored, previous)
        self._remember(event)
        for sub in list(self._subscribers.get(collection, ())):
            try:
                sub.callback(event)
            except Exception:  # a broken watcher must not fail the write that was already committed
                log.exception("watch callback failed; dropping that watcher")
                self._unsubscribe(sub)
        return stored

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

    @property
    def history_bytes(self) -> int:
        """What the kept history costs now, as ``event_bytes`` counts it."""
        return self._history_bytes

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
            sub = _Subscription(self, collection, callback)
            for event in self.events_since(collection, from_rv):
                callback(event)
            self._subscribers.setdefault(collection, set()).add(sub)
            return sub

    def _unsubscribe(self, sub: _Subscription) -> None:
        with self._lock:
            self._subscribers.get(sub.collection, set()).discard(sub)

    def close(self) -> None:
        with self._lock:
            self._db.close()

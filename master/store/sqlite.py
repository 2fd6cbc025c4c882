"""The embedded store: one SQLite file (WAL, synchronous=FULL), cached in a ``MemoryState``.

This file owns the SQLite file, its transactions and the order of a write: SQLite is the
truth on disk, and every object also lives in memory (``master.store.memory``: the
objects, the revision, the watch history ring, the watchers, and the reads answered from
them). A write checks its precondition against memory, commits (and fsyncs) first, only
then applies the change to memory, which then tells the watchers: nobody ever reads or
hears of a change that a crash could undo, and watchers hear writes in revision order.
After a restart the history ring starts empty at the stored revision.

Thread-safety: the memory's one lock is held around each whole write (check, commit,
apply). The API server calls the store from its event loop, so in practice there is one
writer.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from kajitori.private_files import create_private, ensure_private_dir
from master.store.encryption import PLAIN, EncryptionError, Transformer
from master.store.interface import (
    HISTORY_BYTES,
    HISTORY_EVENTS,
    AlreadyExists,
    Conflict,
    EventType,
    Fence,
    NotFound,
    StoredObject,
    StoreError,
    StoreEvent,
)
from master.store.memory import MemoryReads, MemoryState, collection_of

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


class SQLiteStore(MemoryReads):
    """The default store. ``history`` and ``history_bytes`` bound the recent events a watch may resume from."""

    def __init__(
        self,
        path: str | Path,
        *,
        history: int = HISTORY_EVENTS,
        history_bytes: int = HISTORY_BYTES,
        transformer: Transformer = PLAIN,
    ) -> None:
        self.path = Path(path)
        self._transformer = transformer  # encryption at rest: file bytes <-> the cache's plain JSON
        self._stale = set()
        # The file holds every Secret. SQLite makes its -wal and -shm files with the mode of
        # the database file, so creating that one 0600 (in a 0700 directory) covers all three.
        ensure_private_dir(self.path.parent)
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
            if path == self.path or path.exists():
                create_private(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged write survives kill -9
            # and power loss alike.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"opening {self.path}: {exc}") from exc
        row = self._db.execute("SELECT value FROM meta WHERE name='revision'").fetchone()
        objects = []
        try:
            for key, rv, value in self._db.execute("SELECT key, rv, value FROM objects"):
                plain, stale = transformer.from_storage(key, bytes(value))
                objects.append(StoredObject(key, rv, orjson.loads(plain), plain))
                if stale:
                    self._stale.add(key)
        except EncryptionError as exc:
            raise StoreError(str(exc)) from exc
        self._memory = MemoryState(
            row[0] if row else 0, objects, history=history, history_bytes=history_bytes
        )
        self._lock = self._memory.lock
        # The objects by collection, under the name tests (test_dry_run's Untouched) read them by.
        self._objects = self._memory.by_collection
        log.info("store %s opened at revision %d with %d objects", self.path, self.revision, self.count())

    # -- writes --------------------------------------------------------------

    # ``fence``: ignored; this store's one master serializes allocating writes (master.apiserver.writes).
    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> StoredObject:
        with self._lock:
            if self.get(key) is not None:
                raise AlreadyExists(key)
            return self._write(key, obj, "ADDED", None)

    def update(
        self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None, fence: Fence | None = None
    ) -> StoredObject:
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

    def _write(
        self, key: str, obj: dict[str, Any], kind: EventType, previous: StoredObject | None
    ) -> StoredObject:
        rv = self._memory.revision + 1
        obj = {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(rv)}}
        raw = orjson.dumps(obj)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if kind == "DELETED":
                self._db.execute("DELETE FROM objects WHERE key=?", (key,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO objects(key, rv, value) VALUES (?,?,?)",
                    (key, rv, self._transformer.to_storage(key, raw)),
                )
            self._db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('revision', ?)", (rv,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"writing {key}: {exc}") from exc
        self._stale.discard(key)
        stored = StoredObject(key, rv, obj, raw)
        # Committed and fsynced: only now may readers and watchers learn of it.
        self._memory.apply(StoreEvent(kind, rv, collection_of(key), stored, previous))
        return stored

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""Snapshots of the embedded SQLite store: save one while a master runs, check one, restore it.

What a snapshot holds, and when it is consistent:

- ``save`` copies ``DATA_DIR/state.db`` with SQLite's online backup API in a single step,
  that is inside one read transaction of the WAL database. The master keeps writing while
  it runs (WAL readers never block the writer), and the copy is the store exactly as it was
  at one revision: every write acknowledged before ``save`` started is in it, with its
  resourceVersion, and no write is half in it. Writes acknowledged while it runs may or may
  not be in it (those that committed before the copy's read transaction began are).
- The copy is one self-contained file (journal mode DELETE, no -wal/-shm beside it),
  created 0600 because it holds every Secret, written beside FILE and renamed into place.
- A snapshot holds the objects and the revision only. The master's identity is NOT in it:
  ``DATA_DIR/pki/`` (the cluster CA, the API server's and the service-account keys) and
  ``DATA_DIR/tokens.json`` (the admin token) must be copied into the new data dir
  by hand, and so must ``DATA_DIR/encryption-config.yaml`` (the keys of the Secrets encrypted
  at rest, ``master.store.encryption``: without it they cannot be read), or the restored master makes a new CA and new tokens that no agent, kubeconfig
  or ServiceAccount token of the old cluster is accepted by. The kubeconfigs are rewritten
  from those at start.
- ``restore`` checks the file first (``PRAGMA integrity_check``, Kajitori's schema:
  ``objects(key, rv, value)`` and ``meta`` with the revision, every value JSON or encrypted) and refuses to overwrite an
  existing store; the master started on the new data dir resumes at the snapshot's revision
  (watches from older revisions get 410 Gone and relist, as after any restart).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import orjson

from kajitori.private_files import create_private, ensure_private_dir
from master.store.encryption import PREFIX as ENCRYPTED_PREFIX

STORE_FILE = "state.db"
"""The store's file inside a master's data dir (master/server.py opens the same name)."""

SQLITE_MAGIC = b"SQLite format 3\x00"

_EXPECTED_COLUMNS = {"objects": ["key", "rv", "value"], "meta": ["name", "value"]}


class SnapshotError(Exception):
    """A snapshot that cannot be saved, read or restored; the message is one line for the user."""


@dataclass(frozen=True)
class SnapshotStatus:
    revision: int
    objects: int
    size: int


# An etcd snapshot is a bbolt file: its first page's meta holds this magic after the 16-byte page header.
BBOLT_MAGIC = (0xED0CDAED).to_bytes(4, "little")


def kind_of(path: Path) -> str | None:
    """"sqlite", "etcd" or None, from the file's first bytes (a missing file is None)."""
    try:
        with path.open("rb") as f:
            head = f.read(32)
    except OSError:
        return None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    return "etcd" if head[16:20] == BBOLT_MAGIC else None


def save(data_dir: Path, dest: Path) -> SnapshotStatus:
    """Copy the store of ``data_dir`` to ``dest`` at one revision; safe while its master writes."""
    source = data_dir / STORE_FILE
    if not source.is_file():
        raise SnapshotError(f"no store at {source} (is --data-dir a master's data dir?)")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    create_private(part)
    try:
        # Not mode=ro: reading a WAL database needs its -shm, which a read-only open may not map.
        src = sqlite3.connect(source, isolation_level=None)
        try:
            # The master may hold the write lock for a moment; wait for it rather than fail.
            src.execute("PRAGMA busy_timeout=10000")
            out = sqlite3.connect(part, isolation_level=None)
            try:
                # pages=-1: the whole database in one step, so one read transaction, one revision.
                src.backup(out, pages=-1)
                out.execute("PRAGMA journal_mode=DELETE")
            finally:
                out.close()
        finally:
            src.close()
        status = check(part)
        with part.open("rb") as f:
            os.fsync(f.fileno())
        part.replace(dest)
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise SnapshotError(f"saving {source} to {dest}: {exc}") from None
    except SnapshotError:
        part.unlink(missing_ok=True)
        raise
    return status


def check(path: Path) -> SnapshotStatus:
    """The revision, object count and size of a snapshot, after checking it is a sound Kajitori store."""
    if not path.is_file():
        raise SnapshotError(f"{path}: no such file")
    if kind_of(path) != "sqlite":
        raise SnapshotError(f"{path} is not a Kajitori store snapshot (not an SQLite database)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SnapshotError(f"{path}: {exc}") from None
    try:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise SnapshotError(f"{path} is corrupt: {result[0]}")
        for table, columns in _EXPECTED_COLUMNS.items():
            found = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            if found != columns:
                raise SnapshotError(f"{path} is not a Kajitori store snapshot (no table {table}({', '.join(columns)}))")
        row = db.execute("SELECT value FROM meta WHERE name='revision'").fetchone()
        revision = int(row[0]) if row else 0
        count, newest = db.execute("SELECT count(*), coalesce(max(rv), 0) FROM objects").fetchone()
        if newest > revision:
            raise SnapshotError(f"{path} is corrupt: an object at revision {newest} after the store's {revision}")
        for key, value in db.execute("SELECT key, value FROM objects"):
            if bytes(value).startswith(ENCRYPTED_PREFIX):
                continue  # a Secret encrypted at rest: only the master's encryption config reads it
            try:
                orjson.loads(value)
            except orjson.JSONDecodeError:
                raise SnapshotError(f"{path} is corrupt: the object {key} is not JSON") from None
    except sqlite3.DatabaseError as exc:
        what = "is corrupt" if "malformed" in str(exc) else "is not a Kajitori store snapshot"
        raise SnapshotError(f"{path} {what} ({exc})") from None
    finally:
        db.close()
    return SnapshotStatus(revision=revision, objects=int(count), size=path.stat().st_size)


def restore(snapshot: Path, data_dir: Path) -> SnapshotStatus:
    """Make ``data_dir``'s store a copy of ``snapshot``; refuses a data dir that has a store already."""
    status = check(snapshot)
    target = data_dir / STORE_FILE
    if any(p.exists() for p in (target, target.with_name(STORE_FILE + "-wal"))):
        raise SnapshotError(f"{target} exists: restore into a new data dir (a running or old store is never overwritten)")
    ensure_private_dir(data_dir)
    part = target.with_name(STORE_FILE + ".part")
    part.unlink(missing_ok=True)
    create_private(part)
    with snapshot.open("rb") as src, part.open("r+b") as out:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
    part.replace(target)
    return status

"""The store on etcd v3: etcd is the truth, shared by every master; each master caches it.

Keys live under ``/registry`` (``/registry/core/pods/default/web-1``) and values are the
objects' JSON without ``resourceVersion``: an object's version is etcd's ``mod_revision``,
stamped in when it is read, as kube-apiserver does. Writes are single transactions that
compare before they write, so two masters never lose each other's updates:

- create: ``create_revision(key) == 0`` then put (else AlreadyExists);
- update: ``mod_revision(key) == expected_rv`` (with no precondition, the version this
  master last saw, re-read and compared again on a conflict: never a blind put, so a try
  that etcd applies late cannot undo a later write);
- delete: the same compare, then delete returning the last value.

This file owns those transactions, the one etcd watch that feeds the cache, compaction,
and read-your-writes waiting. Reads never go to etcd: each master keeps every object in a
``MemoryState`` (``master.store.memory``: the objects, the revision, the watch history
ring, the subscribers, and the reads and watches answered from them, as ``SQLiteStore``
does), fed only by ONE etcd watch on the prefix that runs in a thread of its own. So a
change reaches memory, and then the subscribers, only once etcd has committed it, and
subscribers hear of changes in revision order whichever master made them. That watch
asks for progress notifications and is re-made from its last revision, on the next member,
once it has been silent for ``watch_deadline_s`` (a hung member sends nothing, not even an error). A write is
acknowledged only once that watch has delivered the write's revision, so a read after
one's own acknowledged write sees it.

Reads across masters (kube-apiserver's consistent reads, KEP-2340; the waiting is done by
``master.apiserver.consistent_reads``): ``current_revision`` asks etcd for its revision,
``wait_for_revision`` blocks until the cache has applied it, and ``read_from_etcd`` answers
from etcd itself when the cache is late. That watch covers every key, not only the prefix,
so the cache's revision becomes etcd's revision once the watch has caught up: a write
outside the prefix (``compact_rev_key``, another user of the same etcd) moves etcd's
revision too, and a cache that only heard of the prefix would stay below it and wait in
vain. kube-apiserver watches one prefix per resource and asks etcd for a progress
notification (``RequestProgress``) instead; that request travels on the watch's own
stream, which the HTTP gateway takes in the request body httpx sends whole; and
Kubernetes trusts those notifications only from etcd 3.4.31 / 3.5.13 on (fixes to
progress requests), where Debian gives 3.4.23. Events outside the prefix only move the
revision.

Allocation across masters: a ClusterIP, a NodePort or a pod CIDR is picked from the
objects in the cache (``master.allocators``), which may lag another master's write. So
each range has a fence key outside the prefix (``<prefix>-allocations/services``,
``.../nodes``) that every allocating write puts in the same transaction as its object,
compared against the mod_revision read before allocating: ``allocation_fence`` reads it
from etcd and waits until the cache holds that revision (every earlier allocation is
then in the cache); the write commits only if the fence has not moved since, else it
raises ``AllocationRaced`` and the API server allocates again from the newer cache.
Kubernetes keeps the allocations themselves as one compare-and-swapped record per range
(RangeAllocation); here they stay derived from the objects, so a deleted Service frees
its numbers by being gone and nothing can leak, and only the ordering goes through etcd.

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

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import orjson

from master.store.encryption import PLAIN, EncryptionError, Transformer
from master.store.etcd_client import (
    EtcdClient,
    EtcdCompacted,
    EtcdError,
    EtcdUnavailable,
    KeyValue,
    TxnResult,
    WatchEvent,
)
from master.store.interface import (
    HISTORY_BYTES,
    HISTORY_EVENTS,
    AllocationRaced,
    AlreadyExists,
    Conflict,
    EventType,
    Fence,
    NotFound,
    StoredObject,
    StoreError,
    StoreEvent,
    StoreUnavailable,
)
from master.store.memory import MemoryReads, MemoryState, collection_of

log = logging.getLogger(__name__)

PREFIX = "/registry"
# How often a write without precondition re-reads and compares again before it answers Conflict.
_BLIND_RETRIES = 16
# Outside the prefix, so the cache's watch never sees it (kube-apiserver's name for it).
COMPACT_REV_KEY = b"compact_rev_key"


def _stamped(key: str, value: bytes, rv: int) -> StoredObject:
    obj = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return StoredObject(key, rv, obj, orjson.dumps(obj))


def _unversioned(obj: dict[str, Any]) -> bytes:
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    return orjson.dumps({**obj, "metadata": meta})


class EtcdStore(MemoryReads):
    """The shared store. ``endpoints``: etcd client URLs; TLS files as kube-apiserver's ``--etcd-*``."""

    # The API server's watch streams need their callbacks on their own loop, not the watch thread.
    _watch_on_loop = True

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
        request_timeout_s: float = 5.0,
        watch_deadline_s: float = 10.0,
        transformer: Transformer = PLAIN,
    ) -> None:
        self._transformer = transformer  # encryption at rest: etcd's bytes <-> the cache's plain JSON
        self._stale = set()
        self._client = EtcdClient(
            endpoints,
            cafile=cafile,
            certfile=certfile,
            keyfile=keyfile,
            timeout_s=request_timeout_s,
            watch_deadline_s=watch_deadline_s,
        )
        self._prefix = prefix.rstrip("/").encode()
        self._ack_timeout_s = ack_timeout_s
        self._closed = threading.Event()
        kvs, revision = self._first_read(endpoints, startup_timeout_s)
        try:
            first = [_stamped(self._key(kv), self._plain(self._key(kv), kv.value), kv.mod_revision) for kv in kvs]
        except EncryptionError as exc:
            raise StoreError(str(exc)) from exc
        self._memory = MemoryState(
            revision,
            first,
            history=history,
            history_bytes=history_bytes,
        )
        self._lock = self._memory.lock
        self._seen = threading.Condition(self._lock)  # notified whenever the memory's revision moves
        self._watcher = threading.Thread(target=self._follow, name="etcd-watch", daemon=True)
        self._watcher.start()
        self._compactor: threading.Thread | None = None
        if compaction_interval_s > 0:
            self._compactor = threading.Thread(
                target=self._compact_every, args=(compaction_interval_s,), name="etcd-compact", daemon=True
            )
            self._compactor.start()
        log.info(
            "etcd store on %s at revision %d with %d objects",
            ", ".join(endpoints),
            self.revision,
            self.count(),
        )

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

    def _plain(self, key: str, value: bytes) -> bytes:
        """etcd's bytes of ``key`` as JSON, noting whether a write would encrypt them otherwise."""
        plain, stale = self._transformer.from_storage(key, value)
        if stale:
            self._stale.add(key)
        else:
            self._stale.discard(key)
        return plain

    def _stored(self, key: str, obj: dict[str, Any]) -> bytes:
        return self._transformer.to_storage(key, _unversioned(obj))

    # -- writes (one etcd transaction each) ----------------------------------

    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> StoredObject:
        value = self._stored(key, obj)
        result = self._txn(key, target="CREATE", equals=0, put=value, fence=self._fence(fence))
        if not result.succeeded:
            if (mine := self._own_earlier_put(result, value)) is not None:
                return self._acknowledged(key, mine)
            if result.fence_moved and not result.kvs:
                raise AllocationRaced(key)
            raise AlreadyExists(key)
        return self._acknowledged(key, result.revision)

    def update(
        self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None, fence: Fence | None = None
    ) -> StoredObject:
        value = self._stored(key, obj)
        if fence is not None and expected_rv is None:
            raise ValueError("an allocating update compares the version it allocated against")
        if expected_rv is not None:
            result = self._txn(key, target="MOD", equals=expected_rv, put=value, fence=self._fence(fence))
            if result.succeeded:
                return self._acknowledged(key, result.revision)
            if (mine := self._own_earlier_put(result, value)) is not None:
                return self._acknowledged(key, mine)
            if result.fence_moved and result.kvs and result.kvs[0].mod_revision == expected_rv:
                raise AllocationRaced(key)
            raise Conflict(key) if result.kvs else NotFound(key)
        # No precondition asked, yet compare-and-swap on the version last seen, re-read on a
        # conflict (kube-apiserver's GuaranteedUpdate): a try sent to a hung member that etcd
        # applies late then fails its compare, instead of undoing a later write of someone else.
        rv = self._last_seen_rv(key)
        if rv == 0:
            raise NotFound(key)
        ambiguous = False
        for _ in range(_BLIND_RETRIES):
            result = self._txn(key, target="MOD", equals=rv, put=value)
            ambiguous = ambiguous or result.ambiguous
            if result.succeeded:
                return self._acknowledged(key, result.revision)
            if ambiguous and result.kvs and result.kvs[0].value == value:
                return self._acknowledged(key, result.kvs[0].mod_revision)
            if not result.kvs:
                raise NotFound(key)
            rv = result.kvs[0].mod_revision
        raise Conflict(key)

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject:
        if expected_rv is not None:
            result = self._txn(key, target="MOD", equals=expected_rv, delete=True)
        else:
            # As in update: a compare on the version last seen, so a late try never deletes a newer object.
            rv = self._last_seen_rv(key)
            if rv == 0:
                raise NotFound(key)
            for _ in range(_BLIND_RETRIES):
                result = self._txn(key, target="MOD", equals=rv, delete=True)
                if result.succeeded or not result.kvs:
                    break
                rv = result.kvs[0].mod_revision
        if not result.succeeded:
            if result.ambiguous and not result.kvs:
                # Our unanswered first try may be what deleted it; its revision is unknown.
                raise StoreUnavailable(f"deleting {key}: etcd did not answer in time; the delete may have happened")
            raise Conflict(key) if result.kvs else NotFound(key)
        if (
            not result.kvs
        ):  # deleted by someone else between the compare and the delete: cannot happen in one txn
            raise NotFound(key)
        self._wait_for(result.revision, key)
        return _stamped(key, self._transformer.from_storage(key, result.kvs[0].value)[0], result.revision)

    def allocation_fence(self, name: str) -> Fence:
        """The fence of range ``name`` as etcd has it, once the cache holds every allocation up to it."""
        try:
            kv = self._client.get(self._fence_key(name))
        except EtcdUnavailable as exc:
            raise StoreUnavailable(f"etcd is unavailable: {exc}") from exc
        except EtcdError as exc:
            raise StoreError(f"reading the {name} allocation fence: {exc}") from exc
        revision = kv.mod_revision if kv is not None else 0
        if not self.wait_for_revision(revision, self._ack_timeout_s):
            raise StoreUnavailable(f"this master's cache has not reached the last {name} allocation ({revision})")
        return Fence(name, revision)

    def _fence_key(self, name: str) -> bytes:
        # Outside the prefix: the cache never holds it (its watch only moves the revision on).
        return self._prefix + b"-allocations/" + name.encode()

    def _fence(self, fence: Fence | None) -> tuple[bytes, int] | None:
        return (self._fence_key(fence.name), fence.revision) if fence is not None else None

    def _last_seen_rv(self, key: str) -> int:
        """The version of ``key`` in the cache, else as etcd has it now (the cache may lag); 0: no such key."""
        seen = self._memory.get(key)
        if seen is not None:
            return seen.rv
        try:
            kv = self._client.get(self._prefix + key.encode())
        except EtcdUnavailable as exc:
            raise StoreUnavailable(f"etcd is unavailable: {exc}") from exc
        except EtcdError as exc:
            raise StoreError(f"reading {key}: {exc}") from exc
        return kv.mod_revision if kv is not None else 0

    @staticmethod
    def _own_earlier_put(result: TxnResult, value: bytes) -> int | None:
        """The revision of our own put, when a try etcd never answered did apply and the retry's compare then failed.

        A stored value is unique to its write (uid, timestamps, managedFields; an encrypted one
        has its own IV), so finding exactly our bytes means the first try committed.
        """
        if result.ambiguous and result.kvs and result.kvs[0].value == value:
            return result.kvs[0].mod_revision
        return None

    def _txn(self, key: str, **kwargs: Any) -> TxnResult:
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
        event = self._memory.kept_event(rv, key)
        if event is not None:
            return event.current
        raise StoreError(f"writing {key}: revision {rv} committed but no longer in the cache")

    def _wait_for(self, rv: int, key: str) -> None:
        """Block until the cache has applied revision ``rv`` (read-your-writes)."""
        with self._seen:
            if not self._seen.wait_for(
                lambda: self._memory.revision >= rv or self._closed.is_set(), self._ack_timeout_s
            ):
                raise StoreUnavailable(
                    f"writing {key}: committed at revision {rv}, but this master's cache has not seen it yet"
                )

    # -- reads across masters -----------------------------------------------

    def current_revision(self) -> int:
        """etcd's revision now (linearizable): a read that waits for it sees every write acknowledged before."""
        try:
            return self._client.revision()
        except EtcdUnavailable as exc:
            raise StoreUnavailable(f"etcd is unavailable: {exc}") from exc
        except EtcdError as exc:
            raise StoreError(f"reading etcd's revision: {exc}") from exc

    def wait_for_revision(self, rv: int, timeout_s: float) -> bool:
        """Block until the cache has applied revision ``rv``; False if it has not within ``timeout_s``."""
        with self._seen:
            return self._seen.wait_for(lambda: self._memory.revision >= rv or self._closed.is_set(), timeout_s)

    def read_from_etcd(self, key_prefix: str) -> tuple[list[StoredObject], int]:
        """The objects whose keys start with ``key_prefix``, read from etcd itself, and etcd's revision.

        For a read the cache cannot serve in time (kube-apiserver's fall-back to etcd); it does
        not touch the cache.
        """
        try:
            kvs, revision = self._client.range_prefix(self._prefix + key_prefix.encode())
        except EtcdUnavailable as exc:
            raise StoreUnavailable(f"etcd is unavailable: {exc}") from exc
        except EtcdError as exc:
            raise StoreError(f"reading {key_prefix}: {exc}") from exc
        try:
            found = [
                _stamped(self._key(kv), self._transformer.from_storage(self._key(kv), kv.value)[0], kv.mod_revision)
                for kv in kvs
            ]
        except EncryptionError as exc:
            raise StoreError(str(exc)) from exc
        return found, revision

    # -- the cache's feed ----------------------------------------------------

    def _follow(self) -> None:
        """Apply etcd's events to memory, forever; resume after errors, relist after compaction."""
        while not self._closed.is_set():
            try:
                # Every key: see "Reads across masters" above.
                for batch in self._client.watch_prefix(b"", self._memory.revision + 1):
                    self._apply(batch)
            except EtcdCompacted as exc:
                log.warning(
                    "the cache's etcd watch is behind compaction (%d): relisting", exc.compact_revision
                )
                self._relist()
            except EtcdError as exc:
                if self._closed.is_set():
                    return
                log.warning("etcd watch interrupted at revision %d: %s; resuming", self._memory.revision, exc)
                self._closed.wait(0.5)
            except Exception:
                log.exception("etcd watch failed at revision %d; resuming", self._memory.revision)
                self._closed.wait(0.5)

    def _apply(self, batch: Sequence[WatchEvent]) -> None:
        ours = self._prefix + b"/"
        with self._lock:
            for ev in batch:
                if not ev.kv.key.startswith(ours):
                    self._memory.advance(ev.kv.mod_revision)  # not ours, but etcd's revision moved
                    continue
                key = self._key(ev.kv)
                previous = self._memory.get(key)
                rv = ev.kv.mod_revision
                kind: EventType
                if ev.type == "DELETE":
                    if previous is None and ev.prev is None:
                        continue
                    last = (
                        self._transformer.from_storage(key, ev.prev.value)[0]
                        if ev.prev is not None
                        else _unversioned(previous.obj)  # type: ignore[union-attr]
                    )
                    self._stale.discard(key)
                    current = _stamped(key, last, rv)
                    kind = "DELETED"
                else:
                    current = _stamped(key, self._plain(key, ev.kv.value), rv)
                    kind = "ADDED" if previous is None else "MODIFIED"
                self._memory.apply(StoreEvent(kind, rv, collection_of(key), current, previous))
            self._seen.notify_all()

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
                previous = self._memory.get(key)
                if previous is None or previous.rv != kv.mod_revision:
                    current = _stamped(key, self._plain(key, kv.value), kv.mod_revision)
                    kind: EventType = "ADDED" if previous is None else "MODIFIED"
                    events.append(StoreEvent(kind, kv.mod_revision, collection_of(key), current, previous))
            for previous in self._memory.objects():
                if previous.key not in fresh:
                    gone = _stamped(previous.key, _unversioned(previous.obj), revision)
                    events.append(
                        StoreEvent("DELETED", revision, collection_of(previous.key), gone, previous)
                    )
            # The events in between are lost: nobody may resume from before this point.
            self._memory.forget_all(revision)
            for event in sorted(events, key=lambda e: e.rv):
                self._memory.apply(event)
            self._memory.advance(revision)
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
        self._memory.forget_before(rv)

    def close(self) -> None:
        self._closed.set()
        self._client.close()
        with self._seen:
            self._seen.notify_all()
        self._watcher.join(timeout=5)
        if self._compactor is not None:
            self._compactor.join(timeout=5)

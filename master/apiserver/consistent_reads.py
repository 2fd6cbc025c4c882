"""Reads are consistent across masters: kube-apiserver's consistent reads from cache (KEP-2340).

Each master answers gets and lists from its cache, fed by its own etcd watch
(``master.store.etcd``). A write acknowledged by another master reaches that cache a
moment later, so a read right after it could miss it. As kube-apiserver does for a
list since 1.31 (ConsistentListFromCache), a read with no resourceVersion first asks
etcd for its current revision (one linearizable request), then waits until the cache
has applied that revision, and is answered from the cache. If the cache is still behind
after ``wait_s`` (3 s, as kube-apiserver), the read goes to etcd itself.
kube-apiserver sends a get with no resourceVersion straight to etcd; here the get waits
like the list does. Both see every write acknowledged before the read was asked, and
the get keeps the cache's ready-made bytes.

By what the request names:
- no resourceVersion: consistent, as above;
- resourceVersion "0": the cache at once, whatever it holds (as kube-apiserver);
- resourceVersion N, or a continue token made at N (perhaps by another master): wait
  until the cache holds N, for up to ``wait_s``, else 504 "Too large resource version"
  (kube-apiserver's ``waitUntilFreshAndBlock``).

When etcd cannot be asked (unreachable, no quorum) or does not tell its revision within
``revision_timeout_s`` (a hung member: the request would wait out etcd's whole request
timeout), a consistent read is answered from the cache with a Warning saying it may be
stale. Issue 12 allows reads answered stale-marked while etcd has no quorum (writes are
refused then), and a master's reads never waited on a hung etcd before.

A store that is its own truth (SQLite, one master) cannot lag, so its reads go straight
to it on the event loop, as before. The etcd requests and waits run on a small pool of
reader threads, so the event loop never blocks on etcd.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from kajitori.api.registry import Resource
from kajitori.api.selectors import FieldQuery, LabelQuery
from master.apiserver import errors, paging
from master.apiserver.query import ListOptions
from master.store import Store, StoredObject, StoreEvent, StoreUnavailable, TooOld

log = logging.getLogger(__name__)

T = TypeVar("T")

READ_THREADS = 8
WAIT_S = 3.0  # kube-apiserver's blockTimeout in waitUntilFreshAndBlock
REVISION_TIMEOUT_S = 2.0  # etcd answers in milliseconds; a member silent for this long is taken as gone
STALE_WARNING = "etcd is unavailable: this answer comes from the API server's cache and may be stale"


def catch_up(store: Store, timeout_s: float = WAIT_S) -> bool:
    """Block until a shared store's cache holds etcd's current revision; True once it does.

    For the writer threads and the start-up, which may block: a check that found nothing in
    the cache looks again once it is sure another master's write would be there. A store of
    one master is always caught up.
    """
    current_revision = getattr(store, "current_revision", None)
    if not callable(current_revision):
        return True
    return bool(store.wait_for_revision(current_revision(), timeout_s))  # type: ignore[attr-defined]


class EtcdReads:
    """A store's reads answered by etcd itself, for a read the cache could not serve in time.

    It keeps no history: a list at an older revision than etcd's is ``TooOld``.
    """

    def __init__(self, store: Any, revision: int) -> None:
        self._store = store
        self.revision = revision

    def get(self, key: str) -> StoredObject | None:
        found, _ = self._store.read_from_etcd(key)
        return next((o for o in found if o.key == key), None)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        found, revision = self._store.read_from_etcd(
            f"{collection}/{namespace}/" if namespace else f"{collection}/"
        )
        return list(found), revision

    def watch(self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]) -> Any:
        raise TooOld(from_rv, self.revision)


@dataclass(frozen=True)
class Source:
    """Where one read is answered from."""

    reads: Any  # the store (its cache), or EtcdReads
    from_etcd: bool = False
    warning: str | None = None


class ConsistentReads:
    def __init__(
        self,
        store: Store,
        *,
        wait_s: float = WAIT_S,
        revision_timeout_s: float = REVISION_TIMEOUT_S,
        threads: int = READ_THREADS,
    ) -> None:
        self.store = store
        # The etcd store's extras: current_revision, wait_for_revision, read_from_etcd.
        self._etcd: Any = store
        self.wait_s = wait_s
        self.revision_timeout_s = revision_timeout_s
        # Only a store shared by several masters (etcd) can be behind what was acknowledged.
        self.shared = callable(getattr(store, "current_revision", None))
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="api-reads") if self.shared else None

    async def get(
        self, resource: Resource, namespace: str | None, name: str, resource_version: str
    ) -> tuple[StoredObject, str | None]:
        """One object as the request's resourceVersion asks for it, and a Warning to send, if any; 404 if absent."""
        key = resource.store_key(namespace, name)
        source = await self.source(resource_version)
        stored = await self._run(source.reads.get, key) if source.from_etcd else source.reads.get(key)
        if stored is None:
            raise errors.not_found(resource, name)
        return stored, source.warning

    async def list(
        self,
        resource: Resource,
        namespace: str | None,
        labels: LabelQuery,
        fields: FieldQuery,
        options: ListOptions,
    ) -> tuple[paging.Page, str | None]:
        """One list (or page) as ``options`` ask for it, and a Warning to send, if any."""
        at_least = paging.decode_continue(options.continue_token)[0] if options.continue_token else 0
        source = await self.source(options.resource_version, at_least)
        if source.from_etcd:
            page = await self._run(
                paging.list_objects, source.reads, resource, namespace, labels, fields, options
            )
        else:
            page = paging.list_objects(source.reads, resource, namespace, labels, fields, options)
        return page, source.warning

    async def source(self, resource_version: str, at_least: int = 0) -> Source:
        """Where a read at ``resource_version`` (or at least at revision ``at_least``) is answered from, once it may be."""
        cache = Source(self.store)
        if not self.shared or (at_least <= 0 and resource_version == "0"):
            return cache
        if at_least <= 0 and resource_version == "":
            try:
                # On a reader thread; past the timeout that thread is left to etcd's own request timeout.
                needed = await asyncio.wait_for(
                    self._run(self._etcd.current_revision), self.revision_timeout_s
                )
            except (StoreUnavailable, TimeoutError) as exc:
                log.warning(
                    "consistent read answered from the cache: %s",
                    exc or "etcd did not tell its revision in time",
                )
                return Source(self.store, warning=STALE_WARNING)
            if self.store.revision >= needed or await self._run(self._wait_for, needed):
                return cache
            log.warning(
                "cache not at etcd's revision %d after %.0f s (at %d): reading etcd",
                needed,
                self.wait_s,
                self.store.revision,
            )
            return Source(EtcdReads(self._etcd, needed), from_etcd=True)
        needed = at_least if at_least > 0 else int(resource_version)
        if self.store.revision >= needed or await self._run(self._wait_for, needed):
            return cache
        raise errors.too_large_resource_version(needed, self.store.revision)

    def _wait_for(self, revision: int) -> bool:
        return self.store.revision >= revision or bool(self._etcd.wait_for_revision(revision, self.wait_s))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

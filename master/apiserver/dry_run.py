"""``?dryRun=All``: every stage of a write runs, and nothing is kept.

Kubernetes puts dry-run at the storage layer (its ``DryRunnableStorage``): validation,
defaulting, admission, allocation and conflict checks run as for a real write, and
only the final store call is skipped. Kajitori does the same: a dry-run request runs
the ordinary ``ResourceAPI`` verbs over a ``DryRunStore``, which reads through to the
real store and keeps the writes of this one request in an overlay. So:

- the answer is the object the write would have made (a create's has no
  ``resourceVersion``; an update's keeps the one it had, as in Kubernetes);
- nothing reaches SQLite or memory, the revision does not move and no watcher hears;
- allocations (ClusterIP, NodePort, pod CIDR) are derived from stored objects, so a
  number a dry run picked is never held;
- a verb that writes twice (eviction marks then deletes, a scale writes then reads
  back, deletecollection) sees its own earlier writes through the overlay.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from master.apiserver.resources import ResourceAPI
from master.store import (
    AlreadyExists,
    Conflict,
    Fence,
    NotFound,
    Store,
    StoredObject,
    StoreEvent,
    Subscription,
)


def _collection_of(key: str) -> str:
    return key.rsplit("/", 2)[0]


def _namespace_of(key: str) -> str:
    return key.rsplit("/", 2)[1]


def _stored(key: str, rv: int, obj: dict[str, Any]) -> StoredObject:
    return StoredObject(key, rv, obj, orjson.dumps(obj))


class DryRunStore:
    """A ``Store`` whose writes change only an overlay of its own; reads see base plus overlay."""

    def __init__(self, base: Store) -> None:
        self.base = base
        self._overlay: dict[str, StoredObject | None] = {}  # None: deleted by this request

    @property
    def revision(self) -> int:
        return self.base.revision

    def get(self, key: str) -> StoredObject | None:
        if key in self._overlay:
            return self._overlay[key]
        return self.base.get(key)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        items, revision = self.base.list(collection, namespace)
        if not self._overlay:
            return items, revision
        merged = {o.key: o for o in items}
        for key, stored in self._overlay.items():
            if _collection_of(key) != collection or (namespace is not None and _namespace_of(key) != namespace):
                continue
            if stored is None:
                merged.pop(key, None)
            else:
                merged[key] = stored
        return list(merged.values()), revision

    def is_stale(self, key: str) -> bool:
        return key not in self._overlay and self.base.is_stale(key)

    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> StoredObject:
        if self.get(key) is not None:
            raise AlreadyExists(key)
        new = copy.deepcopy(obj)
        new.get("metadata", {}).pop("resourceVersion", None)  # it was never stored: no version
        stored = _stored(key, 0, new)
        self._overlay[key] = stored
        return stored

    def update(
        self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None, fence: Fence | None = None
    ) -> StoredObject:
        current = self._current(key, expected_rv)
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        version = current.obj.get("metadata", {}).get("resourceVersion")
        if version is None:
            meta.pop("resourceVersion", None)
        else:
            meta["resourceVersion"] = version
        stored = _stored(key, current.rv, new)
        self._overlay[key] = stored
        return stored

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject:
        current = self._current(key, expected_rv)
        self._overlay[key] = None
        return current

    def _current(self, key: str, expected_rv: int | None) -> StoredObject:
        current = self.get(key)
        if current is None:
            raise NotFound(key)
        if expected_rv is not None and expected_rv != current.rv:
            raise Conflict(key)
        return current

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]:
        return self.base.events_since(collection, from_rv)

    def watch(self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]) -> Subscription:
        return self.base.watch(collection, from_rv, callback)

    def close(self) -> None:
        """The base store is not this request's to close."""


def dry_run_api(api: ResourceAPI) -> ResourceAPI:
    """The same verbs and rules as ``api``, over a fresh ``DryRunStore`` for one request."""
    clone = copy.copy(api)
    clone.store = DryRunStore(api.store)
    return clone

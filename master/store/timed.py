"""A store wrapper that times every read and write, as kube-apiserver times its etcd calls.

``TimedStore(store)`` answers exactly what the store it wraps answers; it adds, per
(operation, type) — operation ``get``, ``list``, ``create``, ``update``, ``delete``; type
the resource as kube-apiserver names it (``pods``, ``deployments.apps``) — a count per
bucket of kube-apiserver's ``etcd_request_duration_seconds`` and their sum, which
``/metrics`` turns into that histogram when scraped. A call pays two clock reads, one
bisect and a few adds under a lock; failed calls are timed too (etcd's client does).
Attributes beyond the ``Store`` protocol (re-encryption, snapshots) pass through untimed.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from master.store.interface import Fence, Store, StoredObject, StoreEvent, Subscription

# kube-apiserver's etcd_request_duration_seconds buckets
BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60)


def resource_type(key_or_collection: str) -> str:
    """``/apps/deployments/ns/name`` -> ``deployments.apps``; ``/core/pods`` -> ``pods``."""
    parts = key_or_collection.split("/", 3)
    if len(parts) < 3:
        return ""
    group, plural = parts[1], parts[2]
    return plural if group == "core" else f"{plural}.{group}"


class TimedStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self.durations: dict[tuple[str, str], list[float]] = {}
        """Per (operation, type): a count per bucket (not cumulative; the last is +Inf), then the sum of seconds."""

    def _observe(self, operation: str, key: str, started: float) -> None:
        seconds = time.perf_counter() - started
        labels = (operation, resource_type(key))
        with self._lock:
            counts = self.durations.get(labels)
            if counts is None:
                counts = self.durations[labels] = [0.0] * (len(BUCKETS) + 2)
            counts[bisect_left(BUCKETS, seconds)] += 1
            counts[-1] += seconds

    def snapshot(self) -> dict[tuple[str, str], list[float]]:
        with self._lock:
            return {labels: list(counts) for labels, counts in self.durations.items()}

    @property
    def revision(self) -> int:
        return self.store.revision

    def get(self, key: str) -> StoredObject | None:
        started = time.perf_counter()
        try:
            return self.store.get(key)
        finally:
            self._observe("get", key, started)

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]:
        started = time.perf_counter()
        try:
            return self.store.list(collection, namespace)
        finally:
            self._observe("list", collection, started)

    def is_stale(self, key: str) -> bool:
        return self.store.is_stale(key)

    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> StoredObject:
        started = time.perf_counter()
        try:
            return self.store.create(key, obj, fence=fence)
        finally:
            self._observe("create", key, started)

    def update(
        self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None, fence: Fence | None = None
    ) -> StoredObject:
        started = time.perf_counter()
        try:
            return self.store.update(key, obj, expected_rv=expected_rv, fence=fence)
        finally:
            self._observe("update", key, started)

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject:
        started = time.perf_counter()
        try:
            return self.store.delete(key, expected_rv=expected_rv)
        finally:
            self._observe("delete", key, started)

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]:
        return self.store.events_since(collection, from_rv)

    def watch(self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]) -> Subscription:
        return self.store.watch(collection, from_rv, callback)

    def close(self) -> None:
        self.store.close()

    def __getattr__(self, name: str) -> Any:
        # Only reached for what this class does not define: the wrapped store's extras.
        return getattr(self.store, name)

"""Expectations: what a controller has asked for and not yet seen in its cache.

A controller that created three pods must not count the pods again before its
informer has seen them, or a second reconcile would create three more. Each key
records how many creations and which deletions are outstanding; reconcile manages
replicas only when the key's expectations are met (or have expired, because a
watch event can be lost across a relist). This is client-go's ControllerExpectations.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from kajitori.clock import Clock

EXPIRY_S = 30.0


@dataclass
class _Pending:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def expect_creations(self, key: str, count: int) -> None:
        with self._lock:
            entry = self._pending.setdefault(key, _Pending())
            entry.adds += count
            entry.since = self._clock.monotonic()

    def expect_deletions(self, key: str, uids: list[str]) -> None:
        with self._lock:
            entry = self._pending.setdefault(key, _Pending())
            entry.deletes.update(uids)
            entry.since = self._clock.monotonic()

    def creation_observed(self, key: str) -> None:
        with self._lock:
            entry = self._pending.get(key)
            if entry is not None and entry.adds > 0:
                entry.adds -= 1

    def creation_failed(self, key: str) -> None:
        self.creation_observed(key)

    def deletion_observed(self, key: str, uid: str) -> None:
        with self._lock:
            entry = self._pending.get(key)
            if entry is not None:
                entry.deletes.discard(uid)

    def satisfied(self, key: str) -> bool:
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                return True
            if entry.adds <= 0 and not entry.deletes:
                return True
            return self._clock.monotonic() - entry.since > EXPIRY_S

    def forget(self, key: str) -> None:
        with self._lock:
            self._pending.pop(key, None)

"""The kubelet's back-off for restarting crashed containers and retrying failed image pulls.

Per key (pod uid + container name, or + image): the first failure is retried at once; each
later one waits twice as long as the one before, from `initial_s` up to `max_s`. A key that
has not needed a restart for `reset_after_s` (the container ran that long) starts over.
Time comes from an injected monotonic clock so tests need not sleep. Kept in memory only,
as the kubelet keeps it: an agent restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    delay_s: float
    last_s: float


class Backoff:
    def __init__(
        self,
        *,
        initial_s: float = 10.0,
        max_s: float = 300.0,
        reset_after_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def remaining(self, key: str, since_s: float | None = None) -> float:
        """Seconds left before `key` may be retried, counting from `since_s` (default: the last failure)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return 0.0
            start = entry.last_s if since_s is None else since_s
            return max(0.0, start + entry.delay_s - self._clock())

    def next(self, key: str) -> float:
        """Record a retry of `key` now; returns the wait the retry after this one will need."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now - entry.last_s > self.reset_after_s:
                entry = _Entry(delay_s=self.initial_s, last_s=now)
            else:
                entry = _Entry(delay_s=min(entry.delay_s * 2, self.max_s), last_s=now)
            self._entries[key] = entry
            return entry.delay_s

    def delay(self, key: str) -> float:
        with self._lock:
            entry = self._entries.get(key)
            return entry.delay_s if entry is not None else 0.0

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [key for key in self._entries if key.startswith(prefix)]:
                del self._entries[key]

"""The scheduling queue: which pending pod to try next, and when to try a failed one again.

Three places a pod key can wait, as in kube-scheduler:

- active: ready to be tried, highest ``spec.priority`` first, then first come;
- backoff: failed recently, waits 1 s, 2 s, 4 s ... (at most ``max_backoff_s``)
  before going back to active;
- unschedulable: fitted nowhere; stays until the cluster changes in a way that may
  help (``move_all_to_active``: a node added or changed, a pod removed) or until
  ``unschedulable_timeout_s`` passes.

A key is in at most one place, and never handed out twice at once: ``pop`` marks it
in flight until ``done``.

A cluster change that arrives while a pod is being tried is not lost (kube-scheduler's
``moveRequestCycle``): the cycle may have read the caches before the change, so a pod found
unschedulable after a move request that came during its try goes to backoff, not parked.
Seen: a StatefulSet's pod arrived before its claim, the claim's event came while the pod
was tried, and the pod stayed parked for the whole 60 s timeout.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class SchedulingQueue:
    def __init__(
        self,
        *,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 10.0,
        unschedulable_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._active: list[tuple[int, int, str]] = []  # (-priority, seq, key)
        self._in_active: set[str] = set()
        self._backoff: list[tuple[float, int, str]] = []  # (ready_at, seq, key)
        self._in_backoff: set[str] = set()
        self._unschedulable: dict[str, float] = {}  # key -> since
        self._priority: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}  # key -> the move request count when it was popped
        self._moves = 0  # move requests so far
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._initial = initial_backoff_s
        self._max = max_backoff_s
        self._timeout = unschedulable_timeout_s
        self._clock = clock

    def add(self, key: str, priority: int = 0) -> None:
        """A new or changed pending pod: straight to active (unless it is being tried now)."""
        with self._cond:
            self._priority[key] = priority
            if key in self._in_flight or key in self._in_active:
                return
            self._unschedulable.pop(key, None)
            self._in_backoff.discard(key)
            self._push_active(key)

    def _push_active(self, key: str) -> None:
        self._in_active.add(key)
        heapq.heappush(self._active, (-self._priority.get(key, 0), next(self._seq), key))
        self._cond.notify()

    def remove(self, key: str) -> None:
        """The pod was bound or deleted: forget it wherever it waits."""
        with self._cond:
            self._in_active.discard(key)
            self._in_backoff.discard(key)
            self._unschedulable.pop(key, None)
            self._attempts.pop(key, None)
            self._priority.pop(key, None)

    def pop(self, timeout: float | None = None) -> str | None:
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                self._flush()
                while self._active:
                    _, _, key = heapq.heappop(self._active)
                    if key in self._in_active:
                        self._in_active.discard(key)
                        self._in_flight[key] = self._moves
                        return key
                if self._closed:
                    return None
                wait = 1.0
                if self._backoff:
                    wait = min(wait, max(0.0, self._backoff[0][0] - self._clock()))
                if deadline is not None:
                    left = deadline - self._clock()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                self._cond.wait(wait)

    def _flush(self) -> None:
        now = self._clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            if key in self._in_backoff:
                self._in_backoff.discard(key)
                self._push_active(key)
        stale = [k for k, since in self._unschedulable.items() if now - since >= self._timeout]
        for key in stale:
            del self._unschedulable[key]
            self._push_active(key)

    def done(self, key: str) -> None:
        """Tried and placed (or gone): nothing to wait for."""
        with self._cond:
            self._in_flight.pop(key, None)
            self._attempts.pop(key, None)

    def backoff(self, key: str) -> None:
        """Tried and failed for a passing reason (a binding error): retry after its backoff."""
        with self._cond:
            self._in_flight.pop(key, None)
            self._push_backoff(key)

    def _push_backoff(self, key: str) -> None:
        attempts = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempts
        delay = min(self._initial * 2 ** (attempts - 1), self._max)
        self._in_backoff.add(key)
        heapq.heappush(self._backoff, (self._clock() + delay, next(self._seq), key))
        self._cond.notify()

    def unschedulable(self, key: str) -> None:
        """Fits nowhere now: park it until the cluster changes."""
        with self._cond:
            popped_at = self._in_flight.pop(key, self._moves)
            if self._moves > popped_at:
                # The cluster changed during this try: the verdict may be stale (module docstring).
                self._push_backoff(key)
                return
            self._attempts[key] = self._attempts.get(key, 0) + 1
            self._unschedulable[key] = self._clock()

    def move_all_to_active(self) -> None:
        """The cluster changed in a way that may let parked pods fit: try them again."""
        with self._cond:
            self._moves += 1
            for key in list(self._unschedulable):
                del self._unschedulable[key]
                self._push_active(key)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def counts(self) -> dict[str, int]:
        with self._cond:
            return {
                "active": len(self._in_active),
                "backoff": len(self._in_backoff),
                "unschedulable": len(self._unschedulable),
                "in_flight": len(self._in_flight),
            }

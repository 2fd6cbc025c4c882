"""The work queue controllers pull keys from (client-go's rate-limited work queue).

Guarantees: a key waiting is held once however often it is added (de-duplication), and a key
delayed several times waits only for the earliest of its times;
a key is never given to two workers at once (a key added while being processed is
handed out again after ``done``); ``add_rate_limited`` delays a key by its own
exponential backoff (reset by ``forget``), and all rate-limited adds together are held
to ``qps`` with a token bucket so a storm of failures cannot spin the loop.

No delay is longer than ``MAX_DELAY_S`` (a day): a key asked to wait longer (an object's
``tolerationSeconds: 2**62`` is valid int64) is looked at again after a day, and its
reconcile, being level-triggered, asks again. Unclamped, such a delay reached
``Condition.wait`` and raised OverflowError in every worker.

A queue given a ``name`` (a controller names its own) counts its adds and retries and is
listed by ``named_queues()``, which the master's ``/metrics`` reads (``workqueue_depth``,
``workqueue_adds_total``, ``workqueue_retries_total``, as client-go names them).
"""

from __future__ import annotations

import heapq
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

MAX_DELAY_S = 86_400.0
"""The longest any key waits, and the longest one wait of ``get`` (well below ``threading.TIMEOUT_MAX``)."""


_NAMED: weakref.WeakSet[WorkQueue] = weakref.WeakSet()


def named_queues() -> list[WorkQueue]:
    """The live queues that have a name, for metrics."""
    return [q for q in list(_NAMED) if q.name]


class WorkQueue:
    def __init__(
        self,
        *,
        base_delay_s: float = 0.005,
        max_delay_s: float = 30.0,
        qps: float = 50.0,
        burst: int = 100,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        self.adds = 0  # keys added (de-duplicated adds not counted), as client-go's adds_total
        self.retries = 0  # rate-limited adds
        self.name = name
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []  # (ready_at, seq, key)
        self._ready_at: dict[str, float] = {}  # each delayed key's earliest time; heap entries that differ are stale
        self._seq = 0
        self._failures: dict[str, int] = {}
        self._cond = threading.Condition()
        self._shutdown = False
        self._base = base_delay_s
        self._max = max_delay_s
        self._qps = qps
        self._burst = burst
        self._tokens = float(burst)
        self._bucket_at = clock()
        self._clock = clock
        if name:
            _NAMED.add(self)

    def named(self, name: str) -> WorkQueue:
        """Give the queue a name (once), which lists it in ``named_queues()``."""
        if not self.name:
            self.name = name
            _NAMED.add(self)
        return self

    def add(self, key: str) -> None:
        with self._cond:
            if self._shutdown or key in self._dirty:
                return
            self._dirty.add(key)
            self.adds += 1
            if key not in self._processing:
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: str, delay_s: float) -> None:
        if not delay_s <= MAX_DELAY_S:  # also NaN
            delay_s = MAX_DELAY_S
        if delay_s <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutdown:
                return
            ready_at = self._clock() + delay_s
            if self._ready_at.get(key, float("inf")) <= ready_at:
                return  # already due sooner (a controller asking "look again in 600 s" on every pass)
            self._ready_at[key] = ready_at
            self._seq += 1
            heapq.heappush(self._waiting, (ready_at, self._seq, key))
            self._cond.notify()

    def add_rate_limited(self, key: str) -> None:
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
            self.retries += 1
            delay = min(self._base * (2**failures), self._max)
            delay = max(delay, self._bucket_delay())
        self.add_after(key, delay)

    def _bucket_delay(self) -> float:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._bucket_at) * self._qps)
        self._bucket_at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._qps

    def forget(self, key: str) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def get(self, timeout: float | None = None) -> str | None:
        """The next key, or None on shutdown or when ``timeout`` passes."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                self._promote_waiting()
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown:
                    return None
                wait = MAX_DELAY_S
                if self._waiting:
                    wait = min(wait, max(0.0, self._waiting[0][0] - self._clock()))
                if deadline is not None:
                    left = deadline - self._clock()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                self._cond.wait(wait)

    def _promote_waiting(self) -> None:
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._waiting)
            if self._ready_at.get(key) != ready_at:
                continue  # superseded by an earlier time for the same key
            del self._ready_at[key]
            if key not in self._dirty:
                self._dirty.add(key)
                self.adds += 1
                if key not in self._processing:
                    self._queue.append(key)

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

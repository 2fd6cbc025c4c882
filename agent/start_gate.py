"""How many container creates and starts the agent has in dockerd at once, and in which order.

dockerd on a small node does not start containers faster when asked for thirty at once: a
burst's throughput is the same with four in flight (measured by
bench/pod_startup/dockerd_floor.py), but every pod then waits for all the others. The gate
lets `slots` calls in at a time and hands free slots out by priority, lowest first, and in
order of arrival within a priority: a pod whose sandbox exists finishes (sandbox start,
container create and start go first) before the next pod's sandbox is created, so pods of a
burst become Running one after another instead of all at the end.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

FINISH = 0
"""Priority of the calls that bring an already begun pod further (starts, container creates)."""
BEGIN = 1
"""Priority of a new pod's sandbox create."""


class StartGate:
    """At most `slots` holders at once; waiters are let in by (priority, arrival)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a start gate needs at least one slot")
        self._free = slots
        self._changed = threading.Condition()
        self._waiting: list[tuple[int, int]] = []
        self._arrivals = itertools.count()

    @contextmanager
    def slot(self, priority: int) -> Iterator[None]:
        ticket = (priority, next(self._arrivals))
        with self._changed:
            heapq.heappush(self._waiting, ticket)
            while self._waiting[0] != ticket or not self._free:
                self._changed.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            # The next in line may find a slot free too.
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


class OpenGate:
    """A gate that never waits (no limit)."""

    def slot(self, priority: int) -> AbstractContextManager[None]:
        return nullcontext()


OPEN_GATE = OpenGate()

"""The work queue: de-duplication, one worker per key, backoff."""

from __future__ import annotations

import math

from kajitori.workqueue import MAX_DELAY_S, WorkQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_duplicates_are_held_once() -> None:
    q = WorkQueue()
    for _ in range(3):
        q.add("a")
    q.add("b")
    assert len(q) == 2
    assert q.get(0) == "a"
    assert q.get(0) == "b"
    assert q.get(0) is None


def test_a_key_in_processing_is_not_handed_out_twice() -> None:
    q = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")  # changed again while a worker holds it
    assert q.get(0) is None  # ... not given to a second worker
    q.done("a")
    assert q.get(0) == "a"  # ... but handed out again once done


def test_rate_limited_backoff_doubles_and_forget_resets() -> None:
    clock = Clock()
    q = WorkQueue(base_delay_s=1.0, max_delay_s=8.0, clock=clock)
    q.add_rate_limited("a")
    assert q.get(0) is None
    clock.now = 1.0
    assert q.get(0) == "a"
    q.done("a")
    q.add_rate_limited("a")  # second failure: 2 s
    clock.now = 2.5
    assert q.get(0) is None
    clock.now = 3.0
    assert q.get(0) == "a"
    q.done("a")
    assert q.failures("a") == 2
    q.forget("a")
    assert q.failures("a") == 0


def test_shutdown_wakes_getters() -> None:
    q = WorkQueue()
    q.shutdown()
    assert q.get() is None


def test_a_key_delayed_twice_waits_for_the_earlier_time_only() -> None:
    clock = Clock()
    q = WorkQueue(clock=clock)
    q.add_after("a", 600.0)
    q.add_after("a", 600.0)
    q.add_after("a", 5.0)
    clock.now = 5.0
    assert q.get(0) == "a"
    q.done("a")
    clock.now = 601.0
    assert q.get(0) is None  # the 600 s entries were superseded, not kept as extra wake-ups


def test_a_delay_longer_than_a_day_or_not_a_number_waits_a_day() -> None:
    # tolerationSeconds: 2**62 is valid int64; unclamped, its delay overflowed Condition.wait in every worker.
    clock = Clock()
    q = WorkQueue(clock=clock)
    q.add_after("far", 2.0**62)
    q.add_after("nan", math.nan)
    assert q.get(0) is None
    clock.now = MAX_DELAY_S
    assert {q.get(0), q.get(0)} == {"far", "nan"}

"""The scheduling queue: order, in-flight exclusion, backoff, parking unschedulable pods."""

from __future__ import annotations

from master.scheduler.queue import SchedulingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_priority_then_first_come() -> None:
    q = SchedulingQueue(clock=Clock())
    q.add("a")
    q.add("b", priority=10)
    q.add("c")
    assert [q.pop(0), q.pop(0), q.pop(0)] == ["b", "a", "c"]


def test_a_key_in_flight_is_not_handed_out_again() -> None:
    q = SchedulingQueue(clock=Clock())
    q.add("a")
    assert q.pop(0) == "a"
    q.add("a")
    assert q.pop(0) is None


def test_backoff_doubles() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock, initial_backoff_s=1.0)
    q.add("a")
    q.pop(0)
    q.backoff("a")
    assert q.pop(0) is None
    clock.now = 1.0
    assert q.pop(0) == "a"
    q.backoff("a")
    clock.now = 2.5
    assert q.pop(0) is None
    clock.now = 3.0
    assert q.pop(0) == "a"


def test_unschedulable_waits_for_a_cluster_change_or_the_timeout() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock, unschedulable_timeout_s=60.0)
    q.add("a")
    q.pop(0)
    q.unschedulable("a")
    clock.now = 30.0
    assert q.pop(0) is None
    q.move_all_to_active()
    assert q.pop(0) == "a"
    q.unschedulable("a")
    clock.now = 91.0
    assert q.pop(0) == "a"


def test_a_cluster_change_during_a_try_is_not_lost() -> None:
    # The try read the caches before the change (a claim added after its pod): parked, it would
    # wait for the next change or the whole timeout; it goes to backoff instead.
    clock = Clock()
    q = SchedulingQueue(clock=clock, initial_backoff_s=1.0, unschedulable_timeout_s=60.0)
    q.add("a")
    assert q.pop(0) == "a"
    q.move_all_to_active()
    q.unschedulable("a")
    assert q.counts() == {"active": 0, "backoff": 1, "unschedulable": 0, "in_flight": 0}
    clock.now = 1.0
    assert q.pop(0) == "a"
    # Tried after the change, with no change since: parked as before.
    q.unschedulable("a")
    clock.now = 30.0
    assert q.pop(0) is None
    assert q.counts()["unschedulable"] == 1

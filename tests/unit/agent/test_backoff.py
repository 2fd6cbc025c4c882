"""The kubelet's restart back-off: immediate first retry, doubling, capped, forgotten after a calm period."""

from __future__ import annotations

from agent.backoff import Backoff


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_failure_is_retried_at_once_then_waits_double_each_time() -> None:
    clock = Ticker()
    backoff = Backoff(initial_s=10, max_s=40, reset_after_s=600, clock=clock)
    assert backoff.remaining("pod/c") == 0
    assert [backoff.next("pod/c") for _ in range(4)] == [10, 20, 40, 40]
    assert backoff.remaining("pod/c") == 40
    clock.now += 15
    assert backoff.remaining("pod/c") == 25


def test_remaining_counts_from_when_the_container_finished() -> None:
    clock = Ticker()
    backoff = Backoff(initial_s=10, clock=clock)
    backoff.next("k")
    clock.now += 30  # it then ran 28 s and finished 2 s ago
    assert backoff.remaining("k", since_s=clock.now - 2) == 8


def test_a_calm_period_resets_the_delay() -> None:
    clock = Ticker()
    backoff = Backoff(initial_s=10, max_s=300, reset_after_s=600, clock=clock)
    for _ in range(5):
        backoff.next("k")
    clock.now += 601
    assert backoff.next("k") == 10


def test_forget_prefix_drops_one_pods_keys_only() -> None:
    backoff = Backoff(clock=Ticker())
    backoff.next("uid1/a")
    backoff.next("uid1/a/pull")
    backoff.next("uid2/a")
    backoff.forget_prefix("uid1/")
    assert backoff.delay("uid1/a") == 0 and backoff.delay("uid1/a/pull") == 0
    assert backoff.delay("uid2/a") == 10

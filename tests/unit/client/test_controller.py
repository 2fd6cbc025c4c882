"""The controller loop: whatever one object makes its reconcile do, the workers keep working."""

from __future__ import annotations

import threading

from kajitori.controller import Controller, Requeue
from kajitori.workqueue import WorkQueue


class Hostile(Exception):
    """Raised from a handler of the loop's own bookkeeping, not from reconcile."""


def test_a_requeue_of_2_to_the_62_seconds_leaves_the_worker_alive_for_the_next_key() -> None:
    # A Deployment's progressDeadlineSeconds (or a toleration's seconds) became Requeue(2**62):
    # the worker's next wait raised OverflowError and every worker thread ended.
    handled = threading.Event()

    def reconcile(key: str) -> None:
        if key == "far":
            raise Requeue(2.0**62)
        handled.set()

    queue = WorkQueue()
    controller = Controller("test", reconcile, queue=queue)
    controller._start_workers()  # no informers to wait for
    (worker,) = controller._threads
    try:
        controller.enqueue("far")
        # Only once the worker waits on the queue for "far" is "next" added: the wait is what overflowed.
        while worker.is_alive() and not (queue.failures("far") == 0 and "far" in queue._ready_at and queue._cond._waiters):  # type: ignore[attr-defined]
            handled.wait(0.01)
        controller.enqueue("next")
        while not handled.is_set() and worker.is_alive():
            handled.wait(0.05)
        assert handled.is_set() and worker.is_alive()
    finally:
        controller.stop()


def test_an_outcome_the_queue_refuses_is_logged_and_retried_with_backoff() -> None:
    class RefusingQueue(WorkQueue):
        def add_after(self, key: str, delay_s: float) -> None:
            if delay_s == 7:
                raise Hostile("refused")
            super().add_after(key, delay_s)

    def reconcile(key: str) -> None:
        raise Requeue(7)

    queue = RefusingQueue()
    controller = Controller("test", reconcile, queue=queue)
    controller.process("k")  # raises nothing
    assert queue.failures("k") == 1

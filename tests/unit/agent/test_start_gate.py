"""StartGate: at most `slots` holders; begun pods (FINISH) are let in before new ones (BEGIN)."""

from __future__ import annotations

import threading
import time

import pytest

from agent.start_gate import BEGIN, FINISH, StartGate


def test_waiters_enter_by_priority_then_arrival() -> None:
    gate = StartGate(1)
    entered: list[str] = []
    holding = gate.slot(FINISH)
    holding.__enter__()

    def wait_in_line(name: str, priority: int) -> threading.Thread:
        def enter() -> None:
            with gate.slot(priority):
                entered.append(name)

        thread = threading.Thread(target=enter)
        before = len(gate._waiting)
        thread.start()
        while len(gate._waiting) == before:  # until it is in line: arrival order is the test's order
            time.sleep(0.001)
        return thread

    threads = [wait_in_line("new-a", BEGIN), wait_in_line("new-b", BEGIN), wait_in_line("begun", FINISH)]
    holding.__exit__(None, None, None)
    for thread in threads:
        thread.join(5)
    assert entered == ["begun", "new-a", "new-b"]


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        StartGate(0)

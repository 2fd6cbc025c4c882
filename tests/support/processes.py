"""Ending the daemon processes tests start: politely, or the way a crash does; and how long a
test may wait for a process of its own to start or to answer.

``PROCESS_TIMEOUT_S`` is a limit, never a timed assertion: a process returns as soon as it
is ready. It is generous because a `python -m cli ...` (the kajitori CLI) spends about a second of CPU
importing (mostly building the API models), and on a 2-core machine shared by a whole
team that second was measured at 13-17 s of wall time; a 20 or 30 s limit failed there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

PROCESS_TIMEOUT_S = 120.0


def popen_interruptible(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """``subprocess.Popen`` whose child takes Ctrl-C (SIGINT) as a user's terminal gives it.

    A session started as a background job (``cmd &`` in a script, nohup, some CI runners) has
    SIGINT ignored, an ignored signal stays ignored through fork and exec, and Python then
    installs no KeyboardInterrupt handler: the child would never see the test's SIGINT (a
    `get -w` hung for 120 s that way). A Python-level handler, unlike SIG_IGN, is reset at
    exec, so the child starts with SIGINT at its default while this one is installed.
    Call from the main thread (as tests run).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(args, **kwargs)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 30 s."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def kill_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None) -> None:
    """kill -9: what a crash (or the durability tests) does."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def freeze(pid: int, timeout_s: float = PROCESS_TIMEOUT_S) -> None:
    """SIGSTOP ``pid`` and return once every thread of it is stopped.

    ``kill`` returns when the signal is queued, not when the process has stopped: a request
    sent at once could still be answered (an etcd "frozen" this way answered one, under load).
    """
    os.kill(pid, signal.SIGSTOP)
    give_up = time.monotonic() + timeout_s
    while not _all_threads_stopped(pid):
        if time.monotonic() > give_up:
            raise AssertionError(f"process {pid} did not stop within {timeout_s} s of SIGSTOP")
        time.sleep(0.01)


def _all_threads_stopped(pid: int) -> bool:
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        states.append(text[text.rindex(")") + 2])  # the field after "(comm)"
    return bool(states) and all(state in "tT" for state in states)

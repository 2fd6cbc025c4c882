"""Ending the daemon processes tests start: politely, or the way a crash does; and how long a
test may wait for a process of its own to start or to answer.

``PROCESS_TIMEOUT_S`` is a limit, never a timed assertion: a process returns as soon as it
is ready. It is generous because a `python -m cli ...` (the kajitori CLI) spends about a second of CPU
importing (mostly building the API models), and on a 2-core machine shared by a whole
team that second was measured at 13-17 s of wall time; a 20 or 30 s limit failed there.
"""

from __future__ import annotations

import signal
import subprocess
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

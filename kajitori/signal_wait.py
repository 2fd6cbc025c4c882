"""Waiting in a daemon's main thread until it is told to stop, so that its SIGTERM handler runs.

Python runs a signal handler in the main thread, once that thread is back in Python code. The
kernel may deliver a process-directed signal to any thread that does not block it, and Linux
gives it to another one whenever the main thread has a signal pending already: a SIGTERM sent
right after a SIGCONT (a frozen node resumed, then stopped) lands in some other thread. The
C-level handler only records it there, and a main thread blocked in ``Event.wait()`` with no
timeout is never woken to run the Python handler: the agent ignored that SIGTERM for good and
was killed 30 s later. Waiting in slices brings the main thread back into Python code each
second, where the recorded signal's handler runs.
"""

from __future__ import annotations

import threading

SLICE_S = 1.0
"""How long a signal delivered to another thread may wait for its handler (one slice at most)."""


def wait_until_set(event: threading.Event, slice_s: float = SLICE_S) -> None:
    """Return once ``event`` is set, running the process's signal handlers meanwhile."""
    while not event.wait(slice_s):
        pass

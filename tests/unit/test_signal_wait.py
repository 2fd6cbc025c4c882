"""A daemon's main thread that waits for its stop still runs the SIGTERM handler when the
kernel delivers the signal to another thread (kajitori/signal_wait.py).

The child below makes that delivery certain: its main thread blocks SIGTERM after starting a
thread that does not, so the kernel must give the signal to that thread, as it does to the
agent's threads when its main thread has a signal pending (a SIGTERM right after SIGCONT).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import signal, threading
from kajitori.signal_wait import wait_until_set

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
# Started before the main thread blocks SIGTERM, so this thread alone may receive it.
threading.Thread(target=threading.Event().wait, daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
print("waiting", flush=True)
wait_until_set(stop)
print("stopped", flush=True)
"""


def test_a_sigterm_delivered_to_another_thread_still_ends_the_wait() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "waiting\n"
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)  # a limit: it returns within a second of the signal
        except subprocess.TimeoutExpired:
            pytest.fail("the main thread never ran the SIGTERM handler")
        assert (proc.returncode, out) == (0, "stopped\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

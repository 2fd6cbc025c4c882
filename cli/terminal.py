"""Our side of an interactive stream: stdin as an async iterator, raw mode, and the terminal's size.

stdin is read by a daemon thread (a blocking read of a pipe or terminal cannot be awaited
portably) and handed to the event loop with back-pressure; raw mode is restored however
the command ends; SIGWINCH becomes a new size on the iterator ``sizes`` yields.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import termios
import threading
import tty
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress


async def stdin_chunks(fd: int = 0) -> AsyncIterator[bytes]:
    """Our stdin until its end."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4)

    def reader() -> None:
        while True:
            try:
                chunk: bytes | None = os.read(fd, 1 << 16) or None
            except OSError:
                chunk = None
            try:
                asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except (RuntimeError, asyncio.CancelledError):  # the loop is gone: the stream has ended
                return
            if chunk is None:
                return

    threading.Thread(target=reader, name="stdin", daemon=True).start()
    while (chunk := await queue.get()) is not None:
        yield chunk


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size()
    return size.columns, size.lines


async def sizes() -> AsyncIterator[tuple[int, int]]:
    """The terminal's size now, then again after each SIGWINCH."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    loop.add_signal_handler(signal.SIGWINCH, changed.set)
    try:
        while True:
            yield _stdout_size()
            await changed.wait()
            changed.clear()
    finally:
        with suppress(Exception):
            loop.remove_signal_handler(signal.SIGWINCH)


def _stdout_size() -> tuple[int, int]:
    for stream in (sys.stdout, sys.stdin):
        with suppress(OSError, ValueError):
            size = os.get_terminal_size(stream.fileno())
            return size.columns, size.lines
    return terminal_size()


def is_terminal() -> bool:
    return sys.stdin.isatty()


@contextmanager
def raw_mode(fd: int = 0) -> Iterator[None]:
    """The terminal passes every key through (Ctrl-C goes to the pod), as kubectl -t; restored on exit."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

"""One upgraded connection from the master relayed to one plain socket (a docker exec or a pod's port).

The link (TLS) is read and written by the handler's own thread only, because one
OpenSSL connection must not be used by two threads at once; that thread waits on
both sockets with ``select``. Bytes for the plain socket go through a small bounded
queue to a writer thread, so a process that does not read its stdin while it writes
its stdout cannot deadlock the relay: while the queue is full the link is simply not
read (the master, and then the client, feel the back-pressure), and output keeps
flowing. ``relay`` returns when the plain socket ends (``"done"``) or when the
master goes away (``"gone"``).
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Literal

from kajitori.streaming import link

log = logging.getLogger(__name__)

QUEUE_DEPTH = 64
CHUNK = 64 * 1024
_STOP = object()
_SHUT = object()


class _Writer:
    """Writes queued bytes to the plain socket from its own thread; None-like markers half-close or stop."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # Unbounded so put() never blocks this thread; full() is the back-pressure signal.
        self.queue: queue.Queue[object] = queue.Queue()
        self.broken = False
        self.thread = threading.Thread(target=self._run, name="stream-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            if self.broken:
                continue
            try:
                if item is _SHUT:
                    self.sock.shutdown(socket.SHUT_WR)
                elif isinstance(item, bytes):
                    self.sock.sendall(item)
            except OSError:
                self.broken = True  # the process closed its stdin; later input is dropped

    def full(self) -> bool:
        return self.queue.qsize() >= QUEUE_DEPTH

    def stop(self) -> None:
        self.queue.put(_STOP)
        self.thread.join(timeout=5.0)


def relay(
    conn: socket.socket,
    plain: socket.socket,
    *,
    output: Callable[[bytes], Iterable[bytes]],
    control: Callable[[int, bytes], None] = lambda channel, payload: None,
    early: bytes = b"",
) -> Literal["done", "gone"]:
    """Relay until one side ends. `output` turns bytes read from `plain` (after `early`, read before) into link frames to send."""
    writer = _Writer(plain)
    reader = link.FrameReader()
    try:
        if early and not _send(conn, output(early)):
            return "gone"
        while True:
            want_link = not writer.full()
            buffered = want_link and isinstance(conn, ssl.SSLSocket) and conn.pending() > 0
            if buffered:
                ready: list[socket.socket] = [conn]
            else:
                watched = [plain, conn] if want_link else [plain]
                ready, _, _ = select.select(watched, [], [], None if want_link else 0.05)
            if plain in ready:
                try:
                    data = plain.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    return "done"
                if not _send(conn, output(data)):
                    return "gone"
            if conn in ready:
                try:
                    data = conn.recv(CHUNK)
                except (OSError, ssl.SSLError):
                    data = b""
                if not data:
                    return "gone"
                try:
                    frames = list(reader.feed(data))
                except link.LinkError as exc:
                    log.warning("dropping a stream: %s", exc)
                    return "gone"
                for channel, payload in frames:
                    if channel == link.STDIN:
                        writer.queue.put(payload)
                    elif channel == link.CLOSE and payload[:1] == bytes([link.STDIN]):
                        writer.queue.put(_SHUT)
                    else:
                        control(channel, payload)
    finally:
        writer.stop()


def _send(conn: socket.socket, frames: Iterable[bytes]) -> bool:
    """Send link frames to the client; False once it is gone."""
    try:
        for encoded in frames:
            conn.sendall(encoded)
    except OSError:
        return False
    return True

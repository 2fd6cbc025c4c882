"""Bounds on a request's head for the agent's stdlib HTTP server, as Go gives the kubelet.

- Size: the request line and headers may take ``max_header_bytes`` (1 MiB, Go's
  ``DefaultMaxHeaderBytes``); past that the request is answered 431 and the connection
  closed. (The stdlib alone allows 100 header lines of 64 KiB each.)
- Time: from the moment a connection is accepted, the TLS handshake and the head must
  be done within ``timeout_s`` (32 s, as kube-apiserver's ``ReadHeaderTimeout``). A
  socket timeout would not do: it bounds each read, so a client sending a byte a
  second would hold its thread forever. One ``HeadDeadlines`` thread per server shuts
  down the sockets whose head is late, which wakes their handler thread.

A body, a followed log or an exec's output is not limited here.
"""

from __future__ import annotations

import heapq
import io
import itertools
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

MAX_HEADER_BYTES = 1 << 20
HEADER_TIMEOUT_S = 32.0


class HeadTooLarge(Exception):
    pass


class HeadDeadlines:
    """Shuts down each watched socket whose head is not done by its deadline."""

    def __init__(self, timeout_s: float = HEADER_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._heap: list[tuple[float, int]] = []
        self._sockets: dict[int, socket.socket] = {}
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def watch(self, sock: socket.socket) -> int:
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="agent-head-deadlines", daemon=True)
                self._thread.start()
            ticket = next(self._ids)
            self._sockets[ticket] = sock
            heapq.heappush(self._heap, (time.monotonic() + self.timeout_s, ticket))
            self._wake.notify()
            return ticket

    def done(self, ticket: int) -> None:
        with self._wake:
            self._sockets.pop(ticket, None)  # its heap entry is skipped when it comes due

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while not self._stopped:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, ticket = heapq.heappop(self._heap)
                    sock = self._sockets.pop(ticket, None)
                    if sock is not None:
                        _shutdown(sock)
                self._wake.wait(self._heap[0][0] - now if self._heap else None)


def _shutdown(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, also for an SSLSocket: its own would touch the TLS
        # state another thread is reading with. The handler's blocked read then returns.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


class _CountingReader(io.RawIOBase):
    """The socket's bytes, refusing to give more than ``limit`` while ``limit`` is set."""

    def __init__(self, raw: io.RawIOBase, limit: int) -> None:
        self._raw = raw
        self.limit: int | None = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()  # the socket counts its open files: an unclosed one keeps the fd
        super().close()

    def readinto(self, buffer: Any) -> int | None:
        n = self._raw.readinto(buffer)
        if n and self.limit is not None:
            self.count += n
            if self.count > self.limit:
                raise HeadTooLarge(self.count)
        return n


class BoundedHeadHandler(BaseHTTPRequestHandler):
    """A request handler whose head is bounded; a server sets the two class attributes."""

    head_deadlines: HeadDeadlines
    max_header_bytes = MAX_HEADER_BYTES

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by one that counts (closing it releases its hold on the socket)
        self._ticket = self.head_deadlines.watch(self.connection)
        self._head_reader = _CountingReader(socket.SocketIO(self.connection, "rb"), self.max_header_bytes)
        self.rfile = io.BufferedReader(self._head_reader)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except HeadTooLarge:
            self.close_connection = True
            self.wfile.write(b"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            self.close_connection = True  # shut down by its deadline (or the client left)

    def parse_request(self) -> bool:
        ok = super().parse_request()  # reads the headers
        self._head_reader.limit = None
        self.head_deadlines.done(self._ticket)
        return ok

    def finish(self) -> None:
        self.head_deadlines.done(self._ticket)
        try:
            super().finish()
        except OSError:
            pass  # the socket was shut down

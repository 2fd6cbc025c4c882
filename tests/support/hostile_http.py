"""Clients that misbehave on purpose: request heads that never end, or that trickle in.

Each works on a real socket (TLS when given a context) and reports what the server did:
``closed`` once the server hung up (with whatever status line it sent first).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    closed: bool = False
    status: str = ""  # the status line the server sent before closing, if any
    sent: int = 0
    seconds: float = 0.0
    error: str = ""


def _connect(port: int, tls: ssl.SSLContext | None) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw


def _read_until_closed(sock: socket.socket, out: Outcome, timeout: float) -> None:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
        out.closed = True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as exc:
        out.closed = True
        out.error = repr(exc)
    except TimeoutError:
        out.error = "still open"
    out.status = data.split(b"\r\n", 1)[0].decode(errors="replace")


def unfinished_head(
    port: int, tls: ssl.SSLContext | None, *, size: int, line: int | None = None, wait: float = 20.0
) -> Outcome:
    """Send a request line and ``size`` bytes of headers with no end, then wait for the server's answer.

    One header line of ``size`` bytes, or lines of ``line`` bytes each (under a per-line limit).
    """
    out = Outcome()
    started = time.monotonic()
    sock = _connect(port, tls)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        piece = b"a" * 65536 if line is None else b"a" * (line - 9) + b"\r\nX-Big: "
        try:
            while out.sent < size:
                sock.sendall(piece)
                out.sent += len(piece)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, TimeoutError):
            pass  # the server stopped reading: see what it says
        _read_until_closed(sock, out, wait)
    except OSError as exc:
        out.closed, out.error = True, repr(exc)
    finally:
        out.seconds = time.monotonic() - started
        sock.close()
    return out


def trickling_head(port: int, tls: ssl.SSLContext | None, *, give_up: float, every: float = 0.2) -> Outcome:
    """Send a head one byte per ``every`` seconds, never finishing it, until the server hangs up or ``give_up``.

    One thread does both the sending and the reading: an ``ssl.SSLSocket`` (one OpenSSL
    object) must not be read and written from two threads at once. When it was, a read
    now and then returned end-of-file 10 ms after connecting, a close nobody had sent.
    """
    out = Outcome()
    started = time.monotonic()
    deadline = started + give_up
    sock = _connect(port, tls)
    answer = b""
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        while (left := deadline - time.monotonic()) > 0:
            buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if buffered or select.select([sock], [], [], min(every, left))[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    out.closed = True
                    break
                answer += chunk
            elif not answer:  # the server has said nothing yet: one more byte of head
                sock.sendall(b"X")
                out.sent += 1
        else:
            out.error = "still open"
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as exc:
        out.closed, out.error = True, repr(exc)
    finally:
        out.seconds = time.monotonic() - started
        out.status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
        sock.close()
    return out


@dataclass
class Crowd:
    """Run ``count`` misbehaving clients at once and collect their outcomes."""

    count: int
    outcomes: list[Outcome] = field(default_factory=list)

    def run(self, target: object, *args: object, **kwargs: object) -> list[Outcome]:
        lock = threading.Lock()

        def one() -> None:
            result = target(*args, **kwargs)  # type: ignore[operator]
            with lock:
                self.outcomes.append(result)

        threads = [threading.Thread(target=one) for _ in range(self.count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return self.outcomes


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")

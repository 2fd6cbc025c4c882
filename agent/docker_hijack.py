"""A hijacked Docker connection (exec start, attach) together with the bytes already read past its HTTP head.

dockerd answers ``POST /exec/{id}/start`` and ``POST /containers/{id}/attach`` with
``101 UPGRADED`` and then writes the process's output on the same connection.
http.client reads that head through a ``BufferedReader``, one ``recv`` of up to 8 KiB at
a time. When the first output came in the same segment as the head (a short command, or
a reader that is late because the machine is busy), those bytes stay in the reader's
buffer, and docker-py's ``socket=True`` hands back the socket beneath it. A caller that
reads only that socket sees the stream from its second segment on: ``sh -c 'echo rc=$?'``
answered ``(0, b'')`` about once in 3,000 execs with both cores busy (issue 18).

``hijacked`` returns the socket and those early bytes, which come first.
"""

from __future__ import annotations

import io
import socket
import ssl
from dataclasses import dataclass
from typing import Any

_MAX_EARLY = 65536
"""More than http.client's read buffer (io.DEFAULT_BUFFER_SIZE, 8 KiB): one read takes all of it."""


@dataclass
class Hijacked:
    """The upgraded connection: `early` is the start of the stream, `sock` carries the rest."""

    sock: socket.socket
    early: bytes


def hijacked(wrapped: Any) -> Hijacked:
    """The socket docker-py returned for ``socket=True`` and what http.client buffered past the head.

    docker-py keeps the HTTP response on the object it returns (``_response``) so that the
    connection is not closed under the caller. The response's reader is the
    ``BufferedReader`` the head was read through; with the socket non-blocking, one
    ``read1`` hands over what it holds and never waits for more.
    """
    sock: socket.socket = getattr(wrapped, "_sock", wrapped)
    reader = _head_reader(wrapped)
    early = b""
    if reader is not None:
        sock.setblocking(False)
        try:
            # Buffered bytes if there are any; else one non-blocking read of the socket, which is
            # the stream's next bytes in order, b"" (nothing yet: SocketIO turns EAGAIN into None),
            # or b"" at its end (which a later recv sees again).
            early = reader.read1(_MAX_EARLY) or b""
        except (BlockingIOError, ssl.SSLWantReadError):
            pass  # nothing buffered and nothing yet on a TLS socket
    # Blocking, as the callers wait with select and then read what is there.
    sock.setblocking(True)
    return Hijacked(sock=sock, early=early)


def _head_reader(wrapped: Any) -> io.BufferedReader | None:
    response = getattr(wrapped, "_response", None)
    reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    if not isinstance(reader, io.BufferedReader):
        # Not the layout of docker-py's unix-socket and TCP transports (ssh, named pipes):
        # nothing we can recover, as before.
        return None
    if wrapped is not reader.raw and wrapped is not getattr(reader.raw, "_sock", None):
        return None  # docker-py handed back something else than the socket beneath this reader
    return reader

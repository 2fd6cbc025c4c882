"""uvicorn's httptools protocol with the two bounds Go's http.Server gives kube-apiserver.

- ``max_header_bytes`` (1 MiB, Go's ``DefaultMaxHeaderBytes``): a request whose line
  and headers are not complete after that many bytes is answered 431 and its
  connection closed. uvicorn's httptools protocol keeps every header it is sent, so
  ten connections of 8 MiB unfinished headers cost the process 100 MiB without this.
- ``header_timeout_s`` (32 s, kube-apiserver's ``ReadHeaderTimeout``): from the moment
  a connection is ready (after TLS) or a request's first byte arrives, its headers must
  be complete within that time, or the connection is closed with 408. uvicorn only
  times out a connection idle between requests, so one trickling a byte now and then
  stayed open forever. The TLS handshake itself is bounded by asyncio (60 s).

Both count only the request head: a body, a long watch or a followed log is not limited here.
The protocol also puts the connection's verified client certificate in each request's scope
(``master.apiserver.authn.peer``), and a way to write a chunk of an already started
streaming response straight to the connection (``WRITE_NOW_KEY``): the watch fan-out
(``master.apiserver.watch``) hands one event to 1,000 watchers in one turn of the loop
that way, instead of waking 1,000 tasks whose sends each pass every middleware.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from master.apiserver.authn.peer import SCOPE_KEY, peer_certificate

MAX_HEADER_BYTES = 1 << 20
HEADER_TIMEOUT_S = 32.0
# scope key: a ``WriteNowTo``, whose ``bind()`` gives ``write_now(frame) -> bool``. A
# middleware that rewrites response bodies must drop it from the scope it passes on.
WRITE_NOW_KEY = "kajitori.write_now"
WriteNow = Callable[[bytes], bool]


def chunk_frame(body: bytes) -> bytes:
    """``body`` framed as one chunk of a chunked HTTP/1.1 response, what ``write_now`` takes.

    Framed by the caller, so one event's frame is made once and written to every
    watcher's connection as the same bytes."""
    return b"%x\r\n%b\r\n" % (len(body), body)


_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class WriteNowTo:
    """The scope's ``WRITE_NOW_KEY``: ``bind()`` gives the ``write_now(frame) -> bool`` of
    this request's response (``BoundedHttpToolsProtocol.write_now``).

    Holds the connection's protocol weakly: the protocol holds the scope, and a strong
    reference back from the scope made every request's scope (its exit stacks, its user,
    about 22 objects) garbage that only the collector's passes could free, as was each
    closed connection's protocol and TLS objects. What ``bind`` gives holds it (and the
    scope) strongly, for the one who streams the response (a watch) and for no longer: it
    is called once per watcher and event, and a weak reference followed on every call cost
    the fan-out about 4 % of its CPU."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: BoundedHttpToolsProtocol) -> None:
        self._protocol = weakref.ref(protocol)

    def bind(self) -> WriteNow | None:
        """``write_now`` of the response to the request whose scope this is in; None once
        its connection has gone or serves another request."""
        protocol = self._protocol()
        cycle = protocol.cycle if protocol is not None else None
        if protocol is None or cycle is None or cycle.scope.get(WRITE_NOW_KEY) is not self:
            return None
        # The connection's own scope, not a middleware's copy: write_now checks it by identity.
        return functools.partial(protocol.write_now, cycle.scope)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Set ``max_header_bytes`` and ``header_timeout_s`` on a subclass (see ``bounded_protocol``)."""

    max_header_bytes = MAX_HEADER_BYTES
    header_timeout_s = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._reading_head = True  # the next bytes are a request line and headers
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._client_certificate = peer_certificate(transport)
        self._arm_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[SCOPE_KEY] = self._client_certificate  # type: ignore[literal-required]
        self.scope[WRITE_NOW_KEY] = WriteNowTo(self)  # type: ignore[literal-required]

    def write_now(self, scope: object, frame: bytes) -> bool:
        """Write ``frame`` (``chunk_frame(body)``) as the next chunk of the response to ``scope``'s request, now; whether it did.

        Only while that response is the connection's current one, has started with
        chunked encoding and not ended, and the connection takes more (not closing, its
        write buffer under the high-water mark). Otherwise nothing is written and the
        caller sends it the ASGI way, which waits for the buffer to drain. The caller
        must not have an ASGI send of that response in flight (the order would break).
        """
        cycle = self.cycle
        if (
            cycle is None
            or cycle.scope is not scope
            or not cycle.response_started
            or cycle.response_complete
            or not cycle.chunked_encoding
            or cycle.disconnected
            or cycle.flow.write_paused
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._arm_head_timer()
            self._head_bytes += len(data)
        super().data_received(data)
        # Still in the head after this chunk (the parser has not called on_headers_complete)?
        if self._reading_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(_431)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next bytes on this connection start the next request's head; its clock
        # starts with its first byte (uvicorn's keep-alive timeout covers the silence before).
        self._reading_head = True
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._reading_head and not self.transport.is_closing():
            self._refuse(_408)

    def _refuse(self, response: bytes) -> None:
        self._disarm_head_timer()
        self.transport.write(response)
        self.transport.close()


def bounded_protocol(*, max_header_bytes: int, header_timeout_s: float) -> type[BoundedHttpToolsProtocol]:
    """The protocol class to give ``uvicorn.Config(http=...)`` for these bounds."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"max_header_bytes": max_header_bytes, "header_timeout_s": header_timeout_s},
    )

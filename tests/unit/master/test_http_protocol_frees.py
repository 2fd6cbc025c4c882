"""A served request's scope and a closed connection are freed at once, not left to the garbage collector.

The scope once held the connection's protocol (its write-now entry) and the protocol the
scope: every request's scope, with what the app put in it, and every closed connection's
protocol and TLS objects were garbage only the collector's passes could free (about 22
objects a request, 49 a connection, in the master). With the collector off, what a
request put in its scope must be gone once its connection has closed.

Served by uvicorn on uvloop with the master's own protocol class, on a loopback port.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import weakref

import uvicorn
import uvloop

from master.apiserver.http_protocol import WRITE_NOW_KEY, bounded_protocol


class Marker:
    """Something a request keeps in its scope, weakly referable so a test can see it go."""


async def serve_two_requests_and_close(markers: list[weakref.ref[Marker]]) -> None:
    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        assert WRITE_NOW_KEY in scope
        marker = scope["test.marker"] = Marker()
        markers.append(weakref.ref(marker))
        del marker
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=bounded_protocol(max_header_bytes=1 << 20, header_timeout_s=30), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(2):  # two requests on one kept-alive connection
            writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            assert await reader.readexactly(2) == b"ok"
        writer.close()
        await writer.wait_closed()
        # The server sees the close on a later turn of its loop: wait for that, not for a time.
        for _ in range(500):
            if all(m() is None for m in markers):
                break
            await asyncio.sleep(0.01)
    finally:
        server.should_exit = True
        await serving


def test_a_request_scope_is_freed_without_the_collector() -> None:
    markers: list[weakref.ref[Marker]] = []
    gc.collect()
    gc.disable()
    try:
        uvloop.run(serve_two_requests_and_close(markers))
        alive = sum(m() is not None for m in markers)
    finally:
        gc.enable()
    assert len(markers) == 2
    assert alive == 0, f"{alive} of 2 request scopes live on until a garbage-collector pass"

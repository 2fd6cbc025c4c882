"""Opening an upgraded stream to a node agent: ``kajitori.streaming.link`` frames over the node's TLS port.

The request is written by hand on an asyncio TLS connection (the node's published
certificate is the only one trusted, and its address is checked), because an HTTP
client library would not hand over the socket after ``101 Switching Protocols``. An
answer other than 101 is the agent's Status, raised as an ``ApiError`` with its
message, so the caller reports it as kubectl expects.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlencode

import orjson

from kajitori.streaming import link
from master.apiserver import errors
from master.apiserver.node_proxy import AgentEndpoint

CONNECT_TIMEOUT_S = 10.0
MAX_HEAD = 64 * 1024


class AgentLink:
    """One open stream to an agent: read frames with `frames()`, write with `send()`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._frames = link.FrameReader()

    async def frames(self) -> list[tuple[int, bytes]]:
        """The next frames the agent sent; [] once it closed the stream."""
        while True:
            data = await self._reader.read(65536)
            if not data:
                return []
            got = list(self._frames.feed(data))
            if got:
                return got

    async def send(self, channel: int, payload: bytes = b"") -> None:
        self._writer.write(link.frame(channel, payload))
        await self._writer.drain()  # back-pressure: a slow pod slows the client

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ConnectionError):
            pass


async def open_link(endpoint: AgentEndpoint, path_parts: list[str], params: list[tuple[str, str]], authorization: str | None) -> AgentLink:
    path = "/" + "/".join(quote(p, safe="") for p in path_parts) + ("?" + urlencode(params) if params else "")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port, ssl=endpoint.ssl, server_hostname=endpoint.host, limit=1 << 20),
            CONNECT_TIMEOUT_S,
        )
    except (OSError, TimeoutError) as exc:
        why = f"no answer in {CONNECT_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else str(exc)
        raise errors.ApiError(502, "ServiceUnavailable", f"cannot reach the agent of node {endpoint.node} at {endpoint.host}:{endpoint.port}: {why}") from None
    raw = writer.get_extra_info("socket")
    if raw is not None:
        link.enable_keepalive(raw)
    head = [f"GET {path} HTTP/1.1", f"Host: {endpoint.host}:{endpoint.port}", f"Upgrade: {link.UPGRADE}", "Connection: Upgrade"]
    if authorization:
        head.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    try:
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT_S)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, TimeoutError) as exc:
        writer.close()
        why = f"no answer in {CONNECT_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise errors.ApiError(502, "ServiceUnavailable", f"the agent of node {endpoint.node} did not answer the stream request: {why}") from None
    parts = status_line.split(b" ", 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if code == 101:
        return AgentLink(reader, writer)
    try:
        body = await asyncio.wait_for(reader.read(MAX_HEAD), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError):
        body = b""
    writer.close()
    message = body.decode("utf-8", "replace")
    reason = "InternalError"
    try:
        status = orjson.loads(body)
        message, reason = str(status.get("message") or message), str(status.get("reason") or reason)
    except (orjson.JSONDecodeError, AttributeError):
        pass
    raise errors.ApiError(code if 400 <= code < 600 else 502, reason, message)

"""The client side of the API server's pod streams: one WebSocket (wsproto over asyncio) to
pods/NAME/exec, attach or portforward, with the kubeconfig's server, CA and token.

Every binary message's first byte is its channel (``kajitori.streaming.link``'s numbers);
this module moves whole messages and leaves the channels to its callers. asyncio, not
threads, owns the socket: one TLS connection must not be read and written from two
threads at once. A refused upgrade (a wrong pod or container) comes back as the
``ApiError`` of the server's Status, as any other API call.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlencode, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from kajitori.client import ApiError, ServerUnavailable, api_error
from kajitori.config import ClientConfig

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
_READ = 1 << 16


def _tls(config: ClientConfig) -> ssl.SSLContext:
    verify = config.ssl_context()
    if isinstance(verify, ssl.SSLContext):
        return verify
    context = ssl.create_default_context()
    if not verify:  # insecure-skip-tls-verify
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class PodSocket:
    """One open stream: whole binary messages in and out, pings answered."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: WSConnection, protocol: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._conn = conn
        self.protocol = protocol
        self._messages: deque[bytes] = deque()
        self._partial = bytearray()
        self._ended = False

    async def send(self, data: bytes) -> None:
        if self._ended:
            return
        try:
            self._writer.write(self._conn.send(Message(data=data)))
        except LocalProtocolError:  # the server has closed: nothing more to say
            return
        await self._writer.drain()

    async def receive(self) -> bytes | None:
        """The next message; None once the server has closed the stream."""
        while not self._messages:
            if self._ended:
                return None
            try:
                data = await self._reader.read(_READ)
            except (ConnectionError, ssl.SSLError):
                data = b""
            self._conn.receive_data(data or None)
            if not data:
                self._ended = True
            self._take_events()
        return self._messages.popleft()

    def _take_events(self) -> None:
        for event in self._conn.events():
            if isinstance(event, (BytesMessage, TextMessage)):
                self._partial += event.data if isinstance(event, BytesMessage) else event.data.encode()
                if event.message_finished:
                    self._messages.append(bytes(self._partial))
                    self._partial.clear()
            elif isinstance(event, Ping):
                self._writer.write(self._conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                try:
                    self._writer.write(self._conn.send(event.response()))
                except LocalProtocolError:
                    pass
                self._ended = True

    async def close(self) -> None:
        try:
            self._writer.write(self._conn.send(CloseConnection(code=1000)))
            await self._writer.drain()
        except (LocalProtocolError, ConnectionError, ssl.SSLError):
            pass
        self._ended = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def connect(
    config: ClientConfig,
    path: str,
    query: list[tuple[str, str]],
    protocols: list[str],
    *,
    timeout: float = 15.0,
) -> PodSocket:
    """Open ``path`` (``/api/v1/namespaces/NS/pods/NAME/exec``) as a WebSocket speaking one of ``protocols``."""
    server = urlsplit(config.server)
    secure = server.scheme == "https"
    host = server.hostname or "127.0.0.1"
    port = server.port or (443 if secure else 80)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=_tls(config) if secure else None, server_hostname=host if secure else None
            ),
            timeout,
        )
    except (TimeoutError, OSError) as exc:
        raise ServerUnavailable(
            f"cannot reach the master at {config.server}: {exc or type(exc).__name__}"
        ) from exc
    conn = WSConnection(ConnectionType.CLIENT)
    headers = [(b"authorization", f"Bearer {config.token}".encode())] if config.token else []
    target = server.path.rstrip("/") + path + ("?" + urlencode(query) if query else "")
    writer.write(
        conn.send(Request(host=server.netloc, target=target, subprotocols=protocols, extra_headers=headers))
    )
    try:
        return await asyncio.wait_for(_handshake(reader, writer, conn), timeout)
    except BaseException:
        writer.close()
        raise


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: WSConnection
) -> PodSocket:
    refused: RejectConnection | None = None
    body = bytearray()
    while True:
        data = await reader.read(_READ)
        conn.receive_data(data or None)
        for event in conn.events():
            if isinstance(event, AcceptConnection):
                return PodSocket(reader, writer, conn, event.subprotocol or "")
            if isinstance(event, RejectConnection):
                refused = event
                if not event.has_body:
                    raise api_error(event.status_code, b"")
            elif isinstance(event, RejectData):
                body += event.data
                if event.body_finished and refused is not None:
                    raise api_error(refused.status_code, bytes(body))
        if not data:
            raise ApiError(
                502,
                {
                    "reason": "ServiceUnavailable",
                    "message": "the master closed the connection during the upgrade",
                },
            )

"""kubectl's SPDY port-forward session (master.apiserver.spdy_portforward) against an in-memory WebSocket and a small TLS agent.

The agent here speaks the real agent link (TLS, ``101``, ``kajitori.streaming.link``
frames) on loopback: a connection to ``ECHO_PORT`` echoes what it is sent, one to
``STALL_PORT`` never answers its upgrade (an agent that connects slowly, or not at
all). The client side is built with the same SPDY framing kubectl's frames are read with.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.serving_cert import ensure_serving_cert
from kajitori.streaming import link, spdy
from master.apiserver.node_proxy import AgentEndpoint
from master.apiserver.spdy_portforward import SpdySession
from tests.unit.streaming.test_spdy import recorded_messages

ECHO_PORT = 8080
STALL_PORT = 9000
LIMIT_S = 60.0
"""How long a test waits for a frame it expects (a limit for a loaded machine, not a timing assert)."""


class MemoryWebSocket:
    """The face of starlette's WebSocket the session uses, fed and read by the test."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self.accepted: str | None = None

    async def accept(self, subprotocol: str | None = None) -> None:
        self.accepted = subprotocol

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_bytes(self, data: bytes) -> None:
        await self.outgoing.put(data)

    async def close(self, code: int = 1000) -> None:
        pass


@dataclass
class Client:
    """kubectl's side of the tunnel: frames out through its own compressor, frames in through a decoder."""

    ws: MemoryWebSocket
    encoder: spdy.Encoder = field(default_factory=spdy.Encoder)
    decoder: spdy.Decoder = field(default_factory=spdy.Decoder)
    seen: list[spdy.Frame] = field(default_factory=list)

    def send(self, raw: bytes) -> None:
        self.ws.incoming.put_nowait({"type": "websocket.receive", "bytes": raw})

    def open_stream(self, stream_id: int, kind: str, port: int, request_id: str) -> None:
        self.send(self.encoder.syn_stream(stream_id, {"streamtype": kind, "port": str(port), "requestid": request_id}))

    async def until(self, wanted: Any) -> spdy.Frame:
        """The first frame (seen before or arriving now) for which `wanted(frame)` holds."""
        index = 0
        async with asyncio.timeout(LIMIT_S):
            while True:
                while index < len(self.seen):
                    if wanted(self.seen[index]):
                        return self.seen[index]
                    index += 1
                self.seen += self.decoder.feed(await self.ws.outgoing.get())

    async def data_until(self, stream_id: int, wanted: bytes) -> bytes:
        got = b""
        index = 0
        async with asyncio.timeout(LIMIT_S):
            while wanted not in got:
                while index < len(self.seen):
                    frame = self.seen[index]
                    index += 1
                    if isinstance(frame, spdy.DataFrame) and frame.stream_id == stream_id:
                        got += frame.data
                if wanted not in got:
                    self.seen += self.decoder.feed(await self.ws.outgoing.get())
        return got


class Proxy:
    """The NodeProxy face the session uses: every pod is on one agent at `port`."""

    authorization = None

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port = port
        self.context = context

    def endpoint(self, resource: Any, namespace: str, name: str, container: str | None) -> AgentEndpoint:
        return AgentEndpoint("127.0.0.1", self.port, "", self.context, "node-under-test")


@asynccontextmanager
async def fake_agent(cert_dir: Path) -> AsyncIterator[Proxy]:
    cert = ensure_serving_cert(cert_dir, "node-under-test", "127.0.0.1")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert.cert_path, cert.key_path)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if f"port={STALL_PORT}".encode() in head:
                await asyncio.Event().wait()  # never answers
            writer.write(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: {link.UPGRADE}\r\nConnection: Upgrade\r\n\r\n".encode())
            frames = link.FrameReader()
            while data := await reader.read(65536):
                for channel, payload in frames.feed(data):
                    if channel == link.STDIN:
                        writer.write(link.frame(link.STDOUT, payload))
                    elif channel == link.CLOSE:
                        await writer.drain()
                        return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Proxy(port, ssl.create_default_context(cadata=cert.pem))
    finally:
        server.close()


@asynccontextmanager
async def session(proxy: Proxy, **settings: Any) -> AsyncIterator[Client]:
    ws = MemoryWebSocket()
    task = asyncio.ensure_future(SpdySession(ws, proxy, "default", "pod", **settings).run())  # type: ignore[arg-type]
    try:
        yield Client(ws)
    finally:
        ws.incoming.put_nowait({"type": "websocket.disconnect"})
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, LIMIT_S)


def is_frame(type_: int, stream_id: int = 0) -> Any:
    return lambda f: isinstance(f, spdy.ControlFrame) and f.type == type_ and (not stream_id or f.stream_id == stream_id)


def test_a_stream_whose_partner_never_comes_is_reset(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_agent(tmp_path) as proxy, session(proxy, pair_timeout_s=0.2) as client:
            client.open_stream(1, "error", ECHO_PORT, "0")  # the data stream of request 0 never follows
            await client.until(is_frame(spdy.SYN_REPLY, 1))
            reset = await client.until(is_frame(spdy.RST_STREAM, 1))
            assert isinstance(reset, spdy.ControlFrame) and reset.status == spdy.CANCEL
            assert b"timed out waiting for the data and error streams of request 0" in await client.data_until(1, b"timed out")
            # The session itself goes on: a complete pair afterwards is forwarded.
            client.open_stream(3, "error", ECHO_PORT, "1")
            client.open_stream(5, "data", ECHO_PORT, "1")
            client.send(client.encoder.data(5, b"hello"))
            await client.data_until(5, b"hello")

    asyncio.run(scenario())


def test_a_stalled_connection_stalls_neither_the_others_nor_the_pings(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_agent(tmp_path) as proxy, session(proxy, pair_buffer_bytes=1 << 20, pair_stall_s=0.5) as client:
            client.open_stream(1, "error", STALL_PORT, "0")
            client.open_stream(3, "data", STALL_PORT, "0")
            chunk = b"x" * 32 * 1024
            for _ in range(100):  # 3.2 MB for a connection whose agent never answers: more than its buffer
                client.send(client.encoder.data(3, chunk))
            client.send(client.encoder.ping(1))
            await client.until(is_frame(spdy.PING))
            client.open_stream(5, "error", ECHO_PORT, "1")
            client.open_stream(7, "data", ECHO_PORT, "1")
            client.send(client.encoder.data(7, b"still carried"))
            await client.data_until(7, b"still carried")
            # The stalled one was dropped when its buffer overflowed: its data stream reset, its error
            # stream ended without a message (kubectl would end the whole forward on one).
            await client.until(is_frame(spdy.RST_STREAM, 3))
            await client.until(lambda f: isinstance(f, spdy.DataFrame) and f.stream_id == 1 and f.fin)
            assert not [f for f in client.seen if isinstance(f, spdy.DataFrame) and f.stream_id == 1 and f.data]

    asyncio.run(scenario())


def test_kubectl_1_33s_recorded_opening_is_answered_and_forwarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fake_agent(tmp_path) as proxy, session(proxy) as client:
            for message in recorded_messages():  # as kubectl sent them, zlib stream and all
                client.send(message)
            await client.until(is_frame(spdy.SYN_REPLY, 1))
            await client.until(is_frame(spdy.SYN_REPLY, 3))
            assert await client.data_until(3, b"hello from the capture\n") == b"hello from the capture\n"

    asyncio.run(scenario())

"""kubectl's port-forward (1.31 and later): SPDY/3.1 frames tunnelled in a WebSocket (``SPDY/3.1+portforward.k8s.io``).

The WebSocket carries a plain byte stream (message boundaries mean nothing) in which
kubectl is the SPDY client and we are the server. For every local connection kubectl
opens two streams with the same ``requestid`` header — ``streamtype: error`` then
``streamtype: data``, both naming the pod ``port`` — and waits for a SYN_REPLY to each.
Once both are open, one agent connection into the pod's network namespace carries the
data both ways (kubectl's FIN on the data stream half-closes the pod's side; the pod's
end closes the data stream); a failure to connect is written on the error stream,
which kubectl prints as ``an error occurred forwarding L -> P: <message>``. PINGs are
echoed, a RST_STREAM ends its pair, GOAWAY or the socket's close ends everything.
Frames are encoded under one lock, in send order, because header compression is one
zlib stream for the whole connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from kajitori.api.registry import by_path
from kajitori.streaming import link, spdy
from master.apiserver import errors
from master.apiserver.agent_link import AgentLink, open_link
from master.apiserver.node_proxy import NodeProxy

log = logging.getLogger(__name__)

PODS = by_path("", "v1", "pods")
PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHUNK = 32 * 1024
PAIR_TIMEOUT_S = 30.0
"""How long a request's first stream waits for its partner (the kubelet's stream creation timeout)."""


@dataclass
class _Pair:
    request_id: str
    port: int
    error_id: int = 0
    data_id: int = 0
    inbound: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(maxsize=64))
    task: asyncio.Task[None] | None = None


class SpdySession:
    def __init__(self, ws: WebSocket, proxy: NodeProxy, namespace: str, name: str) -> None:
        self.ws = ws
        self.proxy = proxy
        self.namespace = namespace
        self.name = name
        self.encoder = spdy.Encoder()
        self.decoder = spdy.Decoder()
        self.lock = asyncio.Lock()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.last_stream = 0

    async def send(self, build: Callable[..., bytes], *args: Any, **kwargs: Any) -> None:
        """Encode (in send order: the header compressor is stateful) and send one frame."""
        async with self.lock:
            await self.ws.send_bytes(build(*args, **kwargs))

    async def run(self) -> None:
        await self.ws.accept(subprotocol=PROTOCOL)
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes") or (message.get("text") or "").encode()
                for frame in self.decoder.feed(data):
                    if not await self.handle(frame):
                        return
        except spdy.SpdyError as exc:
            log.warning("port-forward to %s/%s: %s", self.namespace, self.name, exc)
            with suppress(RuntimeError, WebSocketDisconnect):
                await self.send(self.encoder.goaway, self.last_stream, 1)
        finally:
            for pair in list(self.pairs.values()):
                self._drop(pair)
            with suppress(RuntimeError, WebSocketDisconnect):
                await self.ws.close(1000)

    async def handle(self, frame: spdy.Frame) -> bool:
        """Act on one frame; False ends the session."""
        if isinstance(frame, spdy.DataFrame):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and frame.stream_id == pair.data_id:
                if frame.data:
                    await pair.inbound.put(frame.data)
                if frame.fin:
                    await pair.inbound.put(None)
            return True
        if frame.type == spdy.SYN_STREAM:
            await self._open_stream(frame)
        elif frame.type == spdy.PING:
            await self.send(self.encoder.ping, frame.ping_id)
        elif frame.type == spdy.RST_STREAM:
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None:
                self._drop(pair)
        elif frame.type == spdy.GOAWAY:
            return False
        return True

    async def _open_stream(self, frame: spdy.ControlFrame) -> None:
        self.last_stream = max(self.last_stream, frame.stream_id)
        headers = frame.headers
        kind, request_id, raw_port = headers.get("streamtype"), headers.get("requestid", ""), headers.get("port", "")
        if kind not in ("error", "data") or not raw_port.isdigit():
            await self.send(self.encoder.rst_stream, frame.stream_id, spdy.PROTOCOL_ERROR)
            return
        await self.send(self.encoder.syn_reply, frame.stream_id)
        pair = self.pairs.setdefault(request_id, _Pair(request_id, int(raw_port)))
        if kind == "error":
            pair.error_id = frame.stream_id
        else:
            pair.data_id = frame.stream_id
        self.by_stream[frame.stream_id] = pair
        if pair.error_id and pair.data_id and pair.task is None:
            pair.task = asyncio.ensure_future(self._forward(pair))

    def _drop(self, pair: _Pair) -> None:
        self.pairs.pop(pair.request_id, None)
        for stream_id in (pair.error_id, pair.data_id):
            self.by_stream.pop(stream_id, None)
        if pair.task is not None:
            pair.task.cancel()

    async def _forward(self, pair: _Pair) -> None:
        agent: AgentLink | None = None
        try:
            try:
                endpoint = self.proxy.endpoint(PODS, self.namespace, self.name, None)
                agent = await open_link(endpoint, ["portForward", self.namespace, self.name], [("port", str(pair.port))], self.proxy.authorization)
            except errors.ApiError as exc:
                await self.send(self.encoder.data, pair.error_id, exc.message.encode())
                await self.send(self.encoder.data, pair.error_id, b"", fin=True)
                await self.send(self.encoder.data, pair.data_id, b"", fin=True)
                return
            await self._pump(pair, agent)
            await self.send(self.encoder.data, pair.data_id, b"", fin=True)
            await self.send(self.encoder.data, pair.error_id, b"", fin=True)
        except (RuntimeError, WebSocketDisconnect, OSError):
            pass  # the client went away: the session's loop ends and drops every pair
        finally:
            if agent is not None:
                await agent.close()
            # Frames still arriving for this pair are dropped from now on, never queued.
            self.pairs.pop(pair.request_id, None)
            for stream_id in (pair.error_id, pair.data_id):
                self.by_stream.pop(stream_id, None)

    async def _pump(self, pair: _Pair, agent: AgentLink) -> None:
        async def to_pod() -> None:
            while (data := await pair.inbound.get()) is not None:
                await agent.send(link.STDIN, data)
            await agent.send(link.CLOSE, bytes([link.STDIN]))
            await asyncio.Event().wait()  # the pod's side decides when the connection ends

        async def from_pod() -> None:
            while frames := await agent.frames():
                for channel, payload in frames:
                    if channel == link.STDOUT:
                        for start in range(0, len(payload), CHUNK):
                            await self.send(self.encoder.data, pair.data_id, payload[start : start + CHUNK])

        tasks = [asyncio.ensure_future(to_pod()), asyncio.ensure_future(from_pod())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await task


async def serve(ws: WebSocket, proxy: NodeProxy, namespace: str, name: str) -> None:
    await SpdySession(ws, proxy, namespace, name).run()

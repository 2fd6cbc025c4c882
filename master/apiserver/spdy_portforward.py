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

No connection can stall the session. SPDY as kubectl speaks it has no per-stream flow
control (its library ignores WINDOW_UPDATE): the one back-pressure there is, not reading
the WebSocket, holds every connection and the PINGs at once. So each connection
buffers up to ``PAIR_BUFFER_BYTES`` of the client's data that its pod has not taken yet
(while its agent connection is being made, or while the pod reads slowly) without the
reader ever waiting. Only a connection past that bound makes the reader wait, and only
while its pod keeps taking data (a large upload is paced by the pod, as it should be);
one whose pod takes nothing for ``PAIR_STALL_S`` is dropped (RST_STREAM on its data
stream, the reason in the log), and the reader goes on with the others. A stream whose
partner has not arrived within ``PAIR_TIMEOUT_S`` is reset, as the kubelet does, so it
is not held for the whole session.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
PAIR_BUFFER_BYTES = 8 * 1024 * 1024
"""What one connection may hold of the client's data that its pod has not taken yet."""
PAIR_STALL_S = 5.0
"""How long a connection over its buffer may take nothing before it is dropped."""


class _Inbound:
    """A connection's data on its way to the pod: never blocks the putter, counts its bytes; None ends it."""

    def __init__(self) -> None:
        self._items: deque[bytes | None] = deque()
        self._ready = asyncio.Event()
        self._taken = asyncio.Event()
        self.bytes = 0

    def put(self, item: bytes | None) -> None:
        self._items.append(item)
        self.bytes += len(item or b"")
        self._ready.set()

    async def get(self) -> bytes | None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        self.bytes -= len(item or b"")
        self._taken.set()
        return item

    def wake(self) -> None:
        """Ends a wait in `taken` (the consumer is gone)."""
        self._taken.set()

    async def taken(self) -> None:
        """Until the consumer takes the next item (or is gone)."""
        self._taken.clear()
        await self._taken.wait()


@dataclass
class _Pair:
    request_id: str
    port: int
    error_id: int = 0
    data_id: int = 0
    inbound: _Inbound = field(default_factory=_Inbound)
    task: asyncio.Task[None] | None = None
    expiry: asyncio.Task[None] | None = None
    """Resets the pair if its partner stream does not arrive in time."""


class SpdySession:
    def __init__(
        self,
        ws: WebSocket,
        proxy: NodeProxy,
        namespace: str,
        name: str,
        *,
        pair_timeout_s: float = PAIR_TIMEOUT_S,
        pair_buffer_bytes: int = PAIR_BUFFER_BYTES,
        pair_stall_s: float = PAIR_STALL_S,
    ) -> None:
        self.ws = ws
        self.proxy = proxy
        self.namespace = namespace
        self.name = name
        self.pair_timeout_s = pair_timeout_s
        self.pair_buffer_bytes = pair_buffer_bytes
        self.pair_stall_s = pair_stall_s
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
                if not await self._room_for(pair, len(frame.data)):
                    await self._overflow(pair)
                    return True
                if self.by_stream.get(frame.stream_id) is not pair:
                    return True  # its forward ended while we waited
                if frame.data:
                    pair.inbound.put(frame.data)
                if frame.fin:
                    pair.inbound.put(None)
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
        if pair.error_id and pair.data_id:
            if pair.expiry is not None:
                pair.expiry.cancel()
            if pair.task is None:
                pair.task = asyncio.ensure_future(self._forward(pair))
        elif pair.expiry is None:
            pair.expiry = asyncio.ensure_future(self._expire(pair))

    async def _expire(self, pair: _Pair) -> None:
        """Reset a request's lone stream whose partner never came (the kubelet's stream creation timeout)."""
        await asyncio.sleep(self.pair_timeout_s)
        if self.pairs.get(pair.request_id) is not pair or (pair.error_id and pair.data_id):
            return
        pair.expiry = None  # this task is ending: _drop must not cancel it mid-send
        self._drop(pair)
        log.info("port-forward to %s/%s: request %s timed out waiting for its streams", self.namespace, self.name, pair.request_id)
        with suppress(RuntimeError, WebSocketDisconnect, OSError):
            if pair.error_id:
                message = f"timed out waiting for the data and error streams of request {pair.request_id}"
                await self.send(self.encoder.data, pair.error_id, message.encode())
            for stream_id in (pair.error_id, pair.data_id):
                if stream_id:
                    await self.send(self.encoder.rst_stream, stream_id, spdy.CANCEL)

    async def _room_for(self, pair: _Pair, size: int) -> bool:
        """Wait while an over-full connection's pod takes its data; False once it took nothing for pair_stall_s."""
        while pair.inbound.bytes and pair.inbound.bytes + size > self.pair_buffer_bytes:
            if self.by_stream.get(pair.data_id) is not pair or (pair.task is not None and pair.task.done()):
                return True  # no longer forwarded: the caller drops the frame
            try:
                await asyncio.wait_for(pair.inbound.taken(), self.pair_stall_s)
            except TimeoutError:
                return False
        return True

    async def _overflow(self, pair: _Pair) -> None:
        """Drop a connection whose pod does not take its data: the others must not wait for it.

        Only its data stream is reset and its error stream ended empty: kubectl (>= 1.29)
        ends the whole port-forward on any message on an error stream, and the point is
        that the other connections go on. The reason is in the master's log.
        """
        self._drop(pair)
        log.warning(
            "port-forward to %s/%s port %d: dropping request %s, whose pod has not taken %d bytes (more than %d)",
            self.namespace, self.name, pair.port, pair.request_id, pair.inbound.bytes, self.pair_buffer_bytes,
        )  # fmt: skip
        await self.send(self.encoder.data, pair.error_id, b"", fin=True)
        await self.send(self.encoder.rst_stream, pair.data_id, spdy.CANCEL)

    def _drop(self, pair: _Pair) -> None:
        self._unlist(pair)
        for task in (pair.task, pair.expiry):
            if task is not None:
                task.cancel()
        pair.inbound.wake()

    def _unlist(self, pair: _Pair) -> None:
        """Forget the pair's request and streams (only its own: a later pair may reuse the request id)."""
        if self.pairs.get(pair.request_id) is pair:
            del self.pairs[pair.request_id]
        for stream_id in (pair.error_id, pair.data_id):
            if self.by_stream.get(stream_id) is pair:
                del self.by_stream[stream_id]

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
            self._unlist(pair)  # frames still arriving for this pair are dropped from now on, never queued
            pair.inbound.wake()

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

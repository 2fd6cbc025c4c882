"""The framing of one upgraded connection between the API server and a node agent.

After ``101 Switching Protocols`` on the agent's port, both sides send frames of
``channel (1 byte) | length (4 bytes, big-endian) | payload``. The channel numbers are
Kubernetes' own remote-command channels, so the master relays a WebSocket message by
re-framing it, never by translating it:

    0 stdin / data to the pod        (master -> agent)
    1 stdout / data from the pod     (agent -> master)
    2 stderr                         (agent -> master)
    3 status / error                 (agent -> master; one metav1.Status JSON for exec)
    4 resize {"Width","Height"}      (master -> agent)
    255 close: payload is the channel whose sending has ended (half-close, either way)

The agent ends a session by closing the connection after its last frame. Both ends turn on
TCP keepalive on the link (``enable_keepalive``): a node that vanishes (powered off, its
network gone) sends no FIN or RST, and an idle exec would otherwise wait on it forever;
with keepalive its socket fails after about ``KEEPALIVE_IDLE_S + KEEPALIVE_COUNT *
KEEPALIVE_INTERVAL_S`` and the session ends on both sides it still has.
"""

from __future__ import annotations

import socket
import struct
from asyncio.trsock import TransportSocket
from collections.abc import Iterator
from typing import Any

import orjson

STDIN = 0
STDOUT = 1
STDERR = 2
STATUS = 3
RESIZE = 4
CLOSE = 255

UPGRADE = "kajitori-stream/1"
"""The ``Upgrade`` token the master asks the agent's port for."""

_HEADER = struct.Struct(">BI")
MAX_FRAME = 1 << 20
"""A frame larger than this is a broken peer, not data (readers send at most 64 KiB)."""


KEEPALIVE_IDLE_S = 15
"""Idle time before the first probe (Go's default dialer keepalive, which the kubelet's links use)."""
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
USER_TIMEOUT_S = 30
"""How long sent data may stay unacknowledged before the socket fails (keepalive is not sent while data is in flight)."""


def enable_keepalive(sock: socket.socket | TransportSocket) -> None:
    """TCP keepalive (and a bound on unacknowledged data) on one link socket, so a vanished peer ends it."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ("TCP_USER_TIMEOUT", USER_TIMEOUT_S * 1000),
    ):
        if hasattr(socket, option):  # Linux names; elsewhere the system's defaults stay
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class LinkError(Exception):
    """The peer sent something that is not a frame."""


def frame(channel: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(channel, len(payload)) + payload


class FrameReader:
    """Cuts a byte stream into frames, however the bytes arrive."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._pending += data
        while len(self._pending) >= _HEADER.size:
            channel, size = _HEADER.unpack_from(self._pending)
            if size > MAX_FRAME:
                raise LinkError(f"a frame of {size} bytes on channel {channel}")
            end = _HEADER.size + size
            if len(self._pending) < end:
                return
            payload = bytes(self._pending[_HEADER.size : end])
            del self._pending[:end]
            yield channel, payload


def exit_status(code: int) -> bytes:
    """The metav1.Status that ends an exec: Success, or NonZeroExitCode with the code as kubectl reads it."""
    if code == 0:
        return orjson.dumps({"metadata": {}, "status": "Success"})
    body: dict[str, Any] = {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }
    return orjson.dumps(body)


def failure_status(message: str, reason: str = "InternalError") -> bytes:
    return orjson.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": reason})

"""Forwarding local TCP ports to a pod's ports through the API server (v4.channel.k8s.io), client side.

As the official client does, each accepted local connection gets its own WebSocket to
pods/NAME/portforward?ports=REMOTE: channel 0 carries the data both ways and channel 1
the pod side's errors (a refused connection); the first message on each channel is the
port number (little-endian uint16), not data. The WebSocket ending (the pod closed its
side) closes the local connection; the local connection ending closes the WebSocket.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from kajitori.client import ApiError
from kajitori.config import ClientConfig
from kajitori.streaming.client import V4, PodSocket, connect
from kajitori.streaming.remote_command import pod_path

Say = Callable[[str], None]
_DATA, _ERROR = 0, 1


@dataclass(frozen=True)
class Mapping:
    local: int
    """0: any free port (the one bound is what ``Forwarding from`` says)."""
    remote: int


@dataclass(frozen=True)
class ListenAddress:
    host: str
    required: bool
    """False for what ``localhost`` stands for: one of them failing (no IPv6 here) is only a warning."""


def listen_addresses(raw: str) -> list[ListenAddress]:
    """kubectl's ``--address``: a comma list of IP addresses and ``localhost`` (127.0.0.1 and ::1)."""
    found: list[ListenAddress] = []
    for part in (p.strip() for p in raw.split(",")):
        if part == "localhost":
            found += [ListenAddress("127.0.0.1", required=False), ListenAddress("::1", required=False)]
            continue
        try:
            ipaddress.ip_address(part)
        except ValueError:
            raise ValueError(f"{part} is not a valid IP") from None
        found.append(ListenAddress(part, required=True))
    required: dict[str, bool] = {}  # in order, once each
    for address in found:
        required[address.host] = required.get(address.host, False) or address.required
    return [ListenAddress(host, must) for host, must in required.items()]


class Forwarder:
    """Listens on every address for each mapping until ``stop`` is set."""

    def __init__(
        self, config: ClientConfig, namespace: str, pod: str, addresses: list[ListenAddress], *, say: Say, warn: Say
    ) -> None:
        self.config = config
        self.path = pod_path(namespace, pod, "portforward")
        self.addresses = addresses
        self.say = say
        self.warn = warn

    async def serve(self, mappings: list[Mapping], stop: asyncio.Event) -> None:
        servers: list[asyncio.Server] = []
        try:
            for mapping in mappings:
                servers += await self._listen(mapping)
            await stop.wait()
        finally:
            for server in servers:
                server.close()

    async def _listen(self, mapping: Mapping) -> list[asyncio.Server]:
        """One listener per address on the mapping's port (a free port: the one the first got), as kubectl."""
        servers: list[asyncio.Server] = []
        port = mapping.local
        failures: list[str] = []
        for address in self.addresses:
            host = f"[{address.host}]" if ":" in address.host else address.host
            try:
                server = await asyncio.start_server(self._handler(mapping), address.host, port)
            except OSError as exc:
                if address.required:
                    raise
                failures.append(f"unable to create listener: Error listen tcp {host}:{port}: {exc.strerror or exc}")
                continue
            servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.say(f"Forwarding from {host}:{port} -> {mapping.remote}")
        if not servers:
            raise OSError(f"unable to listen on any of the requested ports: [{mapping.local}:{mapping.remote}]")
        for failure in failures:
            self.warn(f"Unable to listen on port {port}: {failure}")
        return servers

    def _handler(self, mapping: Mapping) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            local = writer.get_extra_info("sockname")[1]
            self.say(f"Handling connection for {local}")
            try:
                socket = await connect(self.config, self.path, [("ports", str(mapping.remote))], [V4])
            except ApiError as exc:
                self.warn(f"error: an error occurred forwarding {local} -> {mapping.remote}: {exc.message}")
                writer.close()
                return
            try:
                await self._relay(socket, reader, writer, local, mapping.remote)
            finally:
                await socket.close()
                writer.close()
                with suppress(ConnectionError):
                    await writer.wait_closed()

        return handle

    async def _relay(
        self,
        socket: PodSocket,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        local: int,
        remote: int,
    ) -> None:
        async def to_pod() -> None:
            with suppress(ConnectionError):
                while chunk := await reader.read(1 << 16):
                    await socket.send(bytes([_DATA]) + chunk)

        sending = asyncio.ensure_future(to_pod())
        headers_seen: set[int] = set()
        try:
            while (message := await socket.receive()) is not None:
                if not message:
                    continue
                channel, payload = message[0], message[1:]
                if channel not in headers_seen:  # the port number that opens each channel
                    headers_seen.add(channel)
                    continue
                if channel == _DATA:
                    writer.write(payload)
                    await writer.drain()
                elif channel == _ERROR and payload:
                    self.warn(
                        f"error: an error occurred forwarding {local} -> {remote}: {payload.decode(errors='replace')}"
                    )
                    return
        except ConnectionError:
            return
        finally:
            sending.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await sending

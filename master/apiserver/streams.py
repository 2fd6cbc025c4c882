"""Interactive pod streams over WebSocket: exec and attach (v5/v4 channels) and port-forward.

    GET .../pods/NAME/exec?command=..&container=&stdin=&stdout=&stderr=&tty=   v5.channel.k8s.io (kubectl >= 1.30),
                                                                             v4.channel.k8s.io (official client)
    GET .../pods/NAME/portforward?ports=80,443                               v4.channel.k8s.io (official client),
                                                                             SPDY/3.1+portforward.k8s.io (kubectl >= 1.31,
                                                                             master.apiserver.spdy_portforward)

Every binary message's first byte is its channel: 0 stdin, 1 stdout, 2 stderr, 3 status
(one metav1.Status), 4 resize; in v5 the client's ``[255, 0]`` closes stdin. Only the
streams asked for are attached (``stdout=false`` or ``stderr=false`` leaves that one out; a
TTY has no stderr; asking for none is a 400, as the kubelet answers). The pod,
container and node are checked, and the agent's stream opened, before the WebSocket
is accepted, so a wrong name is a plain HTTP Status (``unable to upgrade connection:
container not found ("x")`` in kubectl). Each message is re-framed onto the agent link
(``master.apiserver.agent_link``) with back-pressure both ways; the session ends when
the agent closes (after the status) or the client goes away, and either ending closes
the other side. Port-forward (v4) gives port i the channels 2i (data) and 2i+1
(errors), each opened by the port as little-endian uint16, and one agent connection.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from contextlib import suppress

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from kajitori.api.registry import by_path
from kajitori.streaming import link
from master.apiserver import errors
from master.apiserver.agent_link import AgentLink, open_link
from master.apiserver.app import error_response
from master.apiserver.authn import UserInfo
from master.apiserver.gate import AUTH_ERROR, USER
from master.apiserver.node_proxy import NodeProxy, stream_url

log = logging.getLogger(__name__)

PODS = by_path("", "v1", "pods")
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
EXEC_PROTOCOLS = (V5, V4)
PORTFORWARD_PROTOCOLS = (SPDY_TUNNEL, V4)

SpdyServer = Callable[[WebSocket, NodeProxy, str, str], Awaitable[None]]


async def deny(ws: WebSocket, exc: errors.ApiError) -> None:
    """Refuse the upgrade with a Status, as kube-apiserver answers a bad exec request."""
    await ws.send_denial_response(error_response(exc))


def choose_protocol(ws: WebSocket, served: tuple[str, ...]) -> str:
    offered = [p.strip() for p in ws.scope.get("subprotocols") or []]
    for protocol in served:
        if protocol in offered:
            return protocol
    raise errors.bad_request(f"no supported WebSocket subprotocol among {offered}: this server speaks {', '.join(served)}")


def install(app: FastAPI, streams: PodStreams) -> None:
    async def pod_stream(websocket: WebSocket, namespace: str, name: str, sub: str) -> None:
        await streams(websocket, namespace, name, sub)

    app.add_api_websocket_route("/api/v1/namespaces/{namespace}/pods/{name}/{sub}", pod_stream)


class PodStreams:
    """The WebSocket face of pods/exec, pods/attach and pods/portforward."""

    def __init__(self, proxy: NodeProxy, spdy: SpdyServer | None = None) -> None:
        self.proxy = proxy
        self.spdy = spdy

    def _user(self, ws: WebSocket) -> str:
        """The user the gates let through (``master.apiserver.gate``), or the refusal they left."""
        refusal = ws.scope.get(AUTH_ERROR)
        if isinstance(refusal, errors.ApiError):
            raise refusal
        user = ws.scope.get(USER)
        return user.name if isinstance(user, UserInfo) else "anonymous"

    async def __call__(self, ws: WebSocket, namespace: str, name: str, sub: str) -> None:
        try:
            user = self._user(ws)
            if sub in ("exec", "attach"):
                await self._exec(ws, user, namespace, name, sub)
            elif sub == "portforward":
                await self._port_forward(ws, user, namespace, name)
            else:
                raise errors.ApiError(404, "NotFound", f"pods/{sub} is not served over WebSocket")
        except errors.ApiError as exc:
            if ws.client_state == WebSocketState.CONNECTING:
                self.proxy.refusals.remember(ws.client.host if ws.client else "", stream_url(ws.url.path, ws.url.query), exc)
            await _end(ws, exc)
        except Exception as exc:
            # Never a traceback to a client; the log has it.
            log.error("pods/%s stream of %s/%s failed", sub, namespace, name, exc_info=exc)
            await _end(ws, errors.ApiError(500, "InternalError", f"an internal error occurred: {type(exc).__name__}"))

    async def _exec(self, ws: WebSocket, user: str, namespace: str, name: str, sub: str) -> None:
        protocol = choose_protocol(ws, EXEC_PROTOCOLS)
        query = ws.query_params
        command = query.getlist("command")
        if not command and sub == "exec":
            raise errors.bad_request("you must specify at least one command for the container")
        stdin, tty = parse_bool(query.get("stdin"), False), parse_bool(query.get("tty"), False)
        stdout, stderr = parse_bool(query.get("stdout"), True), parse_bool(query.get("stderr"), True)
        if tty and stderr:
            stderr = False  # a terminal has one output, as the kubelet decides
        if not (stdin or stdout or stderr):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        endpoint = self.proxy.endpoint(PODS, namespace, name, query.get("container") or None)
        flags = {"stdin": stdin, "stdout": stdout, "stderr": stderr, "tty": tty}
        params = [("command", c) for c in command] + [(k, "true" if v else "false") for k, v in flags.items()]
        agent = await open_link(endpoint, [sub, namespace, name, endpoint.container], params, self.proxy.authorization)
        log.info("%s %s in %s/%s/%s by %s (%s)", sub, command, namespace, name, endpoint.container, user, protocol)
        await ws.accept(subprotocol=protocol)
        await _relay_exec(ws, agent, v5=protocol == V5)

    async def _port_forward(self, ws: WebSocket, user: str, namespace: str, name: str) -> None:
        protocol = choose_protocol(ws, PORTFORWARD_PROTOCOLS if self.spdy is not None else (V4,))
        endpoint = self.proxy.endpoint(PODS, namespace, name, None)  # checks the pod and its node first
        if protocol == SPDY_TUNNEL and self.spdy is not None:
            log.info("port-forward to %s/%s by %s (%s)", namespace, name, user, protocol)
            await self.spdy(ws, self.proxy, namespace, name)
            return
        ports = parse_ports(ws.query_params.get("ports") or "")
        log.info("port-forward to %s/%s ports %s by %s (%s)", namespace, name, ports, user, protocol)
        await ws.accept(subprotocol=protocol)
        await _relay_ports(ws, self.proxy, endpoint.host, namespace, name, ports)


async def _end(ws: WebSocket, exc: errors.ApiError) -> None:
    """A refused upgrade before the handshake, a closed socket after it."""
    if ws.client_state == WebSocketState.CONNECTING:
        await deny(ws, exc)
    else:
        with suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(1011, exc.message[:120])


def parse_bool(raw: str | None, default: bool) -> bool:
    """A query flag as Kubernetes reads it (Go's strconv.ParseBool: 1, t, true, True, TRUE...); absent is the default."""
    if raw is None or raw == "":
        return default
    if raw in ("1", "t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("0", "f", "F", "false", "False", "FALSE"):
        return False
    raise errors.bad_request(f"invalid boolean value {raw!r}")


def parse_ports(raw: str) -> list[int]:
    ports: list[int] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if not part.isdigit() or not 0 < int(part) < 65536:
            raise errors.bad_request(f"invalid port {part!r}: ports must be between 1 and 65535")
        ports.append(int(part))
    if not ports:
        raise errors.bad_request('query parameter "ports" is required')
    return ports


async def _first_done(*coroutines: Awaitable[None]) -> None:
    """Run until one finishes; cancel the rest (either side ending ends the session)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task


async def _receive(ws: WebSocket) -> bytes | None:
    """The next message's bytes (text is taken as UTF-8); None once the client is gone."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    data = message.get("bytes")
    if data is None:
        data = (message.get("text") or "").encode()
    return bytes(data)


async def _relay_exec(ws: WebSocket, agent: AgentLink, *, v5: bool) -> None:
    async def from_client() -> None:
        while (data := await _receive(ws)) is not None:
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == link.STDIN:
                await agent.send(link.STDIN, payload)
            elif channel == link.RESIZE:
                await agent.send(link.RESIZE, payload)
            elif channel == link.CLOSE and v5:
                await agent.send(link.CLOSE, payload)

    async def from_agent() -> None:
        while frames := await agent.frames():
            for channel, payload in frames:
                if channel in (link.STDOUT, link.STDERR, link.STATUS):
                    await ws.send_bytes(bytes([channel]) + payload)

    try:
        await _first_done(from_client(), from_agent())
    finally:
        await agent.close()
        with suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(1000)


async def _relay_ports(ws: WebSocket, proxy: NodeProxy, host: str, namespace: str, name: str, ports: list[int]) -> None:
    for index, port in enumerate(ports):
        prefix = struct.pack("<H", port)
        await ws.send_bytes(bytes([2 * index]) + prefix)
        await ws.send_bytes(bytes([2 * index + 1]) + prefix)
    agents: list[AgentLink | None] = []
    for index, port in enumerate(ports):
        try:
            endpoint = proxy.endpoint(PODS, namespace, name, None)
            agents.append(await open_link(endpoint, ["portForward", namespace, name], [("port", str(port))], proxy.authorization))
        except errors.ApiError as exc:
            agents.append(None)
            await ws.send_bytes(bytes([2 * index + 1]) + exc.message.encode())

    async def from_client() -> None:
        while (data := await _receive(ws)) is not None:
            if not data or data[0] % 2:
                continue
            index = data[0] // 2
            target = agents[index] if index < len(agents) else None
            if target is not None:
                await target.send(link.STDIN, data[1:])

    async def from_agent(index: int, agent: AgentLink) -> None:
        while frames := await agent.frames():
            for channel, payload in frames:
                if channel == link.STDOUT:
                    await ws.send_bytes(bytes([2 * index]) + payload)

    async def all_ports() -> None:
        await asyncio.gather(*(from_agent(i, a) for i, a in enumerate(agents) if a is not None))

    try:
        await _first_done(from_client(), all_ports())
    finally:
        for agent in agents:
            if agent is not None:
                await agent.close()
        with suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(1000)

"""The agent's streaming endpoints: an exec session or a port-forward connection per upgraded request.

    GET /exec/{ns}/{pod}/{container}?command=..&command=..&stdin=&stdout=&stderr=&tty=   Upgrade: kajitori-stream/1
    GET /attach/{ns}/{pod}/{container}?stdin=&stdout=&stderr=            the main process's stdio (exit: the container's)
    GET /portForward/{ns}/{pod}?port=N                                   Upgrade: kajitori-stream/1

Before the ``101`` every failure is an ordinary Status reply (the master turns it into
what the client expects); after it the connection carries ``kajitori.streaming.link``
frames. An exec ends with one status frame (the exit code as metav1.Status) and the
close; a port-forward connection ends when either side closes, and the master's half-
close of the pod's input is passed on as ``shutdown(SHUT_WR)``, so request/response
protocols see their EOF. Each session is logged with who asked and what.
"""

from __future__ import annotations

import io
import logging
import socket
from email.message import Message
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from agent.docker_streams import Demultiplexer, StreamRuntime
from agent.pod_netns import NetnsError, connect_in_netns
from agent.runtime import ContainerRuntimeError, ContainerState, PodUID
from agent.stream_relay import relay
from kajitori.streaming import link


class StreamRequest(Protocol):
    """What these endpoints use of the agent server's request handler (agent.server._Handler)."""

    path: str
    headers: Message
    wfile: io.BufferedIOBase
    connection: socket.socket
    client_address: tuple[str, int]
    agent: Any
    """The AgentServer: `streams`, `runtime`, `lookup`, `find_container`."""

    def authorized(self, namespace: str, pod: str) -> bool: ...

    def _status(self, code: int, message: str) -> None: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...

log = logging.getLogger(__name__)

_TRUE = ("1", "t", "true", "yes")


def _flag(query: dict[str, list[str]], name: str, default: bool = False) -> bool:
    values = query.get(name)
    return values[-1].lower() in _TRUE if values else default


def is_stream_request(handler: StreamRequest) -> bool:
    return (handler.headers.get("Upgrade") or "").strip().lower() == link.UPGRADE


def serve(handler: StreamRequest) -> None:
    split = urlsplit(handler.path)
    parts = [unquote(p) for p in split.path.split("/") if p]
    query = parse_qs(split.query)
    streams = handler.agent.streams
    if streams is None:
        handler._status(404, "this agent's runtime serves no interactive streams")
        return
    if len(parts) == 4 and parts[0] in ("exec", "attach"):
        if handler.authorized(parts[1], parts[2]):
            _exec(handler, streams, parts[1], parts[2], parts[3], query, attach=parts[0] == "attach")
        return
    if len(parts) == 3 and parts[0] == "portForward":
        if handler.authorized(parts[1], parts[2]):
            _port_forward(handler, streams, parts[1], parts[2], query)
        return
    handler._status(404, f"no such stream path {split.path}")


def _switch(handler: StreamRequest) -> socket.socket:
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", link.UPGRADE)
    handler.send_header("Connection", "Upgrade")
    handler.end_headers()
    handler.wfile.flush()
    conn: socket.socket = handler.connection
    link.enable_keepalive(conn)  # a master that vanishes mid-session must not hold the exec forever
    return conn


def _exec(
    handler: StreamRequest, streams: StreamRuntime, namespace: str, pod: str, container: str, query: dict[str, list[str]], *, attach: bool
) -> None:
    command = ["(attach)"] if attach else query.get("command") or []
    if not command:
        handler._status(400, "you must specify at least one command for the container")
        return
    stdin, tty = _flag(query, "stdin"), _flag(query, "tty")
    stdout, stderr = _flag(query, "stdout", True), _flag(query, "stderr", True)
    found = handler.agent.find_container(namespace, pod, container, previous=False)
    if found is None or found.state != ContainerState.RUNNING:
        handler._status(404, f'container not found ("{container}")')
        return
    try:
        if attach:
            session = streams.start_attach(found.id, stdin=stdin, stdout=stdout, stderr=stderr)
        else:
            session = streams.start_exec(found.id, command, stdin=stdin, tty=tty, stdout=stdout, stderr=stderr)
    except ContainerRuntimeError as exc:
        handler._status(500, str(exc))
        return
    log.info(
        "exec %s in %s/%s/%s (stdin=%s stdout=%s stderr=%s tty=%s) for %s",
        command, namespace, pod, container, stdin, stdout, stderr, tty, handler.client_address[0],
    )  # fmt: skip
    conn = _switch(handler)
    demux = Demultiplexer()

    def output(data: bytes) -> list[bytes]:
        if session.tty:
            return [link.frame(link.STDOUT, data)]
        return [link.frame(channel, payload) for channel, payload in demux.feed(data)]

    def control(channel: int, payload: bytes) -> None:
        if channel != link.RESIZE:
            return
        try:
            size: Any = orjson.loads(payload)
            streams.resize_exec(session, int(size.get("Width") or 0), int(size.get("Height") or 0))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError, ContainerRuntimeError) as exc:
            log.debug("ignoring a resize of exec %s: %s", session.exec_id, exc)

    try:
        ended = relay(conn, session.sock, output=output, control=control, early=session.early)
    finally:
        session.sock.close()
    if ended == "gone":
        log.info("exec %s in %s/%s/%s: the client went away", command, namespace, pod, container)
        try:
            streams.end_exec(session)
        except ContainerRuntimeError as exc:
            log.warning("cannot end exec %s: %s", session.exec_id, exc)
        return
    try:
        code = streams.exec_exit_code(session)
    except ContainerRuntimeError as exc:
        status = link.failure_status(f"reading the exit code: {exc}")
    else:
        status = link.exit_status(code) if code is not None else link.failure_status("the command's exit code is unknown")
    try:
        conn.sendall(link.frame(link.STATUS, status))
    except OSError:
        pass


def _port_forward(handler: StreamRequest, streams: StreamRuntime, namespace: str, pod: str, query: dict[str, list[str]]) -> None:
    raw_port = (query.get("port") or [""])[-1]
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        handler._status(400, f"invalid port {raw_port!r}")
        return
    port = int(raw_port)
    uid = handler.agent.lookup(namespace, pod)
    sandboxes = [s for s in handler.agent.runtime.list_sandboxes(PodUID(uid))] if uid else []
    running = [s for s in sandboxes if s.state == ContainerState.RUNNING]
    if not running:
        handler._status(404, f'pod "{pod}" has no running sandbox on this node')
        return
    try:
        pid = streams.sandbox_pid(running[0].id)
        target = connect_in_netns(pid, port)
    except (NetnsError, ContainerRuntimeError) as exc:
        handler._status(500, f"error forwarding port {port} to pod {pod}, uid {uid}: {exc}")
        return
    except OSError as exc:
        handler._status(
            503,
            f"error forwarding port {port} to pod {pod}, uid {uid}: failed to connect to localhost:{port} inside the pod's network namespace: {exc.strerror or exc}",
        )
        return
    log.info("port-forward to %s/%s:%d for %s", namespace, pod, port, handler.client_address[0])
    conn = _switch(handler)
    try:
        relay(conn, target, output=lambda data: [link.frame(link.STDOUT, data)])
    finally:
        target.close()

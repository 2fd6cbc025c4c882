"""Running a command in a pod (pods/exec) or joining its main process (pods/attach), client side.

The channels are kubectl's: stdin goes out on 0 and, at its end, v5's ``[255, 0]``
closes it; 1 and 2 come back as stdout and stderr; 3 carries one metav1.Status that
says how the command ended (``NonZeroExitCode`` with the code in its causes); 4 sends
the terminal's size as ``{"Width": w, "Height": h}``. The caller supplies the bytes and
sizes as async iterators and the sinks as plain functions, so the same code serves
``kajitori exec``, ``attach`` and ``cp`` (tar through exec).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from urllib.parse import quote

import orjson

from kajitori.config import ClientConfig
from kajitori.streaming import link
from kajitori.streaming.client import V4, V5, PodSocket, connect

Sink = Callable[[bytes], None]


class RemoteError(Exception):
    """The stream ended with a Failure Status that is not an exit code (the container went away, ...)."""


def pod_path(namespace: str, pod: str, sub: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/{sub}"


def exit_code(status: bytes) -> int:
    """The remote command's exit code from the status channel's Status (0 for Success)."""
    try:
        body = orjson.loads(status)
    except orjson.JSONDecodeError:
        raise RemoteError(status.decode(errors="replace")) from None
    if body.get("status") == "Success":
        return 0
    if body.get("reason") == "NonZeroExitCode":
        for cause in (body.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
                return int(cause["message"])
        return 1
    raise RemoteError(str(body.get("message") or "the stream failed"))


async def run(
    config: ClientConfig,
    namespace: str,
    pod: str,
    *,
    sub: str = "exec",
    command: list[str] | None = None,
    container: str | None = None,
    stdin: AsyncIterator[bytes] | None = None,
    tty: bool = False,
    stdout: Sink,
    stderr: Sink,
    sizes: AsyncIterator[tuple[int, int]] | None = None,
) -> int:
    """Run to the end; the remote exit code. ``ApiError`` if the server refuses, ``RemoteError`` on a failed stream."""
    query = [("command", c) for c in command or []]
    query += [("container", container)] if container else []
    query += [("stdin", "true")] if stdin is not None else []
    query += [("stdout", "true"), ("stderr", "false" if tty else "true")]
    query += [("tty", "true")] if tty else []
    socket = await connect(config, pod_path(namespace, pod, sub), query, [V5, V4])
    pumps = [asyncio.ensure_future(_send_stdin(socket, stdin))] if stdin is not None else []
    pumps += [asyncio.ensure_future(_send_sizes(socket, sizes))] if sizes is not None else []
    try:
        return await _receive(socket, stdout, stderr)
    finally:
        for pump in pumps:
            pump.cancel()
        for pump in pumps:
            with suppress(asyncio.CancelledError, Exception):
                await pump
        await socket.close()


async def _send_stdin(socket: PodSocket, source: AsyncIterator[bytes]) -> None:
    async for chunk in source:
        if chunk:
            await socket.send(bytes([link.STDIN]) + chunk)
    if socket.protocol == V5:  # v4 cannot half-close: the command sees no EOF there, as with kubectl < 1.30
        await socket.send(bytes([link.CLOSE, link.STDIN]))


async def _send_sizes(socket: PodSocket, sizes: AsyncIterator[tuple[int, int]]) -> None:
    async for width, height in sizes:
        await socket.send(bytes([link.RESIZE]) + orjson.dumps({"Width": width, "Height": height}))


async def _receive(socket: PodSocket, stdout: Sink, stderr: Sink) -> int:
    code = 0
    while (message := await socket.receive()) is not None:
        if not message:
            continue
        channel, payload = message[0], message[1:]
        if channel == link.STDOUT:
            stdout(payload)
        elif channel == link.STDERR:
            stderr(payload)
        elif channel == link.STATUS:
            code = exit_code(payload)
    return code

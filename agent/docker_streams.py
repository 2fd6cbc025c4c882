"""Docker's side of interactive streams: exec sessions on a hijacked socket, and a pod's network namespace.

``DockerStreams`` is the agent's streaming seam (``StreamRuntime``): it starts a
``docker exec`` whose stdin/stdout/stderr travel over one raw socket
(``exec_create`` + ``exec_start(socket=True)``), resizes its TTY and reads its exit
code; and it names the process whose network namespace a pod's sandbox holds, which
port-forward enters. A non-TTY exec's output arrives multiplexed (8-byte headers, see
``Demultiplexer``); a TTY's arrives raw, stderr merged into stdout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import docker

from agent.docker_errors import docker_errors
from agent.docker_hijack import hijacked
from agent.runtime import ContainerId

EXIT_WAIT_S = 5.0
"""How long an exec may stay Running after its output closed before we report it unknown."""


@dataclass
class ExecSession:
    """A process's stdio on one socket: a `docker exec`, or (exec_id empty) an attach to the container's main process."""

    exec_id: str
    sock: socket.socket
    tty: bool
    container_id: ContainerId
    early: bytes = b""
    """The stream's first bytes, read with the HTTP head (agent.docker_hijack); they come before `sock`'s."""


class StreamRuntime(Protocol):
    """What the agent's streaming endpoints ask of the container runtime."""

    def start_exec(
        self, container_id: ContainerId, command: list[str], *, stdin: bool, tty: bool, stdout: bool = True, stderr: bool = True
    ) -> ExecSession: ...

    def start_attach(self, container_id: ContainerId, *, stdin: bool, stdout: bool = True, stderr: bool = True) -> ExecSession: ...

    def resize_exec(self, session: ExecSession, width: int, height: int) -> None: ...

    def exec_exit_code(self, session: ExecSession) -> int | None: ...

    def end_exec(self, session: ExecSession) -> None: ...

    def sandbox_pid(self, sandbox_id: ContainerId) -> int: ...


class DockerStreams:
    def __init__(self, api: docker.APIClient) -> None:
        self._api = api

    def start_exec(
        self, container_id: ContainerId, command: list[str], *, stdin: bool, tty: bool, stdout: bool = True, stderr: bool = True
    ) -> ExecSession:
        """A stream not asked for is not attached at all: its writes go nowhere, as in Kubernetes."""
        with docker_errors(f"exec {command!r} in container {container_id}"):
            exec_id = self._api.exec_create(container_id, command, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty)["Id"]
            wrapped = self._api.exec_start(exec_id, socket=True, tty=tty)
        stream = hijacked(wrapped)
        return ExecSession(exec_id=str(exec_id), sock=stream.sock, tty=tty, container_id=container_id, early=stream.early)

    def start_attach(self, container_id: ContainerId, *, stdin: bool, stdout: bool = True, stderr: bool = True) -> ExecSession:
        with docker_errors(f"attaching to container {container_id}"):
            tty = bool(((self._api.inspect_container(container_id).get("Config")) or {}).get("Tty"))
            params = {"stdout": int(stdout), "stderr": int(stderr), "stream": 1, "stdin": int(stdin)}
            wrapped = self._api.attach_socket(container_id, params=params)
        stream = hijacked(wrapped)
        return ExecSession(exec_id="", sock=stream.sock, tty=tty, container_id=container_id, early=stream.early)

    def resize_exec(self, session: ExecSession, width: int, height: int) -> None:
        if not session.tty or width <= 0 or height <= 0:
            return
        with docker_errors(f"resizing the terminal of {session.exec_id or session.container_id}"):
            if session.exec_id:
                self._api.exec_resize(session.exec_id, height=height, width=width)
            else:
                self._api.resize(session.container_id, height=height, width=width)

    def exec_exit_code(self, session: ExecSession) -> int | None:
        # The output closes as the process ends; dockerd records the exit a moment later.
        deadline = time.monotonic() + EXIT_WAIT_S
        with docker_errors(f"inspecting {session.exec_id or session.container_id}"):
            while True:
                if session.exec_id:
                    state = self._api.exec_inspect(session.exec_id)
                else:
                    state = self._api.inspect_container(session.container_id).get("State") or {}
                if not state.get("Running"):
                    code = state.get("ExitCode")
                    return int(code) if code is not None else None
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.01)

    def end_exec(self, session: ExecSession) -> None:
        """Kill an exec whose client went away, so no process outlives its session (an attach leaves the container be)."""
        if not session.exec_id:
            return
        with docker_errors(f"inspecting exec {session.exec_id}"):
            state = self._api.exec_inspect(session.exec_id)
        pid = int(state.get("Pid") or 0)
        if state.get("Running") and pid > 0:
            # dockerd has no "kill exec"; the agent runs in the host's PID namespace, where Pid is.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def sandbox_pid(self, sandbox_id: ContainerId) -> int:
        with docker_errors(f"inspecting sandbox {sandbox_id}"):
            data: dict[str, Any] = self._api.inspect_container(sandbox_id)
        return int((data.get("State") or {}).get("Pid") or 0)


_HEADER = struct.Struct(">BxxxL")


class Demultiplexer:
    """Cuts Docker's non-TTY attach stream into (stream, bytes): 1 stdout, 2 stderr."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._pending += data
        while len(self._pending) >= _HEADER.size:
            stream, size = _HEADER.unpack_from(self._pending)
            end = _HEADER.size + size
            if len(self._pending) < end:
                return
            payload = bytes(self._pending[_HEADER.size : end])
            del self._pending[:end]
            yield (2 if stream == 2 else 1), payload

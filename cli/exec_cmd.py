"""Commands `kajitori exec` and `kajitori attach`: a pod's container, interactively, over WebSocket.

As kubectl >= 1.30: pods/NAME/exec (or attach) through the master, v5.channel.k8s.io;
stdin is forwarded with ``-i`` and closed at its end, ``-t`` puts our terminal in raw
mode and sends its size (again on each SIGWINCH), and the remote exit code is ours.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import BinaryIO

import typer

from cli import stream_session, terminal
from cli.app import app
from cli.options import Kubeconfig, Namespace
from kajitori.config import ClientConfig
from kajitori.streaming import remote_command


def _write(stream: BinaryIO) -> remote_command.Sink:
    def sink(data: bytes) -> None:
        stream.write(data)
        stream.flush()

    return sink


async def _session(
    config: ClientConfig,
    namespace: str,
    pod: str,
    sub: str,
    command: list[str],
    container: str | None,
    stdin: bool,
    tty: bool,
) -> int:
    source: AsyncIterator[bytes] | None = terminal.stdin_chunks() if stdin else None
    tty = tty and (not stdin or terminal.is_terminal())
    with terminal.raw_mode() if tty and stdin else nullcontext():
        return await remote_command.run(
            config, namespace, pod, sub=sub, command=command, container=container, stdin=source, tty=tty,
            stdout=_write(sys.stdout.buffer), stderr=_write(sys.stderr.buffer), sizes=terminal.sizes() if tty else None,
        )  # fmt: skip


@app.command()
def exec(
    pod: str = typer.Argument(..., help="Pod name."),
    command: list[str] = typer.Argument(..., help="Command and its arguments (after --)."),
    container: str = typer.Option(None, "-c", "--container", help="Container (the pod's first by default)."),
    stdin: bool = typer.Option(
        False, "-i", "--stdin", help="Pass our stdin to the command (closed at its end)."
    ),
    tty: bool = typer.Option(
        False, "-t", "--tty", help="A terminal for the command: raw mode here, resized with ours."
    ),
    namespace: Namespace = None,
    timeout: float = typer.Option(
        0.0, "--timeout", hidden=True, help="Accepted for old scripts; the command runs until it ends."
    ),
    kubeconfig: Kubeconfig = None,
) -> None:
    """Run a command in a container of a pod; its output is ours and so is its exit code."""
    config, ns = stream_session.load(kubeconfig, namespace)
    work = _session(config, ns, pod, "exec", command, container, stdin, tty)
    code = stream_session.run_stream(asyncio.wait_for(work, timeout) if timeout > 0 else work)
    stream_session.exit_with(code)


@app.command()
def attach(
    pod: str = typer.Argument(..., help="Pod name."),
    container: str = typer.Option(None, "-c", "--container", help="Container (the pod's first by default)."),
    stdin: bool = typer.Option(
        False, "-i", "--stdin", help="Pass our stdin to the container's main process."
    ),
    tty: bool = typer.Option(
        False, "-t", "--tty", help="The container has a terminal: raw mode here, resized with ours."
    ),
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Join the main process of a running container: its output until it exits, and its exit code."""
    config, ns = stream_session.load(kubeconfig, namespace)
    code = stream_session.run_stream(_session(config, ns, pod, "attach", [], container, stdin, tty))
    stream_session.exit_with(code)

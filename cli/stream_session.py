"""What exec, attach, cp and port-forward share: the kubeconfig, the namespace, kubectl's
wording for a refused stream, and the exit code of a remote command as ours.

A stream the server refuses says so in one line: a missing pod as kubectl's
``Error from server (NotFound): pods "x" not found``, anything else refused at the
upgrade as ``error: unable to upgrade connection: <the Status's message>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

from cli.session import CliError, error_message
from kajitori import config
from kajitori.client import ApiError, NotFoundError, ServerUnavailable, UnauthorizedError
from kajitori.streaming.remote_command import RemoteError

T = TypeVar("T")


def load(kubeconfig: str | None, namespace: str | None) -> tuple[config.ClientConfig, str]:
    try:
        loaded = config.load(kubeconfig)
    except config.ConfigError as exc:
        typer.echo(error_message(exc), err=True)
        raise typer.Exit(1) from None
    return loaded, namespace or loaded.namespace


def refusal(exc: ApiError) -> str:
    if isinstance(exc, (NotFoundError, ServerUnavailable, UnauthorizedError)):
        return error_message(exc)
    return f"error: unable to upgrade connection: {exc.message}"


def run_stream(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end; any failure is one line on stderr and exit 1 (130 on Ctrl-C)."""
    try:
        return asyncio.run(work)
    except ApiError as exc:
        typer.echo(refusal(exc), err=True)
    except (RemoteError, CliError) as exc:
        typer.echo(f"error: {exc}", err=True)
    except TimeoutError:
        typer.echo("error: timed out waiting for the command", err=True)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(1)


def exit_with(code: int) -> None:
    """kubectl's ending: a non-zero remote code is said on stderr and becomes ours."""
    if code:
        typer.echo(f"command terminated with exit code {code}", err=True)
    raise typer.Exit(code)

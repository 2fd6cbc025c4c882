"""What every object command starts with: a client from the kubeconfig, the namespace to
use, the shared flags, and turning any failure into kubectl's one-line message.

Commands wrap their body in ``with failures_reported():``; inside it they may raise
``ApiError``, ``ConfigError``, ``UnknownResource`` or ``CliError`` and the user sees
one line on stderr and exit code 1 — never a traceback. Warnings the server sends
(``Warning`` headers) are printed on stderr as ``Warning: <text>``, as kubectl does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import typer

from kajitori import config
from kajitori.api.registry import Resource, UnknownResource
from kajitori.client import (
    ApiClient,
    ApiError,
    InvalidError,
    ServerUnavailable,
    UnauthorizedError,
)


class CliError(Exception):
    """A mistake the user can fix (bad flag mix, bad file); printed as ``error: <message>``."""


class Session:
    """A client plus the namespace a command works in."""

    def __init__(self, client: ApiClient, namespace: str | None) -> None:
        self.client = client
        self.explicit_namespace = namespace
        self.namespace = namespace or client.config.namespace

    def close(self) -> None:
        self.client.close()


def open_session(kubeconfig: str | None, namespace: str | None, *, timeout: float = 15.0) -> Session:
    return Session(ApiClient(config.load(kubeconfig), timeout=timeout, on_warning=print_warning), namespace)


def print_warning(text: str) -> None:
    """A warning the server sent (an unknown field, ...), on stderr as kubectl prints it."""
    typer.echo(f"Warning: {text}", err=True)


def error_message(exc: BaseException, *, resource: Resource | None = None) -> str:
    """kubectl's wording for a failure (without the trailing newline)."""
    if isinstance(exc, ServerUnavailable):
        return _unreachable(exc)
    if isinstance(exc, UnauthorizedError):
        return "error: You must be logged in to the server (Unauthorized)"
    if isinstance(exc, InvalidError):
        return invalid_message(exc, resource=resource)
    if isinstance(exc, ApiError):
        return f"Error from server ({exc.reason or exc.code}): {exc.message}"
    if isinstance(exc, (config.ConfigError, UnknownResource, CliError)):
        text = str(exc)
        return text if text.startswith("error:") else f"error: {text}"
    return f"error: {exc}"


def invalid_message(exc: ApiError, *, resource: Resource | None = None) -> str:
    """``The Pod "x" is invalid: spec.containers[0].image: Required value`` from a 422 Status."""
    details = exc.status.get("details") or {}
    head, sep, _ = exc.message.partition(" is invalid")
    if not sep:
        kind = resource.kind if resource else str(details.get("kind") or "object")
        head = f'{kind} "{details.get("name", "")}"'
    causes = [_cause_text(c) for c in exc.causes]
    if not causes:
        return f"The {exc.message}" if sep else f"The {head} is invalid: {exc.message}"
    if len(causes) == 1:
        return f"The {head} is invalid: {causes[0]}"
    return f"The {head} is invalid: \n" + "\n".join(f"* {c}" for c in causes)


def _cause_text(cause: dict[str, Any]) -> str:
    field, message = cause.get("field") or "", cause.get("message") or cause.get("reason") or ""
    return f"{field}: {message}" if field else message


def _unreachable(exc: ServerUnavailable) -> str:
    cause = exc.__cause__
    server = exc.message.split(" at ", 1)[1].split(": ", 1)[0] if " at " in exc.message else "the master"
    if isinstance(cause, httpx.ConnectError):
        return f"The connection to the server {server} was refused - is the master running?"
    if isinstance(cause, httpx.TimeoutException):
        return f"Unable to connect to the server {server}: timed out - is the master running?"
    return f"Unable to connect to the server: {exc.message}"


@contextmanager
def failures_reported(*, resource: Resource | None = None) -> Iterator[None]:
    """Print kubectl's one-line error and exit 1 for every failure a user can meet."""
    try:
        yield
    except (ApiError, config.ConfigError, UnknownResource, CliError) as exc:
        typer.echo(error_message(exc, resource=resource), err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, flag: str = "--timeout") -> float:
    """A kubectl duration flag (``90s``, ``2m``, ``1m0s``, ``1h``, a bare number of seconds)."""
    parts = re.findall(r"\d+(?:\.\d+)?(?:ms|s|m|h)?", text.strip())
    if not text.strip() or "".join(parts) != text.strip():
        raise CliError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    total = 0.0
    for part in parts:
        match = _DURATION.match(part)
        assert match is not None  # findall only yields what the pattern matches
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
    return total

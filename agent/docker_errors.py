"""Where Docker SDK and transport exceptions become the runtime's own (see `agent.runtime`).

Everything that talks to dockerd runs inside `docker_errors(doing)`; the mapped exception's
message says what was being done, and the original stays chained as `__cause__`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests.exceptions

from agent.runtime import (
    ContainerNotFound,
    ContainerRuntimeError,
    RuntimeUnavailable,
)


def daemon_message(exc: BaseException) -> str:
    """dockerd's own words for an API error, without the SDK's HTTP preamble."""
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        text = exc.explanation
        return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return str(exc)


@contextmanager
def docker_errors(
    doing: str, *, not_found: type[ContainerRuntimeError] = ContainerNotFound
) -> Iterator[None]:
    """Map anything the SDK raises while `doing` to a `ContainerRuntimeError`."""
    try:
        yield
    except ContainerRuntimeError:
        raise
    except docker.errors.NotFound as exc:
        raise not_found(f"{doing}: {daemon_message(exc)}") from exc
    except docker.errors.APIError as exc:
        raise ContainerRuntimeError(f"{doing}: {daemon_message(exc)}") from exc
    except (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError) as exc:
        # A missing socket file or a refused connection both mean dockerd is not there.
        raise RuntimeUnavailable(f"{doing}: docker daemon unreachable: {exc}") from exc
    except requests.exceptions.Timeout as exc:
        raise RuntimeUnavailable(f"{doing}: docker daemon did not answer in time: {exc}") from exc
    except docker.errors.DockerException as exc:
        raise ContainerRuntimeError(f"{doing}: {exc}") from exc

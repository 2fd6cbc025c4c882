"""Docker's container event stream as an endless, reconnecting `EventStream`.

Guarantee: iteration yields every start/die/oom/destroy of a managed container at least once
from the moment the stream was made until `close()`. When the HTTP stream breaks
(dockerd restarted, socket closed) it reconnects with backoff, asking for events since the
last one seen, so a gap is replayed rather than lost (a few may repeat). `close()` may be
called from any thread; it ends the iteration promptly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import docker

from agent.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_POD_UID,
    ContainerId,
    PodUID,
    RuntimeEvent,
    RuntimeEventKind,
)

log = logging.getLogger(__name__)

_KINDS = {kind.value: kind for kind in RuntimeEventKind}


def runtime_event_from_docker(raw: Mapping[str, Any]) -> RuntimeEvent | None:
    """One decoded Docker event as a `RuntimeEvent`, or None for events the agent does not need."""
    action = str(raw.get("Action") or raw.get("status") or "")
    kind = _KINDS.get(action)
    if raw.get("Type", "container") != "container" or kind is None:
        return None
    actor = raw.get("Actor") or {}
    attributes: Mapping[str, str] = actor.get("Attributes") or {}
    time_nano = int(raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000)
    exit_code = attributes.get("exitCode")
    pod_uid = attributes.get(LABEL_POD_UID)
    return RuntimeEvent(
        kind=kind,
        container_id=ContainerId(str(actor.get("ID") or raw.get("id") or "")),
        pod_uid=PodUID(pod_uid) if pod_uid else None,
        container_name=attributes.get(LABEL_CONTAINER_NAME, ""),
        time=datetime.fromtimestamp(time_nano // 1_000_000_000, tz=UTC)
        + timedelta(microseconds=time_nano % 1_000_000_000 // 1000),
        exit_code=int(exit_code) if exit_code is not None and exit_code.lstrip("-").isdigit() else None,
    )


class DockerEventStream:
    """An `EventStream` over `GET /events`, filtered to managed containers."""

    def __init__(
        self, api: docker.APIClient, *, backoff_initial_s: float = 0.2, backoff_max_s: float = 5.0
    ) -> None:
        self._api = api
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._current: Any = None
        # From the moment the stream is asked for, not when iteration begins in some thread:
        # events in between are replayed by dockerd. Then: the last event's time, to resume from.
        self._since = f"{datetime.now(tz=UTC).timestamp():.9f}"

    def __iter__(self) -> Iterator[RuntimeEvent]:
        backoff = self._backoff_initial_s
        while not self._closed.is_set():
            try:
                stream = self._api.events(
                    since=self._since,
                    filters={
                        "type": "container",
                        "label": [f"{LABEL_MANAGED}=true"],
                        "event": [kind.value for kind in RuntimeEventKind],
                    },
                    decode=True,
                )
                with self._lock:
                    self._current = stream
                if self._closed.is_set():
                    stream.close()
                    return
                for raw in stream:
                    backoff = self._backoff_initial_s
                    time_nano = raw.get("timeNano")
                    if time_nano:
                        self._since = (
                            f"{int(time_nano) // 1_000_000_000}.{int(time_nano) % 1_000_000_000:09d}"
                        )
                    event = runtime_event_from_docker(raw)
                    if event is not None:
                        yield event
            except Exception as exc:  # any break of the stream means: reconnect
                if not self._closed.is_set():
                    log.warning("docker event stream broke (%s); reconnecting in %.1fs", exc, backoff)
            finally:
                with self._lock:
                    self._current = None
            if self._closed.wait(backoff):
                return
            backoff = min(backoff * 2, self._backoff_max_s)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            current = self._current
        if current is not None:
            try:
                current.close()
            except Exception:  # closing a half-broken stream must not raise into the caller
                log.debug("closing docker event stream", exc_info=True)

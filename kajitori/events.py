"""Recording Events ("Scheduled", "FailedScheduling", "BackOff", ...) for `kajitori describe`.

Recording never blocks the caller and never fails it: events go through a small
queue to one background thread. A repeat of the same event on the same object
(same reason and message) bumps ``count`` and ``lastTimestamp`` of the existing
Event instead of creating another, as Kubernetes' event correlator does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from kajitori.api.meta import TypedObject
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, ApiError
from kajitori.clock import Clock

log = logging.getLogger(__name__)
EVENTS = by_name("events")


class EventRecorder:
    def __init__(self, client: ApiClient, component: str, *, host: str | None = None, clock: Clock | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock or Clock()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=10_000)
        self._seen: dict[tuple[str, str, str, str], tuple[str, int]] = {}  # -> (event name, count)
        self._thread = threading.Thread(target=self._run, name=f"events-{component}", daemon=True)
        self._thread.start()

    def event(self, obj: TypedObject, type_: str, reason: str, message: str) -> None:
        meta = obj.metadata
        log.info("event %s %s/%s: %s: %s", type_, meta.namespace or "", meta.name, reason, message)
        ref = {
            "kind": obj.kind,
            "namespace": meta.namespace,
            "name": meta.name,
            "uid": meta.uid,
            "apiVersion": obj.apiVersion,
            "resourceVersion": meta.resourceVersion,
        }
        try:
            self._queue.put_nowait({"ref": ref, "type": type_, "reason": reason, "message": message})
        except queue.Full:
            log.warning("event queue full; dropped %s %s", reason, meta.name)

    def normal(self, obj: TypedObject, reason: str, message: str) -> None:
        self.event(obj, "Normal", reason, message)

    def warning(self, obj: TypedObject, reason: str, message: str) -> None:
        self.event(obj, "Warning", reason, message)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until queued events are written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                self._write(item)
            except ApiError as exc:
                log.debug("could not record event %s: %s", item["reason"], exc.message)
            except Exception:
                log.exception("recording event %s failed", item["reason"])

    def _write(self, item: dict[str, Any]) -> None:
        ref = item["ref"]
        namespace = ref.get("namespace") or "default"
        now = self.clock.rfc3339()
        seen_key = (ref.get("uid") or "", item["reason"], item["message"], item["type"])
        previous = self._seen.get(seen_key)
        if previous is not None:
            name, count = previous
            try:
                self.client.patch_raw(EVENTS, name, {"count": count + 1, "lastTimestamp": now}, namespace)
                self._seen[seen_key] = (name, count + 1)
                return
            except ApiError:
                pass  # gone (namespace deleted, or cleaned up): write a new one
        name = f"{ref['name']}.{time.time_ns():x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {k: v for k, v in ref.items() if v is not None},
            "reason": item["reason"],
            "message": item["message"],
            "type": item["type"],
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self.client.create_raw(EVENTS, body, namespace)
        if len(self._seen) > 5000:
            self._seen.clear()
        self._seen[seen_key] = (name, 1)

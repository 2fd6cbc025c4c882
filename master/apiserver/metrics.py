"""The master's ``/metrics``: Prometheus text with kube-apiserver's metric names.

- ``apiserver_request_total{verb,resource,subresource,code}`` and
  ``apiserver_request_duration_seconds{verb,resource,subresource}`` (kube-apiserver's
  buckets), counted by one plain ASGI wrapper around the app. The verb is Kubernetes' own
  (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION, CONNECT); paths that
  are not resources (``/version``, ``/openapi/v3``, ``/nonsense``) count under resource
  ``""``, so a client cannot grow the label set. Long-running requests (watches, exec,
  attach, port-forward, ``log?follow``) count when they end and are not timed, as in
  kube-apiserver; while open they are ``apiserver_longrunning_requests{verb,resource,subresource}``.
- ``apiserver_storage_objects{resource}``: objects per resource, read from the store's
  memory when scraped.
- then the process's components (``kajitori.metrics.COMPONENTS``): work queues per
  controller (depth, adds, retries) and the scheduler's attempts and their latency.

What a request pays: one path split, two dict lookups and a histogram observe (measured
with bench/api; see README). ``/metrics`` needs a bearer token like every non-public path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kajitori.api.registry import RESOURCES
from kajitori.metrics import COMPONENTS
from master.store import Store

# What kube-apiserver answers (and what generate_latest writes): the classic text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# kube-apiserver's apiserver_request_duration_seconds buckets
DURATION_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60)
_CONNECT = frozenset({"exec", "attach", "portforward", "proxy"})
_RESOURCE_LABEL = {r.plural: r.plural for r in RESOURCES}


def request_labels(method: str, path: str, query: bytes, content_type: bytes) -> tuple[str, str, str, bool]:
    """(verb, resource, subresource, long-running) of a request, as kube-apiserver labels it."""
    parts = path.split("/")
    # ["", "api", "v1", ...] or ["", "apis", group, version, ...]
    if len(parts) > 3 and parts[1] == "api":
        rest = parts[3:]
    elif len(parts) > 4 and parts[1] == "apis":
        rest = parts[4:]
    else:
        return method, "", "", False
    watch = bool(rest) and rest[0] == "watch"
    if watch:
        rest = rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        rest = rest[2:]
    resource = _RESOURCE_LABEL.get(rest[0], "") if rest else ""
    if not resource:
        return method, "", "", False
    named = len(rest) > 1 and rest[1] != ""
    sub = rest[2] if len(rest) > 2 else ""
    watch = watch or b"watch=true" in query or b"watch=1" in query
    if method == "GET":
        verb = "WATCH" if watch else ("GET" if named else "LIST")
    elif method == "DELETE" and not named:
        verb = "DELETECOLLECTION"
    elif method == "PATCH" and content_type.startswith(b"application/apply-patch"):
        verb = "APPLY"
    else:
        verb = method
    if sub in _CONNECT:
        verb = "CONNECT"
    long_running = verb in ("WATCH", "CONNECT") or (sub == "log" and b"follow=true" in query)
    return verb, resource, sub, long_running


class StorageObjects(Collector):
    """apiserver_storage_objects: the number of stored objects of each resource, when scraped."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("apiserver_storage_objects", "Number of stored objects at the time of last check split by kind.", labels=["resource"])
        for r in RESOURCES:
            items, _ = self.store.list(r.collection)
            family.add_metric([f"{r.plural}.{r.group}" if r.group else r.plural], len(items))
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class ApiMetrics:
    """The API server's own metrics, in a registry of the app's (several apps may share a process in tests)."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "apiserver_request", "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
            ["verb", "resource", "subresource", "code"], registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, resource and subresource.",
            ["verb", "resource", "subresource"], buckets=DURATION_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.long_running = Gauge(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken out by verb, resource and subresource.",
            ["verb", "resource", "subresource"], registry=self.registry,
        )  # fmt: skip
        self.registry.register(StorageObjects(store))
        # Children by labels: prometheus_client's .labels() takes a lock and builds a key each time.
        self._counted: dict[tuple[str, str, str, str], Any] = {}
        self._timed: dict[tuple[str, str, str], Any] = {}

    def count(self, verb: str, resource: str, sub: str, code: int, seconds: float | None) -> None:
        key = (verb, resource, sub, str(code))
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(*key)
        counter.inc()
        if seconds is not None:
            timed = self._timed.get(key[:3])
            if timed is None:
                timed = self._timed[key[:3]] = self.duration.labels(*key[:3])
            timed.observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry) + generate_latest(COMPONENTS)


class RequestMetrics:
    """Plain ASGI middleware counting every HTTP request (Starlette's BaseHTTPMiddleware costs a task each)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        verb, resource, sub, long_running = request_labels(scope["method"], scope["path"], scope["query_string"], content_type)
        code = 500

        async def send_counted(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        gauge = self.metrics.long_running.labels(verb, resource, sub) if long_running else None
        if gauge is not None:
            gauge.inc()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            if gauge is not None:
                gauge.dec()
            self.metrics.count(verb, resource, sub, code, None if long_running else time.perf_counter() - started)


def install(app: FastAPI, store: Store) -> None:
    """Count every request and serve ``/metrics``."""
    metrics = ApiMetrics(store)
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return Response(metrics.text(), media_type=CONTENT_TYPE)

"""The master's ``/metrics``: Prometheus text with kube-apiserver's metric names.

- ``apiserver_request_total{verb,resource,subresource,code}`` and
  ``apiserver_request_duration_seconds{verb,resource,subresource}`` (kube-apiserver's
  buckets), counted by one plain ASGI wrapper around the app. The verb is Kubernetes' own
  (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION, CONNECT); paths that
  are not resources (``/version``, ``/openapi/v3``, ``/nonsense``) count under resource
  ``""``, so a client cannot grow the label set. Long-running requests (watches, exec,
  attach, port-forward, ``log?follow``) count when they end and are not timed, as in
  kube-apiserver; while open they are ``apiserver_longrunning_requests{verb,resource,subresource}``.
- ``etcd_request_duration_seconds{operation,type}``: the store's gets, lists, creates,
  updates and deletes, timed by ``master/store/timed.py`` (SQLite or etcd alike);
- ``apiserver_storage_objects{resource}``: objects per resource, read from the store's
  memory when scraped; ``apiserver_registered_watchers{group,version,kind}``: watches open
  on each kind, read from the watch hub.
- then the process's components (``kajitori.metrics.COMPONENTS``): work queues per
  controller (depth, adds, retries), the scheduler's attempts and their latency, and how
  long each garbage-collector pass held the process (``python_gc_duration_seconds``,
  ``kajitori/gc_pauses.py``).

What a request pays: one path split, a few dict lookups and integer adds (no lock: every
request is counted on the event loop); measured in docs/design-notes.md. ``/metrics`` needs a bearer token like every non-public path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kajitori.api.registry import RESOURCES
from kajitori.metrics import COMPONENTS, cumulative_buckets
from master.apiserver.watch_hub import WatchHub
from master.store import Store
from master.store.timed import BUCKETS as STORE_BUCKETS
from master.store.timed import TimedStore

# What kube-apiserver answers (and what generate_latest writes): the classic text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# kube-apiserver's apiserver_request_duration_seconds buckets
DURATION_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60)
_CONNECT = frozenset({"exec", "attach", "portforward", "proxy"})
_RESOURCE_LABEL = {r.plural: r.plural for r in RESOURCES}


def request_labels(method: str, path: str, query: bytes, content_type: bytes) -> tuple[str, str, str, bool]:
    """(verb, resource, subresource, long-running) of a request, as kube-apiserver labels it."""
    parts = path.split("/", 10)
    n = len(parts)
    # "/api/v1/..." -> ["", "api", "v1", ...]; "/apis/G/V/..." -> ["", "apis", G, V, ...]
    i = 3 if parts[1] == "api" else 4 if parts[1] == "apis" else n
    if i >= n:
        return method, "", "", False
    watch = parts[i] == "watch"
    if watch:
        i += 1
    if n - i >= 3 and parts[i] == "namespaces" and not (n - i == 3 and parts[i + 2] in ("status", "finalize")):
        i += 2
    resource = _RESOURCE_LABEL.get(parts[i], "") if i < n else ""
    if not resource:
        return method, "", "", False
    named = n - i > 1 and parts[i + 1] != ""
    sub = parts[i + 2] if n - i > 2 else ""
    if method == "GET":
        verb = "WATCH" if watch or (query and (b"watch=true" in query or b"watch=1" in query)) else "GET" if named else "LIST"
    elif method == "DELETE" and not named:
        verb = "DELETECOLLECTION"
    elif method == "PATCH" and content_type.startswith(b"application/apply-patch"):
        verb = "APPLY"
    else:
        verb = method
    if sub in _CONNECT:
        verb = "CONNECT"
    return verb, resource, sub, verb in ("WATCH", "CONNECT") or (sub == "log" and b"follow=true" in query)


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


class StoreLatency(Collector):
    """etcd_request_duration_seconds{operation,type}: the store's calls as ``TimedStore`` counted them, when scraped."""

    def __init__(self, store: TimedStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "etcd_request_duration_seconds", "Etcd request latency in seconds for each operation and object type.", labels=["operation", "type"]
        )
        for labels, counts in sorted(self.store.snapshot().items()):
            family.add_metric(list(labels), cumulative_buckets(STORE_BUCKETS, counts[:-1]), counts[-1])
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class RegisteredWatchers(Collector):
    """apiserver_registered_watchers{group,version,kind}: the watches open on each kind, when scraped."""

    def __init__(self, hub: Callable[[], WatchHub]) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "apiserver_registered_watchers", "Number of currently registered watchers for a given resources", labels=["group", "version", "kind"]
        )
        counts = self.hub().watchers_by_collection()
        for r in RESOURCES:
            family.add_metric([r.group, r.version, r.kind], counts.get(r.collection, 0))
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class ApiMetrics(Collector):
    """The API server's request metrics as plain counts, turned into Prometheus families when scraped.

    Every request is counted on the event loop, so a count is a dict lookup and an integer
    add (prometheus_client's children take a lock per increment and walk every bucket).
    """

    def __init__(self, store: Store, hub: Callable[[], WatchHub] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests: dict[tuple[str, str, str, int], int] = {}
        # per (verb, resource, subresource): a count per bucket (not cumulative; the last is +Inf), then the sum
        self.durations: dict[tuple[str, str, str], list[float]] = {}
        self.long_running: dict[tuple[str, str, str], int] = {}
        self.registry.register(self)
        self.registry.register(StorageObjects(store))
        if isinstance(store, TimedStore):
            self.registry.register(StoreLatency(store))
        if hub is not None:
            self.registry.register(RegisteredWatchers(hub))

    def count(self, verb: str, resource: str, sub: str, code: int, seconds: float | None) -> None:
        key = (verb, resource, sub, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        if seconds is not None:
            timed = self.durations.get(key[:3])
            if timed is None:
                timed = self.durations[key[:3]] = [0.0] * (len(DURATION_BUCKETS) + 2)
            timed[bisect_left(DURATION_BUCKETS, seconds)] += 1
            timed[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "apiserver_request", "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
            labels=["verb", "resource", "subresource", "code"],
        )  # fmt: skip
        for (verb, resource, sub, code), n in sorted(self.requests.items()):
            requests.add_metric([verb, resource, sub, str(code)], n)
        durations = HistogramMetricFamily(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, resource and subresource.",
            labels=["verb", "resource", "subresource"],
        )  # fmt: skip
        for labels, counts in sorted(self.durations.items()):
            durations.add_metric(list(labels), cumulative_buckets(DURATION_BUCKETS, counts[:-1]), counts[-1])
        running = GaugeMetricFamily(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken out by verb, resource and subresource.",
            labels=["verb", "resource", "subresource"],
        )  # fmt: skip
        for labels, n in sorted(self.long_running.items()):
            running.add_metric(list(labels), n)
        yield from (requests, durations, running)

    def describe(self) -> Iterator[Metric]:
        return iter(())

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
        method = scope["method"]
        # Only a PATCH's verb depends on its body's type (APPLY): no header walk for the rest.
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"") if method == "PATCH" else b""
        verb, resource, sub, long_running = request_labels(method, scope["path"], scope["query_string"], content_type)
        code = 500

        async def send_counted(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        running = self.metrics.long_running
        if long_running:
            running[verb, resource, sub] = running.get((verb, resource, sub), 0) + 1
        try:
            await self.app(scope, receive, send_counted)
        finally:
            if long_running:
                running[verb, resource, sub] -= 1
            self.metrics.count(verb, resource, sub, code, None if long_running else time.perf_counter() - started)


def install(app: FastAPI, store: Store, hub: Callable[[], WatchHub]) -> None:
    """Count every request and serve ``/metrics``."""
    metrics = ApiMetrics(store, hub)
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return Response(metrics.text(), media_type=CONTENT_TYPE)

"""metrics.k8s.io/v1beta1, served from the scraper's memory (what metrics-server serves through aggregation).

    GET /apis/metrics.k8s.io/v1beta1/nodes[/{name}]                         NodeMetrics(List)
    GET /apis/metrics.k8s.io/v1beta1[/namespaces/{ns}]/pods[/{name}]        PodMetrics(List)

Lists take ``labelSelector`` (matched against the Node's or the Pod's own labels, as
metrics-server matches against its informers) and ``fieldSelector`` (metadata.name,
metadata.namespace). Only objects that still exist and have a usage with a window are
listed; a get of one without is 404, as metrics-server answers. Nothing is stored:
the API is read-only (get, list), like the access reviews in discovery beside it.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from kajitori.api.registry import by_path
from kajitori.api.selectors import SelectorError, parse_field_selector, parse_label_selector
from master.apiserver import errors
from master.apiserver.resources import ResourceAPI
from master.resource_usage import GROUP_VERSION, UsageStore, node_metrics, pod_metrics

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
PODS = by_path("", "v1", "pods")
NODES = by_path("", "v1", "nodes")

DISCOVERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    (GROUP, VERSION): [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ]
}


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _selectors(request: Request) -> tuple[Any, Any]:
    try:
        return (
            parse_label_selector(request.query_params.get("labelSelector")),
            parse_field_selector(request.query_params.get("fieldSelector")),
        )
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from None


def _list(kind: str, items: list[dict[str, Any]]) -> Response:
    return _json({"kind": kind, "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})


def install(app: FastAPI, api: ResourceAPI, usage: UsageStore) -> None:
    base = f"/apis/{GROUP}/{VERSION}"

    def nodes(request: Request, name: str | None) -> list[dict[str, Any]]:
        labels, fields = _selectors(request)
        now, out = time.time(), []
        for node, used in sorted(usage.nodes().items()):
            if name is not None and node != name:
                continue
            stored = api.store.get(NODES.store_key(None, node))
            if stored is None:
                continue
            meta = stored.obj.get("metadata") or {}
            if labels.matches(meta.get("labels")) and fields.matches({"metadata": {"name": node}}):
                out.append(node_metrics(node, used, meta.get("labels"), now))
        return out

    def pods(request: Request, namespace: str | None, name: str | None) -> list[dict[str, Any]]:
        labels, fields = _selectors(request)
        now, out = time.time(), []
        for (ns, pod), containers in sorted(usage.pods().items()):
            if (namespace is not None and ns != namespace) or (name is not None and pod != name):
                continue
            stored = api.store.get(PODS.store_key(ns, pod))
            if stored is None:
                continue
            meta = stored.obj.get("metadata") or {}
            if labels.matches(meta.get("labels")) and fields.matches({"metadata": {"name": pod, "namespace": ns}}):
                out.append(pod_metrics(ns, pod, containers, meta.get("labels"), now))
        return out

    def one(found: list[dict[str, Any]], kind: str, name: str) -> Response:
        if not found:
            raise errors.ApiError(404, "NotFound", f'{kind}.{GROUP} "{name}" not found', name=name, kind=kind, group=GROUP)
        return _json(found[0])

    @app.get(f"{base}/nodes")
    async def list_nodes(request: Request) -> Response:
        return _list("NodeMetricsList", nodes(request, None))

    @app.get(f"{base}/nodes/{{name}}")
    async def get_node(request: Request, name: str) -> Response:
        return one(nodes(request, name), "nodes", name)

    @app.get(f"{base}/pods")
    async def list_all_pods(request: Request) -> Response:
        return _list("PodMetricsList", pods(request, None, None))

    @app.get(f"{base}/namespaces/{{namespace}}/pods")
    async def list_pods(request: Request, namespace: str) -> Response:
        return _list("PodMetricsList", pods(request, namespace, None))

    @app.get(f"{base}/namespaces/{{namespace}}/pods/{{name}}")
    async def get_pod(request: Request, namespace: str, name: str) -> Response:
        return one(pods(request, namespace, name), "pods", name)

"""autoscaling/v1 HorizontalPodAutoscalers, served by conversion to the stored autoscaling/v2 (as kube-apiserver does).

kubectl 1.28 and 1.32 `autoscale` create a v1 HPA: ``spec.targetCPUUtilizationPercentage``
instead of v2's ``metrics``. Every request under
``/apis/autoscaling/v1[/watch][/namespaces/NS]/horizontalpodautoscalers...`` is passed to the
v2 handlers with its body converted to v2 (JSON, YAML or protobuf in; JSON on), and every
HPA in the answer (an object, a list, each event of a watch) converted back to v1.

The conversion is Kubernetes' (pkg/apis/autoscaling/v1 conversion): the CPU Utilization
target is ``targetCPUUtilizationPercentage``; what v1 cannot say rides in annotations so a
v1 read-modify-write keeps it: other metrics in ``autoscaling.alpha.kubernetes.io/metrics``,
the behavior in ``autoscaling.alpha.kubernetes.io/behavior``, the status conditions and
current metrics in ``autoscaling.alpha.kubernetes.io/conditions`` and ``.../current-metrics``
(here in their v2 JSON form). ``currentCPUUtilizationPercentage`` is the CPU metric's
current utilization.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kajitori.api import protobuf
from master.apiserver import errors
from master.apiserver.body import decode_body
from master.apiserver.http_protocol import WRITE_NOW_KEY

V1, V2 = "autoscaling/v1", "autoscaling/v2"
_PATH = re.compile(r"^/apis/autoscaling/v1/((?:watch/)?(?:namespaces/[^/]+/)?horizontalpodautoscalers(?:/.*)?)$")
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
KIND = "HorizontalPodAutoscaler"
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
DISCOVERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("autoscaling", "v1"): [
        {"name": "horizontalpodautoscalers", "singularName": "horizontalpodautoscaler", "namespaced": True, "kind": KIND,
         "verbs": _VERBS, "shortNames": ["hpa"], "categories": ["all"]},
        {"name": "horizontalpodautoscalers/status", "singularName": "", "namespaced": True, "kind": KIND, "verbs": ["get", "patch", "update"]},
    ]
}  # fmt: skip


def _is_cpu_utilization(metric: dict[str, Any]) -> bool:
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    return metric.get("type") == "Resource" and resource.get("name") == "cpu" and target.get("type") == "Utilization"


def _cpu_metric(percent: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}


def _load(text: Any) -> Any:
    try:
        return orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        return None


def to_v2(obj: dict[str, Any]) -> dict[str, Any]:
    """A v1 HPA (or a part of one, as a patch is) as v2."""
    out = dict(obj)
    if out.get("apiVersion") == V1:
        out["apiVersion"] = V2
    meta = out.get("metadata")
    annotations = dict((meta or {}).get("annotations") or {}) if isinstance(meta, dict) else {}
    kept_metrics = _load(annotations.pop(METRICS, None))
    behavior = _load(annotations.pop(BEHAVIOR, None))
    annotations.pop(CONDITIONS, None)
    annotations.pop(CURRENT_METRICS, None)
    if isinstance(meta, dict) and "annotations" in meta:
        out["metadata"] = {**meta, "annotations": annotations or None}
    spec = out.get("spec")
    if isinstance(spec, dict):
        spec = dict(spec)
        metrics = [m for m in kept_metrics if isinstance(m, dict) and not _is_cpu_utilization(m)] if isinstance(kept_metrics, list) else []
        if "targetCPUUtilizationPercentage" in spec:
            percent = spec.pop("targetCPUUtilizationPercentage")
            if percent is not None:
                metrics.insert(0, _cpu_metric(percent))
            spec["metrics"] = metrics or None
        elif metrics:
            spec["metrics"] = metrics
        if isinstance(behavior, dict):
            spec["behavior"] = behavior
        out["spec"] = spec
    status = out.get("status")
    if isinstance(status, dict):
        status = dict(status)
        status.pop("currentCPUUtilizationPercentage", None)
        out["status"] = status
    return out


def to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored v2 HPA as v1."""
    out = {**obj, "apiVersion": V1}
    meta = dict(out.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = dict(out.get("spec") or {})
    metrics = spec.pop("metrics", None) or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"].get("averageUtilization")
    others = [m for m in metrics if m is not cpu]
    if others:
        annotations[METRICS] = orjson.dumps(others).decode()
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR] = orjson.dumps(behavior).decode()
    status = dict(out.get("status") or {})
    conditions = status.pop("conditions", None)
    current = status.pop("currentMetrics", None) or []
    if conditions:
        annotations[CONDITIONS] = orjson.dumps(conditions).decode()
    if current:
        annotations[CURRENT_METRICS] = orjson.dumps(current).decode()
    for metric in current:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("current") or {}).get("averageUtilization")
            if utilization is not None:
                status["currentCPUUtilizationPercentage"] = utilization
    status.setdefault("currentReplicas", 0)
    status.setdefault("desiredReplicas", 0)
    if annotations:
        meta["annotations"] = annotations
    out.update(metadata=meta, spec=spec, status=status)
    return out


def answer_to_v1(value: Any) -> Any:
    """An answer's HPAs as v1: an object, a list of them, or a watch event."""
    if not isinstance(value, dict):
        return value
    if value.get("kind") == KIND:
        return to_v1(value)
    if value.get("kind") == f"{KIND}List":
        return {**value, "apiVersion": V1, "items": [to_v1(i) if isinstance(i, dict) else i for i in value.get("items") or []]}
    if "type" in value and isinstance(value.get("object"), dict) and value["object"].get("kind") == KIND:
        return {**value, "object": to_v1(value["object"])}
    return value


def patch_to_v2(patch: Any, content_type: str) -> Any:
    if content_type == "application/json-patch+json" and isinstance(patch, list):
        out = []
        for op in patch:
            if isinstance(op, dict) and op.get("path") == "/spec/targetCPUUtilizationPercentage":
                value = [_cpu_metric(op.get("value"))] if op.get("op") != "remove" else None
                out.append({"op": "add" if value is not None else "remove", "path": "/spec/metrics", **({"value": value} if value else {})})
            else:
                out.append(op)
        return out
    return to_v2(patch) if isinstance(patch, dict) else patch


class HPAv1Conversion:
    """ASGI middleware: v1 HPA paths onto the v2 handlers, bodies and answers converted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        path = f"/apis/autoscaling/v2/{match.group(1)}"
        scope = {**scope, "path": path, "raw_path": path.encode()}
        # Each watch event is converted on its way out here: no writing around this middleware.
        scope.pop(WRITE_NOW_KEY, None)
        headers = [(k, v) for k, v in scope.get("headers", [])]
        content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "").split(";")[0].strip()
        method = scope.get("method", "GET")
        if method in ("POST", "PUT", "PATCH"):
            raw = b""
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if not message.get("more_body"):
                    break
            if raw:
                try:
                    body = decode_body(raw, content_type or "application/json")
                except errors.ApiError as exc:
                    await _send_status(send, exc)
                    return
                converted = patch_to_v2(body, content_type) if method == "PATCH" else (to_v2(body) if isinstance(body, dict) else body)
                raw = orjson.dumps(converted)
                if content_type in (protobuf.MEDIA_TYPE, "application/yaml", "application/x-yaml", "text/yaml"):
                    content_type = "application/json"
                headers = [(k, v) for k, v in headers if k not in (b"content-type", b"content-length")]
                headers += [(b"content-type", content_type.encode()), (b"content-length", str(len(raw)).encode())]
                scope["headers"] = headers
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}

            receive = replay
        query = scope.get("query_string", b"").decode("latin-1")
        watching = "/watch/" in path or re.search(r"(^|&)watch=(true|1)", query) is not None
        await self.app(scope, receive, _Converting(send, streaming=watching))


async def _send_status(send: Send, exc: errors.ApiError) -> None:
    body = orjson.dumps(exc.body())
    await send({"type": "http.response.start", "status": exc.code, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


class _Converting:
    """The answer's HPAs as v1: buffered whole for an object or list, line by line for a watch."""

    def __init__(self, send: Send, *, streaming: bool) -> None:
        self.send = send
        self.streaming = streaming
        self.start: Message | None = None
        self.json = False
        self.buffer = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers") or []).get(b"content-type", b"")
            self.json = content_type.startswith(b"application/json")
            if not self.json or self.streaming:
                await self.send(message)
            else:
                self.start = message
            return
        if message["type"] != "http.response.body" or not self.json:
            await self.send(message)
            return
        self.buffer += message.get("body", b"")
        more = bool(message.get("more_body"))
        if self.streaming:
            *lines, self.buffer = self.buffer.split(b"\n")
            if not more and self.buffer:
                lines, self.buffer = [*lines, self.buffer], b""
            out = b"".join(_convert_line(line) + b"\n" for line in lines if line.strip())
            await self.send({"type": "http.response.body", "body": out, "more_body": more})
            return
        if more:
            return
        try:
            body = orjson.dumps(answer_to_v1(orjson.loads(self.buffer))) if self.buffer else b""
        except orjson.JSONDecodeError:
            body = self.buffer
        assert self.start is not None
        headers = [(k, v) for k, v in self.start.get("headers") or [] if k != b"content-length"]
        await self.send({**self.start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def _convert_line(line: bytes) -> bytes:
    try:
        return orjson.dumps(answer_to_v1(orjson.loads(line)))
    except orjson.JSONDecodeError:
        return line

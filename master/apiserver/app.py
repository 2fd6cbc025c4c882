"""The HTTP face of the API server: Kubernetes' paths onto ``ResourceAPI`` verbs.

One dispatcher parses ``/api/v1/...`` and ``/apis/{group}/{version}/...`` itself
(namespace, resource, name, subresource), because Kubernetes' paths are ambiguous to
a route table (``/api/v1/namespaces/x/status`` vs ``/api/v1/namespaces/x/pods``).
All handlers run on the event loop; the store is synchronous and fast (memory plus
one fsync per write), so no request waits on a thread pool, except that writes to a
store across the network (etcd) run on writer threads (``writes.py``). Create, update and patch
read ``fieldValidation`` (Ignore, Warn — the default — or Strict) and answer each
unknown field a Warn write kept with a ``Warning: 299 - "unknown field ..."`` header.
Bodies are JSON, YAML or Kubernetes' protobuf (``kajitori.api.protobuf``, decoded to the
same dict JSON gives); answers are always JSON, which every client accepts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kajitori.api.registry import RESOURCES, Resource, UnknownResource, by_path
from kajitori.api.selectors import SelectorError, parse_field_selector, parse_label_selector
from kajitori.tables import INCLUDE_OBJECT, IncludeObject, as_table
from kajitori.version import __version__, version_info
from master.apiserver import errors, metrics, metrics_api, openapi, paging, query
from master.apiserver.auth import Tokens
from master.apiserver.authn import Authenticator, UserInfo, x509_authenticator
from master.apiserver.authz import Authorizer, reviews
from master.apiserver.body import MAX_BODY_BYTES, decode_body
from master.apiserver.consistent_reads import ConsistentReads
from master.apiserver.dry_run import dry_run_api
from master.apiserver.gate import USER, Gate, log_forbidden
from master.apiserver.hpa_v1 import DISCOVERY as HPA_V1_DISCOVERY
from master.apiserver.hpa_v1 import HPAv1Conversion
from master.apiserver.http_protocol import WRITE_NOW_KEY
from master.apiserver.managed_fields import request_manager
from master.apiserver.patch import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH
from master.apiserver.resources import DeleteOptions, FieldValidation, ResourceAPI
from master.apiserver.serviceaccount_tokens import ServiceAccountTokens
from master.apiserver.token_request import request_token
from master.apiserver.watch import WatchStream
from master.apiserver.watch_hub import WatchHub
from master.apiserver.writes import Writes
from master.resource_usage import UsageStore
from master.store import Store, StoredObject, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

# The Kubernetes version whose API the models follow (their unmodelled-field lists are
# v1.28's); the kubectl dispatcher picks its minor. Protobuf tables of a later version
# read newer clients' bodies without changing this. One record for server and CLI: kajitori/version.py.
VERSION = version_info()
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # what kube-apiserver answers with
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# A hook the master installs to proxy pods/log and pods/exec to the node agent.
SubresourceProxy = Callable[[Request, Resource, str, str, str], Awaitable[Response]]


@dataclass
class ServerState:
    store: Store
    api: ResourceAPI
    tokens: Tokens | None
    proxy: SubresourceProxy | None = None
    ready: bool = True
    writes: Writes = field(default_factory=lambda: Writes(own_thread=False))
    hub: WatchHub | None = None  # made by create_app when not given
    reads: ConsistentReads | None = None  # made on first use when not given
    service_accounts: ServiceAccountTokens | None = None  # TokenRequest and ServiceAccount JWTs; None: neither
    authorizer: Authorizer | None = None
    """Node and RBAC authorization (``master.apiserver.authz``); None allows every authenticated request."""
    authenticators: list[Authenticator] = field(default_factory=list)
    """Tried in order after the client certificate and the tokens (ServiceAccount tokens plug in here)."""
    usage: UsageStore | None = None
    """The nodes' and pods' latest resource usage (the scraper fills it); None: metrics.k8s.io is not served."""
    background: list[Callable[[], Awaitable[Callable[[], Awaitable[None]]]]] = field(default_factory=list)
    """Tasks started on the server's loop when it starts (the metrics scraper); each returns its stop."""

    def authenticator_chain(self) -> list[Authenticator]:
        chain: list[Authenticator] = [x509_authenticator]
        if self.tokens is not None:
            chain.append(self.tokens.authenticate)
        return [*chain, *self.authenticators]

    def consistent_reads(self) -> ConsistentReads:
        """Gets and lists that see every write acknowledged before them, whichever master made it."""
        if self.reads is None:
            self.reads = ConsistentReads(self.store)
        return self.reads

    def watch_hub(self) -> WatchHub:
        if self.hub is None:
            self.hub = WatchHub(self.store)
        return self.hub


def json_response(body: Any, status: int = 200) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content=content, status_code=status, media_type="application/json")


def table_version(accept: str) -> str | None:
    """The ``meta.k8s.io`` Table version the Accept header asks for first, or None for plain JSON.

    kubectl asks ``application/json;as=Table;v=v1;g=meta.k8s.io, ...;v=v1beta1..., application/json``;
    the first media type we serve wins, as in kube-apiserver. Other ``as=`` forms
    (PartialObjectMetadata) are not served, so they fall through to plain JSON.
    """
    for media in accept.split(","):
        kind, *params = (part.strip() for part in media.split(";"))
        values = dict(param.split("=", 1) for param in params if "=" in param)
        if "as" not in values:
            if kind in ("application/json", "*/*", "application/*"):
                return None
            continue
        if values["as"] == "Table" and values.get("g") == "meta.k8s.io" and values.get("v") in ("v1", "v1beta1"):
            return values["v"]
    return None


def _include_object(request: Request) -> IncludeObject:
    include = request.query_params.get("includeObject") or "Metadata"
    if include not in INCLUDE_OBJECT:
        raise errors.bad_request(f"includeObject={include!r} must be one of None, Metadata, Object")
    return cast(IncludeObject, include)


def table_response(
    request: Request, version: str, resource: Resource, objects: list[Any], resource_version: str, list_meta: dict[str, Any] | None = None
) -> Response:
    table = as_table(
        resource.kind,
        objects,
        time.time(),
        resource_version=resource_version,
        include_object=_include_object(request),
        version=version,
    )
    table["metadata"].update(list_meta or {})
    return Response(orjson.dumps(table), media_type=f"application/json;as=Table;v={version};g=meta.k8s.io")


def table_encoder(request: Request, version: str, resource: Resource) -> Callable[[StoredObject], bytes]:
    """Each watch event's object as a one-row Table, as kube-apiserver sends `kubectl get -w`."""
    include = _include_object(request)

    def encode(stored: StoredObject) -> bytes:
        rv = str((stored.obj.get("metadata") or {}).get("resourceVersion", stored.rv))
        table = as_table(resource.kind, [stored.obj], time.time(), resource_version=rv, include_object=include, version=version)
        return orjson.dumps(table)

    return encode


def field_validation(request: Request) -> FieldValidation:
    return FieldValidation.from_query(request.query_params.get("fieldValidation"))


def warning_header(text: str) -> str:
    """RFC 7234 ``Warning`` value as kube-apiserver sends it: code 299, agent "-", quoted text."""
    # A header value is printable ASCII here: anything else (a newline in a field name a
    # client chose, non-ASCII) is written as an escape, so the header is always valid and
    # a write that was committed always gets its answer.
    printable = "".join(c if " " <= c <= "~" else _escape(c) for c in text)
    return '299 - "' + printable.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def warned(response: Response, fields: FieldValidation) -> Response:
    """One Warning header per warning the write earned."""
    for text in fields.warnings:
        response.headers.append("Warning", warning_header(text))
    return response


def with_warning(response: Response, warning: str | None) -> Response:
    """The response, with a Warning header when there is one to give (a stale-marked read)."""
    if warning:
        response.headers.append("Warning", warning_header(warning))
    return response


def error_response(exc: errors.ApiError) -> Response:
    return json_response(exc.body(), exc.code)


def create_app(state: ServerState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stops = [await start() for start in state.background]
        yield
        for stop in stops:
            await stop()

    app = FastAPI(title="Kajitori API", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.kajitori = state

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ApiError)
        if exc.code == 403:  # admission's refusals (escalation, NodeRestriction, signers)
            log_forbidden(request.scope, exc)
        return error_response(exc)

    async def on_any_error(request: Request, exc: Exception) -> Response:
        # Never a traceback to a client; the log has it.
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(errors.ApiError(500, "InternalError", f"an internal error occurred: {type(exc).__name__}"))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        # Routing's own 404/405 as kube-apiserver words them, never FastAPI's {"detail": ...}.
        code = getattr(exc, "status_code", 500)
        return error_response(errors.for_http_status(code))

    app.add_exception_handler(errors.ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_any_error)
    app.add_middleware(HPAv1Conversion)  # innermost: authorization sees the path the client asked for
    if state.tokens is not None or state.authenticators:
        app.add_middleware(Gate, authenticators=state.authenticator_chain(), authorizer=state.authorizer)
    metrics.install(app, state.store, state.watch_hub)  # outermost: 401s are counted too

    @app.get("/healthz")
    @app.get("/livez")
    async def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    @app.get("/readyz")
    async def readyz() -> Response:
        return Response("ok" if state.ready else "starting", status_code=200 if state.ready else 503, media_type="text/plain")

    @app.get("/version")
    async def version() -> Response:
        return json_response(VERSION)

    @app.get("/openapi/v2")
    async def openapi_v2(request: Request) -> Response:
        # kubectl reads v2 only as gnostic protobuf and only as a fallback of v3
        # (openapi.py): an empty document is a valid answer, and kubectl then takes
        # strategic-merge metadata from its built-in types, which cover every kind served.
        if "protobuf" in request.headers.get("accept", ""):
            return Response(b"", media_type=OPENAPI_V2_PROTOBUF)
        return json_response({"swagger": "2.0", "info": {"title": "Kajitori", "version": VERSION["gitVersion"]}, "paths": {}, "definitions": {}})

    openapi.install(app, VERSION["gitVersion"])

    @app.get("/api")
    async def api_versions(request: Request) -> Response:
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.url.netloc}],
            }
        )

    # Groups answered without a store of their own: the access reviews, metrics.k8s.io where the
    # scraper runs, and autoscaling/v1 (converted to the stored v2; v2 stays the preferred version).
    unstored = {**reviews.DISCOVERY, **HPA_V1_DISCOVERY, **(metrics_api.DISCOVERY if state.usage is not None else {})}

    def versions_of(group: str) -> list[str]:
        stored = sorted({r.version for r in RESOURCES if r.group == group})
        return stored + sorted({v for g, v in unstored if g == group} - set(stored))  # the stored version is preferred

    @app.get("/apis")
    async def api_groups() -> Response:
        names = sorted({r.group for r in RESOURCES if r.group} | {g for g, _ in unstored})
        return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, versions_of(g)) for g in names]})

    @app.get("/apis/{group}")
    async def api_group(group: str) -> Response:
        versions = versions_of(group)
        if not versions:
            raise errors.ApiError(404, "NotFound", f"the server could not find the requested resource (group {group})")
        return json_response({"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)})

    @app.get("/api/v1")
    async def core_resources() -> Response:
        return json_response(_resource_list("", "v1"))

    @app.get("/apis/{group}/{version}")
    async def group_resources(group: str, version: str) -> Response:
        if (group, version) in unstored:
            listed = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}"}
            return json_response({**listed, "resources": unstored[(group, version)]})
        if not any(r.group == group and r.version == version for r in RESOURCES):
            raise errors.ApiError(404, "NotFound", f"the server could not find the requested resource ({group}/{version})")
        return json_response(_resource_list(group, version))

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/api/v1/{rest:path}", methods=methods)
    async def core(request: Request, rest: str) -> Response:
        return await dispatch(state, request, "", "v1", rest)

    @app.post("/apis/authorization.k8s.io/v1/namespaces/{namespace}/{plural}")
    @app.post("/apis/authorization.k8s.io/v1/{plural}")
    @app.post("/apis/authentication.k8s.io/{version}/selfsubjectreviews")
    async def access_review(request: Request, plural: str = "selfsubjectreviews", version: str = "v1", namespace: str = "") -> Response:
        # Reviews are answered, never stored (master.apiserver.authz.reviews).
        group = "authentication.k8s.io" if plural == "selfsubjectreviews" else "authorization.k8s.io"
        if group == "authentication.k8s.io" and version not in ("v1", "v1beta1"):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        user = request.scope.get(USER) or UserInfo("system:anonymous", ("system:unauthenticated",))
        body = await read_body(request)
        if (plural == "localsubjectaccessreviews") != bool(namespace):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        answer = reviews.review(group, version if group == "authentication.k8s.io" else "v1", plural, body, user, state.authorizer, namespace)
        return json_response(answer, 201)

    if state.usage is not None:
        metrics_api.install(app, state.api, state.usage)  # before the catch-all below

    @app.api_route("/apis/{group}/{version}/{rest:path}", methods=methods)
    async def grouped(request: Request, group: str, version: str, rest: str) -> Response:
        return await dispatch(state, request, group, version, rest)

    return app


def _group(group: str, versions: list[str]) -> dict[str, Any]:
    """A group's discovery entry; the first version is the preferred one."""
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def _resource_list(group: str, version: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        resources.append(
            {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": _VERBS,
                "shortNames": list(r.short_names),
                **({"categories": list(r.categories)} if r.categories else {}),
            }
        )
        for sub in sorted(r.subresources):
            kind = {"scale": "Scale", "binding": "Binding", "eviction": "Eviction", "token": "TokenRequest"}.get(sub, r.kind)
            entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": ["get", "patch", "update", "create"]}
            if sub == "eviction":
                # kubectl drain evicts (instead of deleting) only where discovery names the Eviction's group.
                entry.update(group="policy", version="v1", verbs=["create"])
            if sub == "token":
                entry.update(group="authentication.k8s.io", version="v1", verbs=["create"])
            resources.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


@dataclass
class Target:
    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool


def parse_target(group: str, version: str, rest: str) -> Target:
    parts = [p for p in rest.split("/") if p]
    watch_path = bool(parts) and parts[0] == "watch"  # the legacy /api/v1/watch/... form
    if watch_path:
        parts = parts[1:]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces" and not (len(parts) == 3 and parts[2] in _NAMESPACE_SUBRESOURCES):
        namespace, parts = parts[1], parts[2:]
    # Only a proxy subresource has a path of its own below it (nodes/{name}/proxy/explain/node).
    if not parts or (len(parts) > 3 and parts[2] != "proxy"):
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    try:
        resource = by_path(group, version, parts[0])
    except UnknownResource as exc:
        raise errors.ApiError(404, "NotFound", str(exc)) from None
    if namespace is not None and not resource.namespaced:
        raise errors.ApiError(404, "NotFound", f"{resource.plural} are not namespaced")
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub is not None and sub not in resource.subresources:
        raise errors.ApiError(404, "NotFound", f"{resource.plural} has no subresource {sub!r}")
    return Target(resource, namespace, name, sub, watch_path)


async def read_body(request: Request) -> Any:
    """The decoded body; read once per request (a second call answers the same)."""
    if hasattr(request.state, "kajitori_body"):
        return request.state.kajitori_body
    request.state.kajitori_body = body = await _read_body(request)
    return body


async def _read_body(request: Request) -> Any:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise errors.ApiError(413, "RequestEntityTooLarge", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise errors.ApiError(413, "RequestEntityTooLarge", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return None
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    return decode_body(bytes(raw), content_type)


def _query_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"query parameter {name}={value!r} must be an integer") from None


def _selectors(request: Request) -> tuple[Any, Any]:
    try:
        labels = parse_label_selector(request.query_params.get("labelSelector"))
        fields = parse_field_selector(request.query_params.get("fieldSelector"))
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from None
    return labels, fields


def _page_meta(page: paging.Page) -> dict[str, Any]:
    """The ListMeta fields of a page beyond its resourceVersion."""
    meta: dict[str, Any] = {}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining is not None:
        meta["remainingItemCount"] = page.remaining
    return meta


def _list_body(resource: Resource, page: paging.Page) -> bytes:
    meta = {"resourceVersion": str(page.revision), **_page_meta(page)}
    head = orjson.dumps({"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta})
    return head[:-1] + b',"items":[' + b",".join(o.raw for o in page.items) + b"]}"


async def dispatch(state: ServerState, request: Request, group: str, version: str, rest: str) -> Response:
    target = parse_target(group, version, rest)
    write = state.writes.run
    r, ns, name, sub = target.resource, target.namespace, target.name, target.subresource
    method = request.method
    # A dry run is the same verbs over a store that keeps nothing (see dry_run). kubectl
    # delete and evictions send it in their DeleteOptions body rather than the query.
    dry = method != "GET" and query.dry_run(request.query_params)
    if method == "DELETE" or sub == "eviction":
        body = await read_body(request)
        options = body.get("deleteOptions") if sub == "eviction" and isinstance(body, dict) else body
        dry = query.dry_run_in_options(options) or dry
    api = dry_run_api(state.api) if dry else state.api
    try:
        if sub in ("log", "exec", "attach", "portforward", "proxy"):
            if state.proxy is None or name is None:
                raise errors.ApiError(503, "ServiceUnavailable", f"{r.plural}/{sub} is not available on this server")
            return await state.proxy(request, r, ns or "", name, sub)
        if name is None:
            return await _collection(state, api, request, target)
        if method == "GET":
            if sub == "scale":
                return json_response(api.get_scale(r, ns or "", name))
            if target.watch_path or request.query_params.get("watch") in ("true", "1"):
                return await _watch(state, request, target)
            stored, warning = await state.consistent_reads().get(r, ns, name, query.resource_version(request.query_params))
            if sub is None and (version_asked := table_version(request.headers.get("accept", ""))):
                rv = str((stored.obj.get("metadata") or {}).get("resourceVersion", stored.rv))
                return with_warning(table_response(request, version_asked, r, [stored.obj], rv), warning)
            return with_warning(json_response(stored.raw), warning)
        if method == "PUT":
            body = await read_body(request)
            manager, _ = request_manager(request.query_params, request.headers, apply=False)
            if sub == "scale":
                return json_response(await write(api.update_scale, r, ns or "", name, body, manager=manager))
            fields = field_validation(request)
            return warned(json_response(await write(api.update, r, ns, name, body, sub, fields=fields, manager=manager)), fields)
        if method == "PATCH":
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH) or (sub == "scale" and content_type == APPLY_PATCH):
                raise errors.ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}"
                    + ("" if sub == "scale" else f", {APPLY_PATCH}"),
                )
            manager, force = request_manager(request.query_params, request.headers, apply=content_type == APPLY_PATCH)
            patch = await read_body(request)
            if sub == "scale":
                return json_response(await write(api.patch_scale, r, ns or "", name, content_type, patch, manager=manager))
            fields = field_validation(request)
            if content_type == APPLY_PATCH:
                obj, created = await write(api.apply, r, ns, name, patch, sub, manager=manager, force=force, fields=fields)
                return warned(json_response(obj, 201 if created else 200), fields)
            return warned(json_response(await write(api.patch, r, ns, name, content_type, patch, sub, fields=fields, manager=manager)), fields)
        if method == "POST" and sub == "binding":
            status = await write(api.bind, ns or "", name, await read_body(request))
            return json_response(status.to_dict(), 201)
        if method == "POST" and sub == "token":
            if state.service_accounts is None:
                raise errors.ApiError(503, "ServiceUnavailable", "serviceaccounts/token is not available on this server")
            return json_response(request_token(api, state.service_accounts, ns or "", name, await read_body(request)), 201)
        if method == "POST" and sub == "eviction":
            status = await write(api.evict, ns or "", name, await read_body(request))
            return json_response(status.to_dict(), 201)
        if method == "DELETE" and sub is None:
            body = await read_body(request)
            options = DeleteOptions.from_body(
                body if isinstance(body, dict) else None,
                DeleteOptions(_query_int(request, "gracePeriodSeconds"), request.query_params.get("propagationPolicy")),
            )
            obj, _gone = await write(api.delete, r, ns, name, options)
            return json_response(obj)
        raise errors.ApiError(405, "MethodNotAllowed", f"{method} is not supported on {r.plural}{'/' + sub if sub else ''}")
    except StoreUnavailable as exc:
        log.warning("store unavailable: %s", exc)
        raise errors.ApiError(503, "ServiceUnavailable", f"storage unavailable: {exc}") from None
    except StoreError as exc:
        log.error("store error: %s", exc)
        raise errors.ApiError(500, "InternalError", f"storage error: {exc}") from None
    except errors.ApiError:
        raise
    except Exception as exc:
        # A bug must not cost the client its connection too: answered here, the 500 is an
        # ordinary response; past this point Starlette would re-raise it and uvicorn hang up.
        log.error("internal error on %s %s", method, request.url.path, exc_info=exc)
        return error_response(errors.ApiError(500, "InternalError", f"an internal error occurred: {type(exc).__name__}"))


async def _collection(state: ServerState, api: ResourceAPI, request: Request, target: Target) -> Response:
    r, ns, write = target.resource, target.namespace, state.writes.run
    if request.method == "GET":
        if target.watch_path or request.query_params.get("watch") in ("true", "1"):
            return await _watch(state, request, target)
        labels, fields = _selectors(request)
        query.non_negative_int(request.query_params, "timeoutSeconds")  # a list answers at once, but the value must parse
        page, warning = await state.consistent_reads().list(r, ns, labels, fields, query.ListOptions.from_query(request.query_params))
        if version_asked := table_version(request.headers.get("accept", "")):
            table = table_response(request, version_asked, r, [o.obj for o in page.items], str(page.revision), _page_meta(page))
            return with_warning(table, warning)
        return with_warning(json_response(_list_body(r, page)), warning)
    if request.method == "POST":
        body = await read_body(request)
        if r.namespaced and ns is None:
            raise errors.bad_request(f"{r.plural} are namespaced: POST to /{r.prefix.strip('/')}/namespaces/NAMESPACE/{r.plural}")
        fields = field_validation(request)
        manager, _ = request_manager(request.query_params, request.headers, apply=False)
        return warned(json_response(await write(api.create, r, ns, body, fields=fields, manager=manager), 201), fields)
    if request.method == "DELETE":
        labels, fields = _selectors(request)
        body = await read_body(request)
        options = DeleteOptions.from_body(
            body if isinstance(body, dict) else None,
            DeleteOptions(_query_int(request, "gracePeriodSeconds"), request.query_params.get("propagationPolicy")),
        )
        deleted = await write(api.delete_collection, r, ns, labels, fields, options)
        return json_response({"kind": r.list_kind, "apiVersion": r.api_version, "metadata": {}, "items": deleted})
    raise errors.ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on a collection")


async def _watch(state: ServerState, request: Request, target: Target) -> Response:
    labels, fields = _selectors(request)
    if target.name:
        fields = parse_field_selector(
            ",".join(filter(None, [request.query_params.get("fieldSelector"), f"metadata.name={target.name}"]))
        )
    options = query.ListOptions.from_query(request.query_params, watch=True)
    # 0 or none: the server's default (kube-apiserver picks 30-60 min at random).
    timeout = query.non_negative_int(request.query_params, "timeoutSeconds") or 1800
    table = table_version(request.headers.get("accept", ""))
    stream = WatchStream(
        state.watch_hub(),
        target.resource,
        target.namespace,
        labels,
        fields,
        bookmarks=request.query_params.get("allowWatchBookmarks") in ("true", "1"),
        timeout_s=float(timeout),
        encode=table_encoder(request, table, target.resource) if table else None,
        write_now=writer.bind() if (writer := request.scope.get(WRITE_NOW_KEY)) is not None else None,
    )
    stream.start(options.resource_version)
    return StreamingResponse(stream.stream(), media_type="application/json")


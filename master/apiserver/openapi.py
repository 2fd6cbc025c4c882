"""OpenAPI v3 as kube-apiserver serves it: an index, and one document per group-version.

``GET /openapi/v3`` answers ``{"paths": {"api/v1": {"serverRelativeURL":
"/openapi/v3/api/v1?hash=<SHA512>"}, "apis/apps/v1": ...}}``; each group-version's document
holds the paths of its resources with their verbs (each operation naming its
``x-kubernetes-group-version-kind`` and ``x-kubernetes-action``, and the query parameters
the server honours: kubectl looks for ``fieldValidation`` on a PATCH to decide the server
validates fields itself, and for ``application/strategic-merge-patch+json`` to compute its
apply patches from the schema) and ``components.schemas`` (``openapi_schemas``).

Documents are built once, on first request, and kept as bytes. The headers are
kube-apiserver's (kube-openapi's handler3): an ``ETag`` that is the quoted upper-case hex
SHA-512 of the bytes, ``Vary: Accept``; with ``?hash=`` equal to it ``Cache-Control:
public, immutable`` and an ``Expires`` a year ahead, with a stale hash a 301 to the current
URL; ``If-None-Match`` answers 304. Answers are JSON only (what kubectl and the official
client ask for): an Accept that allows no JSON gets 406.

``/openapi/v2`` stays an empty document. kubectl >= 1.27 explains and computes apply
patches from v3; it reads v2 only in gnostic's protobuf form and only as a fallback, and
an empty v2 document makes that fallback use kubectl's built-in types, which cover every
kind served.
"""

from __future__ import annotations

import hashlib
from email.utils import formatdate
from functools import cache
from time import time

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from kajitori.api.registry import RESOURCES, Resource
from master.apiserver import errors
from master.apiserver.openapi_schemas import META, Schema, all_schemas, closure, gvk, ref
from master.apiserver.patch import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH

PATCH_TYPES: tuple[str, ...] = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
_STARTED = formatdate(time(), usegmt=True)
_ONE_YEAR_S = 365 * 24 * 3600


def group_versions() -> list[tuple[str, str]]:
    """(group, version) of every group-version served, core first."""
    return sorted({(r.group, r.version) for r in RESOURCES})


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _param(name: str, where: str, description: str, schema: Schema | None = None, *, required: bool = False) -> Schema:
    param: Schema = {"name": name, "in": where, "description": description, "schema": schema or {"type": "string"}}
    if required:
        param["required"] = True
    return param


_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_NAMESPACE = _param("namespace", "path", "object name and auth scope, such as for teams and projects", required=True)
_PRETTY = _param("pretty", "query", "If 'true', then the output is pretty printed.")
_DRY_RUN = _param("dryRun", "query", "When present, indicates that modifications should not be persisted. Valid value: All.")
_FIELD_MANAGER = _param("fieldManager", "query", "A name associated with the actor or entity making the change.")
_FIELD_VALIDATION = _param(
    "fieldValidation",
    "query",
    "How the server treats fields the object's schema does not have: Ignore, Warn (the default) or Strict.",
)
_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query", "Ask for BOOKMARK events in a watch.", _BOOL),
    _param("continue", "query", "The continue token of the previous page of a paged list."),
    _param("fieldSelector", "query", "Only objects whose fields match (metadata.name=x, spec.nodeName=y)."),
    _param("labelSelector", "query", "Only objects whose labels match."),
    _param("limit", "query", "At most this many objects; the rest come with a continue token.", _INT),
    _param("resourceVersion", "query", "The resourceVersion to list at or watch from."),
    _param("resourceVersionMatch", "query", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    _param("timeoutSeconds", "query", "End a watch after this many seconds.", _INT),
    _param("watch", "query", "Watch for changes instead of listing.", _BOOL),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _param("gracePeriodSeconds", "query", "Seconds before the object is deleted; 0 deletes at once.", _INT),
    _param("propagationPolicy", "query", "Whether and how dependents are deleted: Orphan, Background or Foreground."),
]


def _json_body(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}, "application/yaml": {"schema": schema}}}


def _ok(schema: Schema, *codes: str) -> Schema:
    answer = {"description": "OK", **_json_body(schema)}
    responses = {code: {**answer, "description": {"200": "OK", "201": "Created", "202": "Accepted"}[code]} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


class _Builder:
    def __init__(self, group: str, version: str) -> None:
        self.group = group
        self.version = version
        self.paths: dict[str, Schema] = {}
        self.schema_names: list[str] = [f"{META}.Status", f"{META}.DeleteOptions"]
        # createCoreV1..., listAppsV1..., as kube-apiserver names its operations
        self.op_group = (group.split(".")[0].capitalize() if group else "Core") + version.capitalize()
        self.tag = f"{group.split('.')[0] if group else 'core'}_{version}"

    def op(self, verb: str, action: str, what: str, kind: dict[str, str], responses: Schema, params: list[Schema], body: Schema | None = None) -> Schema:
        operation: Schema = {
            "tags": [self.tag],
            "description": what,
            "operationId": verb,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": kind,
        }
        if params:
            operation["parameters"] = params
        if body is not None:
            operation["requestBody"] = {**body, "required": True}
        return operation

    def resource(self, r: Resource) -> None:
        kind = self.schema_names_for(r)
        obj, lst = ref(kind), ref(f"{kind}List")
        status = ref(f"{META}.Status")
        scope = "Namespaced" if r.namespaced else ""
        prefix = "/" + gv_path(r.group, r.version)
        collection = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
        item = f"{collection}/{{name}}"
        g = gvk(r)
        name = _param("name", "path", f"name of the {r.kind}", required=True)
        base = [_NAMESPACE, _PRETTY] if r.namespaced else [_PRETTY]
        write = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
        op = self.op_group
        self.paths[collection] = {
            "get": self.op(f"list{op}{scope}{r.kind}", "list", f"list or watch objects of kind {r.kind}", g, _ok(lst, "200"), _LIST_PARAMS),
            "post": self.op(f"create{op}{scope}{r.kind}", "post", f"create a {r.kind}", g, _ok(obj, "200", "201", "202"), write, _json_body(obj)),
            "delete": self.op(
                f"delete{op}Collection{scope}{r.kind}", "deletecollection", f"delete collection of {r.kind}", g, _ok(status, "200"),
                _LIST_PARAMS + _DELETE_PARAMS, _json_body(ref(f"{META}.DeleteOptions")),
            ),
            "parameters": base,
        }
        self.paths[item] = self.item_ops(r.kind, f"{scope}{r.kind}", g, obj, [name, *base], write, delete=True)
        if r.namespaced:
            self.paths[f"{prefix}/{r.plural}"] = {
                "get": self.op(f"list{op}{r.kind}ForAllNamespaces", "list", f"list or watch objects of kind {r.kind}", g, _ok(lst, "200"), _LIST_PARAMS),
                "parameters": [_PRETTY],
            }
        if "status" in r.subresources:
            self.paths[f"{item}/status"] = self.item_ops(f"status of the {r.kind}", f"{scope}{r.kind}Status", g, obj, [name, *base], write)
        if "scale" in r.subresources:
            scale = {"group": "autoscaling", "kind": "Scale", "version": "v1"}
            self.schema_names.append("io.k8s.api.autoscaling.v1.Scale")
            scale_ref = ref("io.k8s.api.autoscaling.v1.Scale")
            self.paths[f"{item}/scale"] = self.item_ops(f"scale of the {r.kind}", f"{scope}{r.kind}Scale", scale, scale_ref, [name, *base], write)

    def item_ops(self, what: str, op_name: str, kind: dict[str, str], obj: Schema, params: list[Schema], write: list[Schema], *, delete: bool = False) -> Schema:
        op = self.op_group
        ops = {
            "get": self.op(f"read{op}{op_name}", "get", f"read the specified {what}", kind, _ok(obj, "200"), []),
            "put": self.op(f"replace{op}{op_name}", "put", f"replace the specified {what}", kind, _ok(obj, "200", "201"), write, _json_body(obj)),
            "patch": self.op(
                f"patch{op}{op_name}", "patch", f"partially update the specified {what}", kind, _ok(obj, "200", "201"),
                [*write, _param("force", "query", "Force an apply patch over other managers' fields.", _BOOL)],
                {"content": {t: {"schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}} for t in PATCH_TYPES}},
            ),
            "parameters": params,
        }
        if delete:
            ops["delete"] = self.op(
                f"delete{op}{op_name}", "delete", f"delete a {what}", kind, _ok(ref(f"{META}.Status"), "200", "202"),
                _DELETE_PARAMS, _json_body(ref(f"{META}.DeleteOptions")),
            )  # fmt: skip
        return ops

    def schema_names_for(self, r: Resource) -> str:
        from master.apiserver.openapi_schemas import schema_name

        name = schema_name(r.model)
        self.schema_names += [name, f"{name}List"]
        return name

    def document(self, server_version: str) -> Schema:
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kajitori", "version": server_version},
            "paths": dict(sorted(self.paths.items())),
            "components": {
                "schemas": closure(self.schema_names),
                "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer token authentication", "name": "authorization", "in": "header"}},
            },
            "security": [{"BearerToken": []}],
        }


def group_version_document(group: str, version: str, server_version: str) -> Schema:
    all_schemas()
    builder = _Builder(group, version)
    for r in RESOURCES:
        if r.group == group and r.version == version:
            builder.resource(r)
    return builder.document(server_version)


class OpenAPIDocuments:
    """Each group-version's document as bytes with its hash, and the index of them all."""

    def __init__(self, server_version: str) -> None:
        self.server_version = server_version

    @cache  # noqa: B019 - one instance per app, kept for the app's life
    def documents(self) -> dict[str, tuple[bytes, str]]:
        docs = {}
        for group, version in group_versions():
            body = orjson.dumps(group_version_document(group, version, self.server_version))
            docs[gv_path(group, version)] = (body, hashlib.sha512(body).hexdigest().upper())
        return docs

    def url(self, path: str) -> str:
        return f"/openapi/v3/{path}?hash={self.documents()[path][1]}"

    @cache  # noqa: B019
    def index(self) -> tuple[bytes, str]:
        body = orjson.dumps({"paths": {path: {"serverRelativeURL": self.url(path)} for path in self.documents()}})
        return body, hashlib.sha512(body).hexdigest().upper()


def _accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    for media in accept.split(","):
        kind = media.split(";")[0].strip()
        if kind in ("application/json", "application/*", "*/*"):
            return True
    return False


def _served(request: Request, body: bytes, etag: str, headers: dict[str, str]) -> Response:
    headers = {"ETag": f'"{etag}"', "Last-Modified": _STARTED, **headers}
    match = request.headers.get("if-none-match", "")
    if match and (match.strip() == "*" or f'"{etag}"' in [m.strip() for m in match.split(",")]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def install(app: FastAPI, server_version: str) -> None:
    """Add ``/openapi/v3`` and ``/openapi/v3/{group-version}`` to the app."""
    docs = OpenAPIDocuments(server_version)

    @app.get("/openapi/v3")
    async def openapi_v3_index(request: Request) -> Response:
        body, etag = docs.index()
        return _served(request, body, etag, {})

    @app.get("/openapi/v3/{path:path}")
    async def openapi_v3_document(request: Request, path: str) -> Response:
        found = docs.documents().get(path.strip("/"))
        if found is None:
            raise errors.ApiError(404, "NotFound", f"the server could not find the requested resource (openapi/v3/{path})")
        if not _accepts_json(request.headers.get("accept", "")):
            return Response(status_code=406, headers={"Vary": "Accept"})
        body, etag = found
        headers = {"Vary": "Accept"}
        wanted = request.query_params.get("hash")
        if wanted:
            if wanted != etag:
                return RedirectResponse(docs.url(path.strip("/")), status_code=301, headers=headers)
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = formatdate(time() + _ONE_YEAR_S, usegmt=True)
        return _served(request, body, etag, headers)

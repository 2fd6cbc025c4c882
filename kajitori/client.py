"""The HTTP client of the Kajitori API (httpx, synchronous, thread-safe), for every kind.

One client serves all kinds: a typed call takes the model class (``client.get(Pod,
"web-1", "default")``) and returns the model; the ``*_raw`` calls take a ``Resource``
and plain dicts (the CLI's YAML). Errors come back as the exceptions below, mapped
from the server's ``Status`` (or from httpx) at this one boundary::

    ApiError                 any failure; .status is the server's Status dict, .code its HTTP code
    ├── NotFoundError        404
    ├── ConflictError        409 (a stale resourceVersion)
    │   └── AlreadyExistsError
    ├── InvalidError         422 (.causes name the fields)
    ├── UnauthorizedError    401
    ├── GoneError            410 (a watch resumed too late: relist)
    └── ServerUnavailable    the master cannot be reached (connection refused, timeout)

Writes may name a ``field_validation`` (Ignore, Warn, Strict: the server's answer to
fields Kubernetes does not have; the server's default is Warn). Warnings the server
sends (``Warning: 299 - "..."`` headers) go to the client's ``on_warning`` callback,
one call per warning, as client-go's WarningHandler; by default they are logged.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
import orjson

from kajitori import config as kubeconfig
from kajitori.api.meta import TypedObject
from kajitori.api.registry import Resource, by_kind, by_model

log = logging.getLogger(__name__)

T = TypeVar("T", bound=TypedObject)
PatchType = Literal["merge", "json", "strategic"]
FieldDirective = Literal["Ignore", "Warn", "Strict"]
WarningHandler = Callable[[str], None]
# One RFC 7234 warning: code, agent, quoted text (several may share a header, comma-separated).
_WARNING = re.compile(r'(\d{3}) +\S+ +"((?:[^"\\]|\\.)*)"')
_PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class ApiError(Exception):
    def __init__(self, code: int, status: dict[str, Any]) -> None:
        self.code = code
        self.status = status
        self.reason = status.get("reason", "")
        self.message = status.get("message") or f"HTTP {code}"
        super().__init__(self.message)

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list((self.status.get("details") or {}).get("causes") or [])


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    pass


class AlreadyExistsError(ConflictError):
    pass


class InvalidError(ApiError):
    pass


class UnauthorizedError(ApiError):
    pass


class GoneError(ApiError):
    pass


WATCH_SILENCE_S = 15.0
"""A watch with bookmarks that hears nothing this long is taken for a dead connection and ends."""


class ServerUnavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(0, {"reason": "ServiceUnavailable", "message": message})


def parse_warnings(values: list[str]) -> list[str]:
    """The texts of the 299 warnings in ``Warning`` header values, unquoted, in order."""
    texts = []
    for value in values:
        for code, quoted in _WARNING.findall(value):
            if code == "299":
                texts.append(re.sub(r"\\(.)", r"\1", quoted))
    return texts


def _log_warning(text: str) -> None:
    log.warning("the server warns: %s", text)


def api_error(code: int, body: bytes) -> ApiError:
    """The exception for a failed answer's HTTP code and body (a Status, or text): for callers not using ApiClient."""
    return _error(code, body)


def _error(code: int, body: bytes) -> ApiError:
    try:
        status = orjson.loads(body)
        if not isinstance(status, dict):
            raise ValueError
    except ValueError:
        status = {"message": body.decode(errors="replace")[:300] or f"HTTP {code}"}
    reason = status.get("reason")
    if code == 404:
        return NotFoundError(code, status)
    if code == 409:
        return AlreadyExistsError(code, status) if reason == "AlreadyExists" else ConflictError(code, status)
    if code == 422:
        return InvalidError(code, status)
    if code == 401:
        return UnauthorizedError(code, status)
    if code == 410:
        return GoneError(code, status)
    return ApiError(code, status)


@dataclass(frozen=True)
class WatchEvent(Generic[T]):
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    object: T | None  # None for BOOKMARK
    resource_version: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class ObjectList(Generic[T]):
    items: list[T]
    resource_version: str


class ApiClient:
    def __init__(
        self,
        cfg: kubeconfig.ClientConfig,
        *,
        timeout: float = 15.0,
        user_agent: str = "kajitori",
        on_warning: WarningHandler | None = None,
    ) -> None:
        self.config = cfg
        self.on_warning = on_warning or _log_warning
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if cfg.token:
            headers["Authorization"] = f"Bearer {cfg.token}"
        self._tls = cfg.ssl_context()
        self._http = httpx.Client(
            base_url=cfg.server,
            verify=self._tls,  # the master's own CA from the kubeconfig
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        )
        self._streams_lock = threading.Lock()
        self._streams: set[Any] = set()  # the network streams of watches being read now

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, **kwargs: Any) -> ApiClient:
        return cls(kubeconfig.load(path), **kwargs)

    def close(self) -> None:
        """Close every connection; a watch being read in another thread ends with ServerUnavailable.

        Its socket is shut down first, which wakes the reading thread with an end of stream.
        Closed without that, the socket's file descriptor is free while TLS in that thread may
        still read or write it by number: the next connection made anywhere in the process gets
        that number, and both see each other's bytes (CI saw WRONG_VERSION_NUMBER and
        BAD_RECORD_TYPE from exactly this)."""
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            sock = stream.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by its reader
        self._http.close()

    def reload_client_certificate(self, cert_pem: bytes, key_pem: bytes) -> None:
        """Present a renewed client certificate from now on, without a new client.

        The certificate goes into the TLS context every new connection is made with;
        connections already open keep the old one (still valid) until they close, so
        nothing in flight (a watch, a request) is cut.
        """
        if not isinstance(self._tls, ssl.SSLContext):
            raise ValueError("this client has no client certificate to renew")
        kubeconfig.load_client_certificate(self._tls, cert_pem, key_pem)
        self.config = dataclasses.replace(self.config, client_cert_pem=cert_pem, client_key_pem=key_pem)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        content = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        headers = {"Content-Type": content_type} if content is not None else None
        try:
            response = self._http.request(method, path, content=content, params=_clean(params), headers=headers)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"cannot reach the master at {self.config.server}: {_describe(exc)}") from exc
        for text in parse_warnings(response.headers.get_list("warning")):
            self.on_warning(text)
        if response.status_code >= 400:
            raise _error(response.status_code, response.content)
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return orjson.loads(response.content)
        return response.text

    # -- dict level (any resource) -----------------------------------------------

    def get_raw(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("GET", resource.path(self._ns(resource, namespace), name))  # type: ignore[no-any-return]

    def list_raw(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        params = {"labelSelector": label_selector, "fieldSelector": field_selector}
        return self.request("GET", resource.path(namespace if resource.namespaced else None), params=params)  # type: ignore[no-any-return]

    def create_raw(
        self,
        resource: Resource,
        obj: dict[str, Any],
        namespace: str | None = None,
        *,
        field_validation: FieldDirective | None = None,
    ) -> dict[str, Any]:
        ns = namespace or obj.get("metadata", {}).get("namespace")
        params = {"fieldValidation": field_validation}
        return self.request("POST", resource.path(self._ns(resource, ns)), body=obj, params=params)  # type: ignore[no-any-return]

    def update_raw(
        self,
        resource: Resource,
        obj: dict[str, Any],
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        field_validation: FieldDirective | None = None,
    ) -> dict[str, Any]:
        meta = obj.get("metadata", {})
        ns = namespace or meta.get("namespace")
        path = resource.path(self._ns(resource, ns), meta["name"], subresource)
        return self.request("PUT", path, body=obj, params={"fieldValidation": field_validation})  # type: ignore[no-any-return]

    def patch_raw(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_validation: FieldDirective | None = None,
    ) -> dict[str, Any]:
        path = resource.path(self._ns(resource, namespace), name, subresource)
        params = {"fieldValidation": field_validation}
        return self.request("PATCH", path, body=patch, params=params, content_type=_PATCH_TYPES[patch_type])  # type: ignore[no-any-return]

    def delete_raw(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if preconditions:
            body["preconditions"] = preconditions
        return self.request("DELETE", resource.path(self._ns(resource, namespace), name), body=body)  # type: ignore[no-any-return]

    def watch_raw(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Yield raw watch events until the server ends the stream (then the caller re-watches)."""
        params = _clean(
            {
                "watch": "true",
                "resourceVersion": resource_version,
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
                "timeoutSeconds": timeout_seconds,
                "allowWatchBookmarks": "true" if bookmarks else None,
            }
        )
        path = resource.path(namespace if resource.namespaced else None)
        # Bookmarks arrive every 5 s on an idle watch, so three missed ones mean a dead connection:
        # a master gone while its address moved to another (the three-master lab's virtual IP)
        # sends no reset to a client that only reads, and 60 s of waiting kept new pods unstarted.
        timeout = httpx.Timeout(10.0, read=WATCH_SILENCE_S if bookmarks else None)
        try:
            with self._http.stream("GET", path, params=params, timeout=timeout) as response:
                stream = response.extensions.get("network_stream")
                with self._streams_lock:
                    self._streams.add(stream)
                try:
                    if response.status_code >= 400:
                        response.read()
                        raise _error(response.status_code, response.content)
                    for line in ndjson_lines(response.iter_bytes()):
                        if not line.strip():
                            continue
                        event = orjson.loads(line)
                        if event.get("type") == "ERROR":
                            status = event.get("object") or {}
                            raise _error(int(status.get("code") or 500), orjson.dumps(status))
                        yield event
                finally:
                    with self._streams_lock:
                        self._streams.discard(stream)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"watch of {resource.plural} broke: {_describe(exc)}") from exc

    # -- typed level ----------------------------------------------------------------

    def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        return model.model_validate(self.get_raw(by_model(model), name, namespace))

    def list(
        self,
        model: type[T],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList[T]:
        doc = self.list_raw(by_model(model), namespace, label_selector=label_selector, field_selector=field_selector)
        return ObjectList([model.model_validate(i) for i in doc.get("items") or []], doc["metadata"].get("resourceVersion", ""))

    def create(self, obj: T, namespace: str | None = None, *, field_validation: FieldDirective | None = None) -> T:
        raw = self.create_raw(by_model(type(obj)), obj.to_dict(), namespace, field_validation=field_validation)
        return type(obj).model_validate(raw)

    def update(self, obj: T, *, field_validation: FieldDirective | None = None) -> T:
        return type(obj).model_validate(self.update_raw(by_model(type(obj)), obj.to_dict(), field_validation=field_validation))

    def update_status(self, obj: T) -> T:
        return type(obj).model_validate(self.update_raw(by_model(type(obj)), obj.to_dict(), subresource="status"))

    def patch(
        self,
        model: type[T],
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_validation: FieldDirective | None = None,
    ) -> T:
        raw = self.patch_raw(
            by_model(model), name, patch, namespace,
            patch_type=patch_type, subresource=subresource, field_validation=field_validation,
        )  # fmt: skip
        return model.model_validate(raw)

    def delete(
        self,
        model: type[T],
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> None:
        """Deletes; `uid` and `resource_version` are preconditions (409 if the object is another or changed)."""
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        self.delete_raw(
            by_model(model),
            name,
            namespace,
            grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy,
            preconditions=preconditions or None,
        )

    def bind(self, namespace: str, name: str, node_name: str, *, uid: str | None = None) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace, **({"uid": uid} if uid else {})},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        self.request("POST", f"/api/v1/namespaces/{namespace}/pods/{name}/binding", body=body)

    def watch(
        self,
        model: type[T],
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> Iterator[WatchEvent[T]]:
        for event in self.watch_raw(
            by_model(model),
            namespace,
            resource_version=resource_version,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
        ):
            raw = event.get("object") or {}
            rv = (raw.get("metadata") or {}).get("resourceVersion", "")
            obj = None if event["type"] == "BOOKMARK" else model.model_validate(raw)
            yield WatchEvent(event["type"], obj, rv, raw)

    def _ns(self, resource: Resource, namespace: str | None) -> str | None:
        if not resource.namespaced:
            return None
        return namespace or self.config.namespace


def resource_of(obj: dict[str, Any]) -> Resource:
    """The resource a manifest names with apiVersion + kind (raises UnknownResource)."""
    return by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def ndjson_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a newline-delimited JSON stream, split on b"\\n" only.

    Not httpx's ``iter_lines``: it splits text the way ``str.splitlines`` does, also on
    U+2028, U+2029 and U+0085, which JSON strings carry unescaped, so one annotation
    holding such a character would cut its event in two.
    """
    pending: list[bytes] = []  # the start of a line longer than a chunk, joined once at its end
    for chunk in chunks:
        *lines, tail = chunk.split(b"\n")
        if lines:
            lines[0] = b"".join([*pending, lines[0]])
            pending = []
            yield from lines
        if tail:
            pending.append(tail)
    if pending:
        yield b"".join(pending)

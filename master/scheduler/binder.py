"""Writing Bindings: one small keep-alive HTTP connection per binder thread.

A binding is the scheduler's one write per pod, so its client cost sets how many pods
a second the scheduler can place: ``httpx`` spends about as much of the interpreter
on one POST as a whole scheduling cycle does. ``HttpBinder`` sends the same
``POST .../pods/{name}/binding`` over the standard library's ``http.client``, one
persistent connection per thread (reopened once when the server has closed it), and
raises the client's own errors (``NotFoundError``, ``ConflictError``, ``ApiError``,
``ServerUnavailable``) so callers cannot tell it from ``ApiClient.bind``.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from urllib.parse import quote, urlsplit

import orjson

from kajitori.client import ApiClient, ApiError, ConflictError, NotFoundError, ServerUnavailable


class HttpBinder:
    def __init__(self, client: ApiClient, timeout: float = 15.0) -> None:
        url = urlsplit(client.config.server)
        self._https = url.scheme == "https"
        self._ssl = _ssl_context(client.config.ssl_context()) if self._https else None
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "kajitori-scheduler"}
        if client.config.token:
            self._headers["Authorization"] = f"Bearer {client.config.token}"
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._ssl is not None:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._ssl)
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def bind(self, namespace: str, name: str, node_name: str, *, uid: str | None = None) -> None:
        body = orjson.dumps({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace, **({"uid": uid} if uid else {})},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        })  # fmt: skip
        path = f"{self._prefix}/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}/binding"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", path, body=body, headers=self._headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                # A keep-alive connection the server closed: open a fresh one and send once more
                # (a binding sent twice answers 409, which callers already treat as bound).
                self._drop()
                if attempt == 2:
                    raise ServerUnavailable(f"binding {namespace}/{name}: {exc!r}") from exc
        if response.status < 300:
            return
        try:
            status = orjson.loads(data)
            if not isinstance(status, dict):
                raise ValueError
        except ValueError:
            status = {"message": data.decode(errors="replace")[:300] or f"HTTP {response.status}"}
        if response.status == 404:
            raise NotFoundError(response.status, status)
        if response.status == 409:
            raise ConflictError(response.status, status)
        raise ApiError(response.status, status)


def _ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The kubeconfig's trust (its CA, the system's, or none) as an ``ssl.SSLContext``."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify:
        return ssl.create_default_context()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context

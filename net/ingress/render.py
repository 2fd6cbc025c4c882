"""Ingresses, Services, Endpoints and TLS Secrets → one nginx configuration (a pure function).

`render(inputs, settings)` owns the whole translation and nothing else: no I/O, so the
unit tests are tables of objects → expected text. What it guarantees:

- One ``server`` per host of the Ingresses' rules (Ingresses merged, oldest first), plus a
  default server for rules without a host, the first ``defaultBackend`` and everything
  else (404; on 443 it refuses the handshake of an unknown name). A ``*.example.test``
  host matches exactly one label, as Kubernetes says (a regex server name).
- Kubernetes' path matching: Exact ``/p`` is ``location = /p``; Prefix ``/p`` matches
  ``/p`` and ``/p/...`` element-wise (never ``/pq``): ``location = /p`` plus
  ``location ^~ /p/``, so nginx's longest-prefix choice is Kubernetes' and an Exact path
  wins over a Prefix of the same path. ImplementationSpecific is read as Prefix. The same
  host+path claimed twice keeps the oldest Ingress's and reports the other.
- Backends: an ``upstream`` of the Service's ready endpoint addresses on the port the
  Service port maps to. A Service that is missing, has no such port or no ready address
  gives a 503 page naming it, and a `Problem` for that Ingress (an Event).
- TLS with SNI per host: the ``kubernetes.io/tls`` Secret's certificate and key go into
  one file per Secret content (written 0600 by the caller); a missing Secret serves that
  host on 443 with the fallback certificate and a 503 page naming the Secret.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
NamespacedName = tuple[str, str]

# Characters a path may hold in the rendered config: a path with anything else (quotes,
# spaces, braces, semicolons, backslashes) is refused for its Ingress, never written.
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9\-._~/%!&()*+,=:@]*$")


@dataclass(frozen=True)
class RenderSettings:
    """Where the rendered configuration points, and the ports it listens on."""

    http_port: int = 80
    https_port: int = 443
    cert_dir: str = "/etc/kajitori-ingress/certs"
    """Where the Secrets' certificate files live (the caller writes them)."""
    pid_file: str = "/run/kajitori-ingress-nginx.pid"
    fallback_cert: str = "/etc/kajitori-ingress/fallback.pem"
    """A self-signed certificate+key served for hosts whose TLS Secret is missing."""
    worker_processes: int = 1


@dataclass(frozen=True)
class Problem:
    """Something wrong with one Ingress, recorded as a Warning Event on it."""

    ingress: NamespacedName
    reason: str
    message: str


@dataclass
class RenderInputs:
    """The objects the configuration is made of, as the informers hold them (JSON dicts)."""

    ingresses: list[Obj]
    services: Mapping[NamespacedName, Obj] = field(default_factory=dict)
    endpoints: Mapping[NamespacedName, Obj] = field(default_factory=dict)
    secrets: Mapping[NamespacedName, Obj] = field(default_factory=dict)


@dataclass
class Rendered:
    config: str
    certificates: dict[str, bytes]
    """File name (inside cert_dir) → PEM certificate and key, for the caller to write 0600."""
    problems: list[Problem]


@dataclass
class _Location:
    match: str  # "=" or "^~" or "" (the root prefix)
    path: str
    body: str  # the directives inside
    implicit: bool = False  # the "= /p" a Prefix /p adds: an Exact /p replaces it


@dataclass
class _Server:
    host: str  # "" for the default server
    locations: dict[tuple[str, str], _Location] = field(default_factory=dict)
    owners: dict[tuple[str, str], NamespacedName] = field(default_factory=dict)
    tls_file: str | None = None
    tls_missing: str | None = None  # "ns/name" of a missing Secret
    fallback: _Location | None = None  # the Ingress's defaultBackend for unmatched paths


def _key(obj: Obj) -> NamespacedName:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "default", meta.get("name") or ""


def _sort_key(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("creationTimestamp") or "", meta.get("namespace") or "", meta.get("name") or ""


def _quote(text: str) -> str:
    """An nginx string literal ending in a newline: double quotes, with backslash and quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '\\n"'


def _page_503(text: str) -> str:
    return f"default_type text/plain; return 503 {_quote(text)};"


def _upstream_name(namespace: str, service: str, port: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{namespace}_{service}_{port}")


def _server_name(host: str) -> str:
    if host.startswith("*."):
        # Kubernetes' wildcard stands for exactly one label; nginx's "*.x" for any number.
        return "~^[^.]+" + re.escape(host[1:]) + "$"
    return host


class _Builder:
    def __init__(self, inputs: RenderInputs, settings: RenderSettings) -> None:
        self.inputs = inputs
        self.settings = settings
        self.upstreams: dict[str, list[str]] = {}
        self.servers: dict[str, _Server] = {"": _Server("")}
        self.certificates: dict[str, bytes] = {}
        self.problems: list[Problem] = []

    def problem(self, ingress: Obj, reason: str, message: str) -> None:
        item = Problem(_key(ingress), reason, message)
        if item not in self.problems:
            self.problems.append(item)

    # ---------------------------------------------------------------- backends

    def backend_body(self, ingress: Obj, backend: Obj) -> str:
        """The directives of a location that sends to `backend` (or a 503 naming what is missing)."""
        namespace = _key(ingress)[0]
        service = backend.get("service")
        if not service:
            resource = backend.get("resource") or {}
            text = f"resource backend {resource.get('kind', '')}/{resource.get('name', '')} is not supported by kajitori"
            self.problem(ingress, "UnsupportedBackend", text)
            return _page_503(text)
        name = service.get("name", "")
        port = service.get("port") or {}
        wanted = port.get("number") if port.get("number") is not None else port.get("name")
        svc = self.inputs.services.get((namespace, name))
        if svc is None:
            text = f"service {namespace}/{name} not found"
            self.problem(ingress, "ServiceNotFound", text)
            return _page_503(text)
        svc_port = next(
            (
                p
                for p in (svc.get("spec") or {}).get("ports") or []
                if (p.get("port") == wanted if isinstance(wanted, int) else p.get("name") == wanted)
            ),
            None,
        )
        if svc_port is None:
            text = f"service {namespace}/{name} has no port {wanted}"
            self.problem(ingress, "ServicePortNotFound", text)
            return _page_503(text)
        servers = self.endpoint_addresses((namespace, name), svc_port)
        if not servers:
            return _page_503(f"service {namespace}/{name} port {wanted} has no ready endpoints")
        upstream = _upstream_name(namespace, name, str(wanted))
        self.upstreams[upstream] = servers
        return f"proxy_pass http://{upstream};"

    def endpoint_addresses(self, service: NamespacedName, svc_port: Obj) -> list[str]:
        endpoints = self.inputs.endpoints.get(service) or {}
        port_name = svc_port.get("name") or ""
        found: set[str] = set()
        for subset in endpoints.get("subsets") or []:
            ports = subset.get("ports") or []
            match = next((p for p in ports if (p.get("name") or "") == port_name), None)
            if match is None and len(ports) == 1 and not port_name:
                match = ports[0]
            if match is None or match.get("protocol", "TCP") != "TCP":
                continue
            for address in subset.get("addresses") or []:
                if address.get("ip"):
                    found.add(f"{address['ip']}:{match.get('port')}")
        return sorted(found)

    # ---------------------------------------------------------------- TLS

    def tls_file(self, ingress: Obj, secret_name: str) -> str | None:
        """The certificate file of a Secret (its name in cert_dir), or None when it is missing or unusable."""
        namespace = _key(ingress)[0]
        secret = self.inputs.secrets.get((namespace, secret_name))
        if secret is None:
            self.problem(ingress, "SecretNotFound", f"TLS secret {namespace}/{secret_name} not found")
            return None
        data = secret.get("data") or {}
        try:
            cert = base64.b64decode(data.get("tls.crt") or "", validate=True)
            key = base64.b64decode(data.get("tls.key") or "", validate=True)
        except ValueError:
            cert = key = b""
        if not cert or not key:
            self.problem(
                ingress, "InvalidSecret", f"TLS secret {namespace}/{secret_name} has no tls.crt and tls.key"
            )
            return None
        pem = cert.rstrip(b"\n") + b"\n" + key.rstrip(b"\n") + b"\n"
        name = f"{namespace}_{secret_name}_{hashlib.sha256(pem).hexdigest()[:12]}.pem"
        self.certificates[name] = pem
        return name

    # ---------------------------------------------------------------- rules

    def add_location(self, server: _Server, ingress: Obj, match: str, path: str, body: str, *, implicit: bool = False) -> None:
        key = (match, path)
        owner = server.owners.get(key)
        if owner is not None and server.locations[key].implicit and not implicit:
            owner = None  # an Exact path wins over the exact half of a Prefix of the same path
        if owner is not None:
            if owner != _key(ingress):
                where = server.host or "*"
                self.problem(
                    ingress,
                    "PathConflict",
                    f"host {where} path {path} is already served by ingress {owner[0]}/{owner[1]}",
                )
            return
        server.owners[key] = _key(ingress)
        server.locations[key] = _Location(match, path, body, implicit)

    def add_path(self, server: _Server, ingress: Obj, entry: Obj) -> None:
        path = entry.get("path") or "/"
        if not _SAFE_PATH.match(path):
            self.problem(ingress, "UnsupportedPath", f"path {path!r} has characters kajitori does not route")
            return
        body = self.backend_body(ingress, entry.get("backend") or {})
        if entry.get("pathType") == "Exact":
            self.add_location(server, ingress, "=", path, body)
            return
        # Prefix (and ImplementationSpecific): element-wise, a trailing '/' means the same.
        prefix = path.rstrip("/")
        if not prefix:
            self.add_location(server, ingress, "", "/", body)
            return
        if ("=", prefix) not in server.locations:
            self.add_location(server, ingress, "=", prefix, body, implicit=True)
        self.add_location(server, ingress, "^~", prefix + "/", body)

    def add_ingress(self, ingress: Obj) -> None:
        spec = ingress.get("spec") or {}
        tls_hosts: dict[str, str | None] = {}
        tls_missing: dict[str, str] = {}
        for tls in spec.get("tls") or []:
            secret_name = tls.get("secretName")
            if not secret_name:
                continue
            file = self.tls_file(ingress, secret_name)
            for host in tls.get("hosts") or []:
                if host not in tls_hosts:  # the first entry naming a host is the one served
                    tls_hosts[host] = file
                    if file is None:
                        tls_missing[host] = f"{_key(ingress)[0]}/{secret_name}"
        default = spec.get("defaultBackend")
        default_body = self.backend_body(ingress, default) if default else None
        for rule in spec.get("rules") or []:
            host = rule.get("host") or ""
            server = self.servers.setdefault(host, _Server(host))
            if host in tls_hosts and server.tls_file is None and server.tls_missing is None:
                server.tls_file = tls_hosts[host]
                server.tls_missing = tls_missing.get(host)
            if default_body is not None and host and server.fallback is None:
                server.fallback = _Location("", "/", default_body)
            for entry in (rule.get("http") or {}).get("paths") or []:
                self.add_path(server, ingress, entry)
        if default_body is not None:
            root = self.servers[""]
            if root.fallback is None:
                root.fallback = _Location("", "/", default_body)

    # ---------------------------------------------------------------- text

    def text(self) -> str:
        s = self.settings
        out = [
            "# Rendered by kajitori's ingress controller (net/ingress/render.py); rewritten on every change.",
            f"worker_processes {s.worker_processes};",
            f"pid {s.pid_file};",
            "error_log stderr warn;",
            "events { worker_connections 1024; }",
            "http {",
            "    access_log off;",
            "    server_tokens off;",
            "    server_names_hash_bucket_size 128;",
            "    proxy_http_version 1.1;",
            '    proxy_set_header Connection "";',
            "    proxy_set_header Host $host;",
            "    proxy_set_header X-Real-IP $remote_addr;",
            "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "    proxy_set_header X-Forwarded-Proto $scheme;",
            "    proxy_next_upstream error timeout http_502;",
            "    proxy_connect_timeout 5s;",
        ]
        for name in sorted(self.upstreams):
            out.append(f"    upstream {name} {{")
            out.extend(f"        server {server} max_fails=0;" for server in self.upstreams[name])
            out.append("        keepalive 16;")
            out.append("    }")
        for host in sorted(self.servers):
            out.extend(self.server_text(self.servers[host]))
        out.append("}")
        return "\n".join(out) + "\n"

    def server_text(self, server: _Server) -> list[str]:
        s = self.settings
        out = ["    server {"]
        if not server.host:
            out.append(f"        listen {s.http_port} default_server;")
            out.append(f"        listen {s.https_port} ssl default_server;")
            out.append("        ssl_reject_handshake on;")
            out.append("        server_name _;")
        else:
            out.append(f"        listen {s.http_port};")
            if server.tls_file is not None or server.tls_missing is not None:
                cert = f"{s.cert_dir}/{server.tls_file}" if server.tls_file else s.fallback_cert
                out.append(f"        listen {s.https_port} ssl;")
                out.append(f"        ssl_certificate {cert};")
                out.append(f"        ssl_certificate_key {cert};")
            out.append(f"        server_name {_server_name(server.host)};")
        locations = dict(server.locations)
        if ("", "/") not in locations:
            locations[("", "/")] = server.fallback or _Location(
                "", "/", 'default_type text/plain; return 404 "default backend - 404\\n";'
            )
        for key in sorted(locations, key=lambda k: (k[1], k[0])):
            location = locations[key]
            head = f"{location.match} {location.path}" if location.match else location.path
            body = location.body
            if server.tls_missing is not None:
                missing = _quote(f"TLS secret {server.tls_missing} not found")
                body = f"if ($scheme = https) {{ return 503 {missing}; }} {body}"
                if not body.startswith("default_type") and "default_type" not in body:
                    body = f"default_type text/plain; {body}"
            out.append(f"        location {head} {{ {body} }}")
        out.append("    }")
        return out


def render(inputs: RenderInputs, settings: RenderSettings) -> Rendered:
    """The nginx configuration for `inputs` (Ingresses oldest first), its certificate files and the problems found."""
    builder = _Builder(inputs, settings)
    for ingress in sorted(inputs.ingresses, key=_sort_key):
        builder.add_ingress(ingress)
    text = builder.text()
    # Every answer names the configuration that gave it (X-Kajitori-Config), so a reader can tell
    # which of two configurations served a request while a reload is under way.
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    text = text.replace("http {\n", f"http {{\n    add_header X-Kajitori-Config {digest} always;\n", 1)
    return Rendered(text, builder.certificates, builder.problems)

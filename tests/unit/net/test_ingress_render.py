"""Ingresses, Services, Endpoints and Secrets → nginx configuration: tables of inputs and the servers and locations expected."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from net.ingress.render import Problem, RenderInputs, RenderSettings, render

SETTINGS = RenderSettings(cert_dir="/c", pid_file="/p.pid", fallback_cert="/fallback.pem")
SERVICES: dict[tuple[str, str], dict[str, Any]] = {
    ("default", "a"): {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}},
    ("default", "b"): {"spec": {"ports": [{"name": "http", "port": 8000}]}},
    ("default", "idle"): {"spec": {"ports": [{"port": 80}]}},
}
ENDPOINTS: dict[tuple[str, str], dict[str, Any]] = {
    ("default", "a"): {"subsets": [{"addresses": [{"ip": "10.244.2.5"}, {"ip": "10.244.1.5"}], "ports": [{"port": 8080}]}]},
    ("default", "b"): {"subsets": [{"addresses": [{"ip": "10.244.1.6"}], "notReadyAddresses": [{"ip": "10.244.1.7"}],
                                    "ports": [{"name": "http", "port": 80}]}]},
}  # fmt: skip
TLS: dict[str, Any] = {"type": "kubernetes.io/tls", "data": {"tls.crt": base64.b64encode(b"CERT").decode(), "tls.key": base64.b64encode(b"KEY").decode()}}


def svc(name: str, port: int | str = 80) -> dict[str, Any]:
    return {"service": {"name": name, "port": {"number": port} if isinstance(port, int) else {"name": port}}}


def path(p: str | None, kind: str, backend: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"pathType": kind, "backend": backend}
    if p is not None:
        entry["path"] = p
    return entry


def ing(name: str, *rules: tuple[str | None, list[dict[str, Any]]], created: str = "2026-01-01T00:00:00Z", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"rules": [{**({"host": h} if h else {}), "http": {"paths": ps}} for h, ps in rules], **spec}
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": created}, "spec": body}


def servers(config: str) -> dict[str, list[str]]:
    """server_name → its listen, ssl and location lines (stripped), in order."""
    found: dict[str, list[str]] = {}
    for block in config.split("    server {")[1:]:
        lines = [line.strip() for line in block.splitlines()]
        name = next(line for line in lines if line.startswith("server_name")).removeprefix("server_name ").rstrip(";")
        found[name] = [line for line in lines if line.startswith(("listen", "ssl_certificate ", "location"))]
    return found


CASES = [
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("a"))]))],
        {"a.test": ["listen 80;", "location / { proxy_pass http://default_a_80; }"]},
        [],
        id="one host, prefix /",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/foo", "Prefix", svc("a")), path("/foo", "Exact", svc("b", "http"))]))],
        {"a.test": [
            "listen 80;",
            'location / { default_type text/plain; return 404 "default backend - 404\\n"; }',
            "location = /foo { proxy_pass http://default_b_http; }",
            "location ^~ /foo/ { proxy_pass http://default_a_80; }",
        ]},
        [],
        id="Exact wins over Prefix of the same path; prefix is element-wise",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/foo/", "Prefix", svc("a")), path("/foo/bar", "ImplementationSpecific", svc("b", "http"))]))],
        {"a.test": [
            "listen 80;",
            'location / { default_type text/plain; return 404 "default backend - 404\\n"; }',
            "location = /foo { proxy_pass http://default_a_80; }",
            "location ^~ /foo/ { proxy_pass http://default_a_80; }",
            "location = /foo/bar { proxy_pass http://default_b_http; }",
            "location ^~ /foo/bar/ { proxy_pass http://default_b_http; }",
        ]},
        [],
        id="a trailing slash is the same prefix; the longer prefix is its own location",
    ),
    pytest.param(
        [ing("web", (None, [path("/", "Prefix", svc("b", "http"))]))],
        {"_": ["listen 80 default_server;", "listen 443 ssl default_server;", "location / { proxy_pass http://default_b_http; }"]},
        [],
        id="a rule without a host goes to the default server",
    ),
    pytest.param(
        [ing("web", ("*.apps.test", [path("/", "Prefix", svc("a"))]))],
        {"~^[^.]+\\.apps\\.test$": ["listen 80;", "location / { proxy_pass http://default_a_80; }"]},
        [],
        id="a wildcard host stands for one label",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("gone"))]))],
        {"a.test": ["listen 80;", 'location / { default_type text/plain; return 503 "service default/gone not found\\n"; }']},
        [Problem(("default", "web"), "ServiceNotFound", "service default/gone not found")],
        id="a missing Service is a 503 naming it and a problem",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("a", 81))]))],
        {"a.test": ["listen 80;", 'location / { default_type text/plain; return 503 "service default/a has no port 81\\n"; }']},
        [Problem(("default", "web"), "ServicePortNotFound", "service default/a has no port 81")],
        id="a port the Service lacks",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("idle"))]))],
        {"a.test": ["listen 80;", 'location / { default_type text/plain; return 503 "service default/idle port 80 has no ready endpoints\\n"; }']},
        [],
        id="no ready endpoints: 503, no upstream",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("a"))]), tls=[{"hosts": ["a.test"], "secretName": "tls-a"}])],
        {"a.test": ["listen 80;", "listen 443 ssl;", "ssl_certificate /c/default_tls-a_50fd567d92c1.pem;",
                    "location / { proxy_pass http://default_a_80; }"]},
        [],
        id="TLS from the Secret's certificate and key",
    ),
    pytest.param(
        [ing("web", ("a.test", [path("/", "Prefix", svc("a"))]), tls=[{"hosts": ["a.test"], "secretName": "nope"}])],
        {"a.test": ["listen 80;", "listen 443 ssl;", "ssl_certificate /fallback.pem;",
                    'location / { default_type text/plain; if ($scheme = https) { return 503 "TLS secret default/nope not found\\n"; } proxy_pass http://default_a_80; }']},
        [Problem(("default", "web"), "SecretNotFound", "TLS secret default/nope not found")],
        id="a missing TLS Secret: fallback certificate, 503 over https naming it",
    ),
    pytest.param(
        [ing("new", ("a.test", [path("/", "Prefix", svc("b", "http"))]), created="2026-01-02T00:00:00Z"),
         ing("old", ("a.test", [path("/", "Prefix", svc("a")), path("/x", "Exact", svc("b", "http"))]))],
        {"a.test": ["listen 80;", "location / { proxy_pass http://default_a_80; }", "location = /x { proxy_pass http://default_b_http; }"]},
        [Problem(("default", "new"), "PathConflict", "host a.test path / is already served by ingress default/old")],
        id="two Ingresses merge per host; the oldest keeps a path both claim",
    ),
    pytest.param(
        [ing("web", ("a.test", [path('/a"b', "Prefix", svc("a"))]))],
        {"a.test": ["listen 80;", 'location / { default_type text/plain; return 404 "default backend - 404\\n"; }']},
        [Problem(("default", "web"), "UnsupportedPath", "path '/a\"b' has characters kajitori does not route")],
        id="a path nginx could misread is refused, never written",
    ),
    pytest.param(
        [{"metadata": {"name": "d", "namespace": "default"}, "spec": {"defaultBackend": svc("a")}}],
        {"_": ["listen 80 default_server;", "listen 443 ssl default_server;", "location / { proxy_pass http://default_a_80; }"]},
        [],
        id="defaultBackend serves what no rule matches",
    ),
]


@pytest.mark.parametrize(("ingresses", "expected", "problems"), CASES)
def test_render(ingresses: list[dict[str, Any]], expected: dict[str, list[str]], problems: list[Problem]) -> None:
    rendered = render(RenderInputs(ingresses, SERVICES, ENDPOINTS, {("default", "tls-a"): TLS}), SETTINGS)
    got = servers(rendered.config)
    for name, lines in expected.items():
        assert got[name] == lines, rendered.config
    assert set(got) == {"_", *expected}
    assert rendered.problems == problems


def test_upstreams_hold_the_ready_endpoints_on_the_target_port() -> None:
    ingresses = [ing("web", ("a.test", [path("/", "Prefix", svc("a")), path("/b", "Prefix", svc("b", "http"))]))]
    config = render(RenderInputs(ingresses, SERVICES, ENDPOINTS), SETTINGS).config
    upstreams = dict(re.findall(r"upstream (\w+) \{\n((?:\s+server [^\n]+\n)+)", config))
    assert upstreams["default_a_80"].split() == ["server", "10.244.1.5:8080", "max_fails=0;", "server", "10.244.2.5:8080", "max_fails=0;"]
    assert upstreams["default_b_http"].split() == ["server", "10.244.1.6:80", "max_fails=0;"]


def test_certificate_files_hold_certificate_then_key_named_by_content() -> None:
    ingresses = [ing("web", ("a.test", [path("/", "Prefix", svc("a"))]), tls=[{"hosts": ["a.test"], "secretName": "tls-a"}])]
    rendered = render(RenderInputs(ingresses, SERVICES, ENDPOINTS, {("default", "tls-a"): TLS}), SETTINGS)
    assert rendered.certificates == {"default_tls-a_50fd567d92c1.pem": b"CERT\nKEY\n"}


def test_the_same_inputs_render_the_same_text() -> None:
    ingresses = [ing("b", ("b.test", [path("/", "Prefix", svc("a"))])), ing("a", ("a.test", [path("/", "Prefix", svc("b", "http"))]))]
    first = render(RenderInputs(ingresses, SERVICES, ENDPOINTS), SETTINGS).config
    assert render(RenderInputs(list(reversed(ingresses)), SERVICES, ENDPOINTS), SETTINGS).config == first

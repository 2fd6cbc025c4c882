"""networking.k8s.io/v1 Ingress and IngressClass through the API server: Kubernetes' rules as 422s naming the field, the default class."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.unit.master.inprocess import api_server

INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
CLASSES = "/apis/networking.k8s.io/v1/ingressclasses"
SERVICE_BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


def ingress(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rules": [{"host": "a.test", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": SERVICE_BACKEND}]}}]
    }
    base.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing"}, "spec": base}


def with_path(**path: Any) -> dict[str, Any]:
    body = ingress()
    entry = body["spec"]["rules"][0]["http"]["paths"][0]
    entry.update(path)
    for key, value in list(entry.items()):
        if value is None:
            del entry[key]
    return body


def with_host(host: str) -> dict[str, Any]:
    body = ingress()
    body["spec"]["rules"][0]["host"] = host
    return body


INVALID = [
    pytest.param(with_path(pathType=None), "spec.rules[0].http.paths[0].pathType", id="pathType missing"),
    pytest.param(with_path(pathType="Regex"), "spec.rules[0].http.paths[0].pathType", id="pathType unknown"),
    pytest.param(with_path(path="foo"), "spec.rules[0].http.paths[0].path", id="relative path"),
    pytest.param(with_path(path="/a//b"), "spec.rules[0].http.paths[0].path", id="double slash"),
    pytest.param(with_path(path=None, pathType="Exact"), "spec.rules[0].http.paths[0].path", id="Exact without a path"),
    pytest.param(with_host("A.test"), "spec.rules[0].host", id="upper-case host"),
    pytest.param(with_host("a.*.test"), "spec.rules[0].host", id="wildcard not leading"),
    pytest.param(with_host("*"), "spec.rules[0].host", id="bare wildcard"),
    pytest.param(with_host("10.0.0.1"), "spec.rules[0].host", id="IP address host"),
    pytest.param(with_path(backend={}), "spec.rules[0].http.paths[0].backend", id="backend without service or resource"),
    pytest.param(
        with_path(backend={**SERVICE_BACKEND, "resource": {"kind": "Bucket", "name": "b"}}),
        "spec.rules[0].http.paths[0].backend",
        id="backend with both",
    ),
    pytest.param(
        with_path(backend={"service": {"name": "web", "port": {"number": 80, "name": "http"}}}),
        "spec.rules[0].http.paths[0].backend.service.port",
        id="port number and name",
    ),
    pytest.param(
        with_path(backend={"service": {"name": "web", "port": {}}}),
        "spec.rules[0].http.paths[0].backend.service.port",
        id="port neither",
    ),
    pytest.param(
        with_path(backend={"service": {"name": "web", "port": {"number": 70000}}}),
        "spec.rules[0].http.paths[0].backend.service.port.number",
        id="port out of range",
    ),
    pytest.param(
        with_path(backend={"service": {"port": {"number": 80}}}),
        "spec.rules[0].http.paths[0].backend.service.name",
        id="service without a name",
    ),
    pytest.param(ingress(rules=[{"host": "a.test", "http": {"paths": []}}]), "spec.rules[0].http.paths", id="no paths"),
    pytest.param(ingress(rules=[]), "spec", id="neither rules nor defaultBackend"),
    pytest.param(ingress(tls=[{"hosts": ["Bad_Host"], "secretName": "s"}]), "spec.tls[0].hosts", id="tls host"),
    pytest.param(ingress(tls=[{"hosts": ["a.test"], "secretName": "Not/A/Name"}]), "spec.tls[0].secretName", id="tls secret"),
    pytest.param(ingress(defaultBackend={"service": {"name": "web"}}), "spec.defaultBackend.service.port", id="defaultBackend port"),
    pytest.param(ingress(ingressClassName="No Class"), "spec.ingressClassName", id="class name"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
def test_an_invalid_ingress_is_a_422_naming_the_field(tmp_path: Path, body: dict[str, Any], field: str) -> None:
    with api_server(tmp_path) as (http, _store):
        r = http.post(INGRESSES, json=body)
        assert r.status_code == 422, r.text
        status = r.json()
        assert status["kind"] == "Status" and status["reason"] == "Invalid"
        assert field in [c.get("field") for c in status["details"]["causes"]], status


VALID = [
    pytest.param(ingress(), id="host and prefix"),
    pytest.param(with_host("*.apps.test"), id="wildcard host"),
    pytest.param(with_path(path=None, pathType="ImplementationSpecific"), id="ImplementationSpecific without a path"),
    pytest.param(with_path(backend={"resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "b"}}), id="resource backend"),
    pytest.param(with_path(backend={"service": {"name": "web", "port": {"name": "http"}}}), id="port by name"),
    pytest.param(ingress(rules=None, defaultBackend=SERVICE_BACKEND), id="defaultBackend only"),
    pytest.param(ingress(tls=[{"hosts": ["a.test"], "secretName": "tls-a"}]), id="tls"),
]


@pytest.mark.parametrize("body", VALID)
def test_a_valid_ingress_is_created_with_the_default_class(tmp_path: Path, body: dict[str, Any]) -> None:
    with api_server(tmp_path) as (http, _store):
        body = copy.deepcopy(body)
        body["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
        r = http.post(INGRESSES, json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spec"]["ingressClassName"] == "kajitori"
        assert created["status"] == {"loadBalancer": {}}  # status is the controller's


def test_the_default_class_exists_and_an_explicit_class_is_kept(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        cls = http.get(f"{CLASSES}/kajitori").json()
        assert cls["spec"]["controller"] == "kajitori.io/ingress-nginx"
        assert cls["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
        r = http.post(INGRESSES, json=ingress(ingressClassName="other"))
        assert r.status_code == 201, r.text
        assert r.json()["spec"]["ingressClassName"] == "other"
        legacy = ingress()
        legacy["metadata"] = {"name": "legacy", "annotations": {"kubernetes.io/ingress.class": "nginx"}}
        r = http.post(INGRESSES, json=legacy)
        assert "ingressClassName" not in r.json()["spec"]


def test_an_ingress_class_controller_is_required_and_immutable(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        r = http.post(CLASSES, json={"metadata": {"name": "x"}, "spec": {"controller": "not a path"}})
        assert r.status_code == 422 and r.json()["details"]["causes"][0]["field"] == "spec.controller", r.text
        r = http.post(CLASSES, json={"metadata": {"name": "x"}, "spec": {"controller": "acme.io/x"}})
        assert r.status_code == 201, r.text
        changed = r.json()
        changed["spec"]["controller"] = "acme.io/y"
        r = http.put(f"{CLASSES}/x", json=changed)
        assert r.status_code == 422 and r.json()["details"]["causes"][0]["field"] == "spec.controller", r.text


def test_the_table_has_kubectls_ingress_columns(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        http.post(INGRESSES, json=ingress(tls=[{"hosts": ["a.test"], "secretName": "tls-a"}]))
        r = http.get(INGRESSES, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        table = r.json()
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Class", "Hosts", "Address", "Ports", "Age"]
        assert table["rows"][0]["cells"][:5] == ["ing", "kajitori", "a.test", "", "80, 443"]

"""``?dryRun=All`` on every write verb: the answer is what the write would make, and the store never moves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from master.store import SQLiteStore
from tests.unit.master.inprocess import Recorder, api_server

DRY = {"dryRun": "All"}
PODS = "/api/v1/namespaces/default/pods"
SERVICES = "/api/v1/namespaces/default/services"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
MERGE = {"content-type": "application/merge-patch+json"}


def pod(name: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.22"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "dry"}}, "spec": spec}


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.22"}]}},
        },
    }


def node_port_service(name: str, node_port: int | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"port": 80}
    if node_port:
        port["nodePort"] = node_port
    return {"metadata": {"name": name}, "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [port]}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore]]:
    with api_server(tmp_path) as pair:
        yield pair


class Untouched:
    """Asserts that nothing in between changed the store: same revision, same bytes, no event."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __enter__(self) -> Untouched:
        self.revision = self.store.revision
        self.objects = {r: sorted(o.raw for o in self.store.list(r)[0]) for r in self.store._objects}
        self.recorder = Recorder(self.store)
        return self

    def __exit__(self, *exc: object) -> None:
        self.recorder.cancel()
        if exc[0] is None:
            assert self.store.revision == self.revision
            assert [e.type for e in self.recorder.events] == []
            assert {r: sorted(o.raw for o in self.store.list(r)[0]) for r in self.store._objects} == self.objects


def test_create_answers_the_defaulted_object_and_stores_nothing(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    with Untouched(store):
        r = http.post(PODS, params=DRY, json=pod("ghost"))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["metadata"]["uid"] and body["metadata"]["creationTimestamp"]
        assert "resourceVersion" not in body["metadata"]
        assert body["status"]["phase"] == "Pending"
        assert body["spec"]["restartPolicy"] == "Always"  # defaulted as a real create would
    assert http.get(f"{PODS}/ghost").status_code == 404


def test_create_runs_validation_and_conflict_checks(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    assert http.post(PODS, json=pod("real")).status_code == 201
    with Untouched(store):
        assert http.post(PODS, params=DRY, json=pod("real")).json()["reason"] == "AlreadyExists"
        bad = pod("Bad_Name")
        r = http.post(PODS, params=DRY, json=bad)
        assert r.status_code == 422 and r.json()["reason"] == "Invalid"
        r = http.post("/api/v1/namespaces/nowhere/pods", params=DRY, json=pod("x"))
        assert r.status_code == 404


def test_service_allocations_are_checked_and_never_held(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    assert http.post(SERVICES, json=node_port_service("taken", 30080)).status_code == 201
    with Untouched(store):
        r = http.post(SERVICES, params=DRY, json=node_port_service("dry", 30081))
        assert r.status_code == 201, r.text
        spec = r.json()["spec"]
        assert spec["clusterIP"].startswith("10.") and spec["ports"][0]["nodePort"] == 30081
        clash = http.post(SERVICES, params=DRY, json=node_port_service("clash", 30080))
        assert clash.status_code == 422 and "already allocated" in clash.text
    # the dry run's port and IP were never taken: a real create gets them
    real = http.post(SERVICES, json={**node_port_service("real", 30081), "spec": {**node_port_service("real", 30081)["spec"], "clusterIP": spec["clusterIP"]}})
    assert real.status_code == 201, real.text


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        pytest.param("application/merge-patch+json", {"metadata": {"labels": {"v": "2"}}}, id="merge"),
        pytest.param("application/strategic-merge-patch+json", {"metadata": {"labels": {"v": "2"}}}, id="strategic"),
        pytest.param("application/json-patch+json", [{"op": "add", "path": "/metadata/labels/v", "value": "2"}], id="json"),
    ],
)
def test_patch_of_every_type(server: tuple[TestClient, SQLiteStore], content_type: str, patch: Any) -> None:
    http, store = server
    created = http.post(PODS, json=pod("p")).json()
    with Untouched(store):
        r = http.patch(f"{PODS}/p", params=DRY, json=patch, headers={"content-type": content_type})
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["labels"] == {"app": "dry", "v": "2"}
        assert r.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert "v" not in http.get(f"{PODS}/p").json()["metadata"]["labels"]


def test_update_and_its_conflict_check(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    created = http.post(DEPLOYMENTS, json=deployment("d")).json()
    with Untouched(store):
        changed = {**created, "spec": {**created["spec"], "replicas": 7}}
        r = http.put(f"{DEPLOYMENTS}/d", params=DRY, json=changed)
        assert r.status_code == 200 and r.json()["spec"]["replicas"] == 7 and r.json()["metadata"]["generation"] == 2
        stale = {**changed, "metadata": {**changed["metadata"], "resourceVersion": "1"}}
        assert http.put(f"{DEPLOYMENTS}/d", params=DRY, json=stale).status_code == 409
    assert http.get(f"{DEPLOYMENTS}/d").json()["spec"]["replicas"] == 2


def test_status_and_scale_subresources(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    created = http.post(DEPLOYMENTS, json=deployment("s")).json()
    with Untouched(store):
        status = {**created, "status": {"replicas": 9}}
        assert http.put(f"{DEPLOYMENTS}/s/status", params=DRY, json=status).json()["status"]["replicas"] == 9
        scale = http.get(f"{DEPLOYMENTS}/s/scale").json()
        scale["spec"]["replicas"] = 5
        assert http.put(f"{DEPLOYMENTS}/s/scale", params=DRY, json=scale).json()["spec"]["replicas"] == 5
        r = http.patch(f"{DEPLOYMENTS}/s/scale", params=DRY, json={"spec": {"replicas": 4}}, headers=MERGE)
        assert r.json()["spec"]["replicas"] == 4
    assert http.get(f"{DEPLOYMENTS}/s/scale").json()["spec"]["replicas"] == 2


def test_delete_and_deletecollection(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    http.post(PODS, json=pod("a"))
    http.post(PODS, json=pod("bound", node="node1"))
    with Untouched(store):
        assert http.delete(f"{PODS}/a", params=DRY).status_code == 200
        graceful = http.delete(f"{PODS}/bound", params=DRY).json()
        assert graceful["metadata"]["deletionTimestamp"]  # what the real delete would answer
        r = http.request("DELETE", PODS, params={**DRY, "labelSelector": "app=dry"})
        assert sorted(i["metadata"]["name"] for i in r.json()["items"]) == ["a", "bound"]
    assert http.get(f"{PODS}/a").status_code == 200
    assert "deletionTimestamp" not in http.get(f"{PODS}/bound").json()["metadata"]


def test_eviction_and_binding(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    http.post(PODS, json=pod("free"))
    http.post(PODS, json=pod("running", node="node1"))
    with Untouched(store):
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "free"}, "target": {"kind": "Node", "name": "node2"}}
        assert http.post(f"{PODS}/free/binding", params=DRY, json=binding).status_code == 201
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "running"}}
        assert http.post(f"{PODS}/running/eviction", params=DRY, json=eviction).status_code == 201
        assert http.post(f"{PODS}/running/binding", params=DRY, json=binding).status_code == 409  # checks still run
    assert "nodeName" not in http.get(f"{PODS}/free").json()["spec"]
    conditions = http.get(f"{PODS}/running").json()["status"].get("conditions") or []
    assert "DisruptionTarget" not in [c["type"] for c in conditions]


@pytest.mark.parametrize("value", ["Maybe", "all", "true"])
def test_unknown_dry_run_value_is_400(server: tuple[TestClient, SQLiteStore], value: str) -> None:
    http, store = server
    with Untouched(store):
        r = http.post(PODS, params={"dryRun": value}, json=pod("x"))
        assert r.status_code == 400 and r.json()["reason"] == "BadRequest"
        assert r.json()["message"] == f'dryRun: Unsupported value: "{value}": supported values: "All"'
        assert r.json()["details"]["causes"][0]["field"] == "dryRun"


def test_dry_run_in_delete_options_bodies(server: tuple[TestClient, SQLiteStore]) -> None:
    """kubectl delete --dry-run=server sends DeleteOptions{dryRun: [All]}; an Eviction carries one too."""
    http, store = server
    http.post(PODS, json=pod("kept", node="node1"))
    with Untouched(store):
        r = http.request("DELETE", f"{PODS}/kept", json={"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"], "gracePeriodSeconds": 0})
        assert r.status_code == 200, r.text
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "kept"}, "deleteOptions": {"dryRun": ["All"]}}
        assert http.post(f"{PODS}/kept/eviction", json=eviction).status_code == 201
        assert http.request("DELETE", f"{PODS}/kept", json={"dryRun": ["Maybe"]}).status_code == 400
    assert http.get(f"{PODS}/kept").status_code == 200

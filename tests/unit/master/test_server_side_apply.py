"""Server-side apply and metadata.managedFields through the API server's HTTP face (in process, SQLite)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from master.store import SQLiteStore
from tests.unit.master.inprocess import api_server

APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore]]:
    with api_server(tmp_path) as pair:
        yield pair


def deployment(name: str, *, replicas: int | None = 2, env: tuple[str, ...] | list[str] = ("A",), image: str = "nginx:1") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
    if env:
        container["env"] = [{"name": n, "value": n.lower()} for n in env]
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}}, "spec": spec}


def apply(client: TestClient, name: str, body: Any, query: str = "fieldManager=alice") -> Any:
    return client.patch(f"{DEPLOYMENTS}/{name}?{query}", content=json.dumps(body), headers=APPLY)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_and_records_the_applied_fields_as_kubernetes_shows_them(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    r = apply(client, "made", deployment("made"))
    assert r.status_code == 201, r.text
    entry = entries(r.json())[("alice", "Apply")]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},  # LabelSelector is atomic
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            ".": {},
                            "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                        }
                    }
                },
            },
        },
    }
    assert r.json()["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP"  # defaulted, not owned


def test_fields_the_applier_omits_are_removed_unless_another_manager_owns_them(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    assert apply(client, "omit", deployment("omit", env=["A", "B"])).status_code == 201
    # bob also sets env B (same value: shared ownership, no conflict) and a label of his own
    bob = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "omit", "labels": {"team": "b"}},
           "spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "b"}]}]}}}}  # fmt: skip
    assert apply(client, "omit", bob, "fieldManager=bob").status_code == 200
    r = apply(client, "omit", deployment("omit", env=[], replicas=None))
    assert r.status_code == 200, r.text
    obj = r.json()
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "B", "value": "b"}]  # A gone, B kept (bob's)
    assert obj["metadata"]["labels"] == {"app": "omit", "team": "b"}
    assert obj["spec"]["replicas"] == 1  # alice no longer sets it: removed, then defaulted
    assert "f:replicas" not in entries(obj)[("alice", "Apply")]["fieldsV1"]["f:spec"]


def test_a_changed_field_another_manager_owns_is_a_conflict_unless_forced(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    assert apply(client, "clash", deployment("clash")).status_code == 201
    rv = client.get(f"{DEPLOYMENTS}/clash").json()["metadata"]["resourceVersion"]
    change = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "clash"}, "spec": {"replicas": 5, "paused": True}}
    r = apply(client, "clash", change, "fieldManager=bob")
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'
    assert body["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".spec.replicas"}]
    assert client.get(f"{DEPLOYMENTS}/clash").json()["metadata"]["resourceVersion"] == rv  # nothing written
    r = apply(client, "clash", change, "fieldManager=bob&force=true")
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 5
    owners = entries(r.json())
    assert owners[("bob", "Apply")]["fieldsV1"] == {"f:spec": {"f:paused": {}, "f:replicas": {}}}
    assert "f:replicas" not in owners[("alice", "Apply")]["fieldsV1"]["f:spec"]


def test_other_writes_record_update_entries_that_applies_conflict_with(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    r = client.post(f"{DEPLOYMENTS}?fieldManager=kubectl-client-side-apply", json=deployment("upd"))
    assert r.status_code == 201
    created = entries(r.json())[("kubectl-client-side-apply", "Update")]
    assert created["fieldsV1"]["f:spec"]["f:replicas"] == {} and "f:status" not in created["fieldsV1"]
    # Kubernetes' shape of an Update entry: a map it added is a member ("."), a list merged by key is not.
    assert created["fieldsV1"]["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    containers = created["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "." not in containers and containers['k:{"name":"web"}']["."] == {}
    r = client.patch(f"{DEPLOYMENTS}/upd", json={"spec": {"paused": True}}, headers={**MERGE, "User-Agent": "kubectl/v1.28.4 (linux/amd64)"})
    assert entries(r.json())[("kubectl", "Update")]["fieldsV1"] == {"f:spec": {"f:paused": {}}}
    r = apply(client, "upd", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "upd"}, "spec": {"replicas": 3, "paused": True}})
    assert r.status_code == 409
    assert r.json()["message"] == 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    status = {"status": {"replicas": 1, "observedGeneration": 1}}
    r = client.patch(f"{DEPLOYMENTS}/upd/status?fieldManager=ctrl", json=status, headers=MERGE)
    entry = entries(r.json())[("ctrl", "Update")]
    assert entry["subresource"] == "status" and set(entry["fieldsV1"]) == {"f:status"}


def test_apply_options_and_bodies_are_checked(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    r = apply(client, "opts", deployment("opts"), "")
    assert (r.status_code, r.json()["details"]["causes"][0]["field"]) == (422, "fieldManager")
    assert "is required for apply patch" in r.json()["message"]
    r = apply(client, "opts", deployment("opts"), "fieldManager=" + "m" * 129)
    assert (r.status_code, r.json()["details"]["causes"][0]["field"]) == (422, "fieldManager")
    r = client.patch(f"{DEPLOYMENTS}/opts?force=true", json={}, headers=MERGE)
    assert (r.status_code, r.json()["details"]["causes"][0]["field"]) == (422, "force")
    with_fields = deployment("opts")
    with_fields["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    r = apply(client, "opts", with_fields)
    assert r.status_code == 400 and "metadata.managedFields must be nil" in r.json()["message"]
    two = deployment("opts")
    two["spec"]["template"]["spec"]["containers"].append({"name": "web", "image": "x"})
    r = apply(client, "opts", two)
    assert r.status_code == 422 and "duplicate entries" in r.json()["message"], r.text
    assert client.get(f"{DEPLOYMENTS}/opts").status_code == 404


@pytest.mark.parametrize(
    ("managed", "field"),
    [
        pytest.param("x", "metadata.managedFields", id="not-a-list"),
        pytest.param([{"manager": "m", "operation": "Delete", "fieldsV1": {"f:spec": {}}}], "metadata.managedFields[0].operation", id="operation"),
        pytest.param([{"manager": "m", "operation": "Update", "fieldsType": "FieldsV2", "fieldsV1": {}}], "metadata.managedFields[0].fieldsType", id="fields-type"),
        pytest.param([{"manager": "m", "operation": "Update", "fieldsV1": {"spec": {}}}], "metadata.managedFields[0].fieldsV1", id="bad-element"),
        pytest.param([{"manager": "m", "operation": "Update", "fieldsV1": {"f:spec": []}}], "metadata.managedFields[0].fieldsV1", id="not-a-tree"),
        pytest.param([{"manager": 7, "operation": "Update"}], "metadata.managedFields[0].manager", id="manager-type"),
    ],
)
def test_malformed_managed_fields_are_refused_naming_the_field(server: tuple[TestClient, SQLiteStore], managed: Any, field: str) -> None:
    client, _ = server
    created = client.post(f"{DEPLOYMENTS}?fieldManager=maker", json=deployment("bad")).json()
    before = created["metadata"]["managedFields"]
    created["metadata"]["managedFields"] = managed
    r = client.put(f"{DEPLOYMENTS}/bad", json=created)
    assert r.status_code == 422, r.text
    assert r.json()["details"]["causes"][0]["field"] == field
    assert client.get(f"{DEPLOYMENTS}/bad").json()["metadata"]["managedFields"] == before
    body = deployment("bad2")
    body["metadata"]["managedFields"] = managed
    assert client.post(DEPLOYMENTS, json=body).status_code == 422
    assert client.get(f"{DEPLOYMENTS}/bad2").status_code == 404


def test_an_empty_list_keeps_managed_fields_and_an_empty_entry_clears_them(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    made = client.post(f"{DEPLOYMENTS}?fieldManager=maker", json=deployment("reset")).json()
    r = client.patch(f"{DEPLOYMENTS}/reset", json={"metadata": {"managedFields": []}}, headers=MERGE)
    assert r.json()["metadata"]["managedFields"] == made["metadata"]["managedFields"]
    r = client.patch(f"{DEPLOYMENTS}/reset", json={"metadata": {"managedFields": [{}]}}, headers=MERGE)
    assert r.status_code == 200 and "managedFields" not in r.json()["metadata"]
    # With nothing recorded, the object's fields count as before-first-apply's (Kubernetes' name).
    r = apply(client, "reset", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "reset"}, "spec": {"replicas": 4}})
    assert r.status_code == 409 and '"before-first-apply" using apps/v1: .spec.replicas' in r.json()["message"]


def test_dry_run_apply_writes_nothing(server: tuple[TestClient, SQLiteStore]) -> None:
    client, store = server
    revision = store.revision
    r = apply(client, "dry", deployment("dry"), "fieldManager=alice&dryRun=All")
    assert r.status_code == 201 and entries(r.json())[("alice", "Apply")]
    assert client.get(f"{DEPLOYMENTS}/dry").status_code == 404 and store.revision == revision
    assert apply(client, "dry", deployment("dry")).status_code == 201
    revision = store.revision
    r = apply(client, "dry", deployment("dry", replicas=7), "fieldManager=alice&dryRun=All")
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 7
    assert store.revision == revision and client.get(f"{DEPLOYMENTS}/dry").json()["spec"]["replicas"] == 2


def test_applying_the_same_configuration_again_writes_nothing(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    first = apply(client, "same", deployment("same")).json()
    time.sleep(1.1)  # the entry's time has seconds: a new second must not make a write
    again = apply(client, "same", deployment("same")).json()
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_ports_are_keyed_by_port_and_protocol_and_finalizers_are_a_set(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns", "finalizers": ["example.com/keep"]},
           "spec": {"selector": {"app": "dns"}, "ports": [{"name": "udp", "port": 53, "protocol": "UDP"}, {"name": "tcp", "port": 53}]}}  # fmt: skip
    r = client.patch("/api/v1/namespaces/default/services/dns?fieldManager=m", content=json.dumps(svc), headers=APPLY)
    assert r.status_code == 201, r.text
    fields = entries(r.json())[("m", "Apply")]["fieldsV1"]
    assert set(fields["f:spec"]["f:ports"]) == {'k:{"port":53,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}'}
    assert fields["f:metadata"]["f:finalizers"] == {'v:"example.com/keep"': {}}
    assert fields["f:spec"]["f:selector"] == {"f:app": {}}  # a Service's selector is a map, a Deployment's is atomic


def test_applied_lists_keep_other_managers_items_in_place(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    body = deployment("order")
    template = body["spec"]["template"]["spec"]
    template["containers"] = [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]
    assert apply(client, "order", body).status_code == 201
    smp = {"Content-Type": "application/strategic-merge-patch+json"}
    client.patch(f"{DEPLOYMENTS}/order?fieldManager=other", json={"spec": {"template": {"spec": {"containers": [{"name": "z", "image": "x"}]}}}}, headers=smp)
    template["containers"] = [{"name": "c", "image": "x"}, {"name": "b", "image": "x"}, {"name": "a", "image": "x"}]
    r = apply(client, "order", body)
    assert [c["name"] for c in r.json()["spec"]["template"]["spec"]["containers"]] == ["c", "z", "b", "a"]
    template["containers"] = [{"name": "b", "image": "y"}]
    r = apply(client, "order", body)
    assert [(c["name"], c["image"]) for c in r.json()["spec"]["template"]["spec"]["containers"]] == [("z", "x"), ("b", "y")]


MANIFESTS = {
    "Namespace": {},
    "Node": {"spec": {"unschedulable": True}},
    "Pod": {"spec": {"containers": [{"name": "c", "image": "x"}]}},
    "Service": {"spec": {"ports": [{"port": 80}]}},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.244.1.2"}], "ports": [{"port": 80}]}]},
    "ConfigMap": {"data": {"a": "1"}},
    "Secret": {"stringData": {"a": "1"}},
    "Event": {"involvedObject": {"kind": "Pod", "name": "x", "namespace": "default"}, "reason": "R", "message": "m"},
    "Lease": {"spec": {"holderIdentity": "me"}},
    "Deployment": deployment("kinds")["spec"],
    "ReplicaSet": deployment("kinds")["spec"],
    "DaemonSet": {k: v for k, v in deployment("kinds")["spec"].items() if k != "replicas"},
    "Job": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}},
    "CronJob": {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}},
}


@pytest.mark.parametrize("kind", sorted(MANIFESTS))
def test_every_kind_served_applies(server: tuple[TestClient, SQLiteStore], kind: str) -> None:
    from kajitori.api.registry import RESOURCES

    client, _ = server
    resource = next(r for r in RESOURCES if r.kind == kind)
    extra = MANIFESTS[kind]
    if kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        extra = {"spec": extra}
    body = {"apiVersion": resource.api_version, "kind": kind, "metadata": {"name": "kinds", "labels": {"by": "apply"}}, **extra}
    ns = "namespaces/default/" if resource.namespaced else ""
    path = f"{resource.prefix.rstrip('/')}/{ns}{resource.plural}/kinds?fieldManager=m"
    r = client.patch(path, content=json.dumps(body), headers=APPLY)
    assert r.status_code == 201, r.text
    assert entries(r.json())[("m", "Apply")]["fieldsV1"]["f:metadata"] == {"f:labels": {"f:by": {}}}
    body["metadata"]["labels"] = {"by": "apply-again"}
    r = client.patch(path, content=json.dumps(body), headers=APPLY)
    assert r.status_code == 200 and r.json()["metadata"]["labels"] == {"by": "apply-again"}


def test_apply_to_status_owns_status_fields_under_the_subresource(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    assert apply(client, "st", deployment("st")).status_code == 201
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "st"}, "spec": {"replicas": 9}, "status": {"replicas": 3}}
    r = client.patch(f"{DEPLOYMENTS}/st/status?fieldManager=ctrl", content=json.dumps(status), headers=APPLY)
    assert r.status_code == 200, r.text
    assert (r.json()["status"]["replicas"], r.json()["spec"]["replicas"]) == (3, 2)  # /status changes only status
    entry = next(e for e in r.json()["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert (entry["operation"], entry["subresource"], entry["fieldsV1"]) == ("Apply", "status", {"f:status": {"f:replicas": {}}})


@pytest.mark.parametrize("manager", ["bad\nname", "tab\there", "\u2028"])
def test_a_field_manager_with_unprintable_characters_is_refused(server: tuple[TestClient, SQLiteStore], manager: str) -> None:
    client, _ = server
    r = client.post(DEPLOYMENTS, params={"fieldManager": manager}, json=deployment("unprintable"))
    assert r.status_code == 422 and r.json()["details"]["causes"][0]["field"] == "fieldManager"
    assert client.get(f"{DEPLOYMENTS}/unprintable").status_code == 404


def test_at_most_ten_update_entries_the_oldest_folded_into_ancient_changes(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    client.post(f"{DEPLOYMENTS}?fieldManager=m00", json=deployment("many"))
    for i in range(1, 12):
        r = client.patch(f"{DEPLOYMENTS}/many?fieldManager=m{i:02}", json={"metadata": {"labels": {f"l{i:02}": "x"}}}, headers=MERGE)
        assert r.status_code == 200
    updates = [e for e in r.json()["metadata"]["managedFields"] if e["operation"] == "Update"]
    names = [e["manager"] for e in updates]
    assert len(updates) == 10 and "ancient-changes" in names and not {"m00", "m01", "m02"} & set(names), names
    ancient = next(e for e in updates if e["manager"] == "ancient-changes")["fieldsV1"]
    assert {"f:l01", "f:l02"} <= set(ancient["f:metadata"]["f:labels"]) and "f:replicas" in ancient["f:spec"]


def test_several_conflicts_are_listed_per_manager_in_kubernetes_words(server: tuple[TestClient, SQLiteStore]) -> None:
    client, _ = server
    assert apply(client, "two", deployment("two")).status_code == 201
    client.patch(f"{DEPLOYMENTS}/two?fieldManager=kubectl-edit", json={"spec": {"paused": True}}, headers=MERGE)
    change = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "two"}, "spec": {"replicas": 5, "paused": False, "minReadySeconds": 3}}
    r = apply(client, "two", change, "fieldManager=bob")
    assert r.status_code == 409
    assert r.json()["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n'
        'conflicts with "kubectl-edit" using apps/v1:\n- .spec.paused'
    )
    assert [c["field"] for c in r.json()["details"]["causes"]] == [".spec.replicas", ".spec.paused"]

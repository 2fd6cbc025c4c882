"""Storage kinds and StatefulSets over HTTP: defaults, admission, 422s naming the field, tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.master.inprocess import api_server

PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
PVS = "/api/v1/persistentvolumes"
SCS = "/apis/storage.k8s.io/v1/storageclasses"
STSS = "/apis/apps/v1/namespaces/default/statefulsets"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with api_server(tmp_path) as (client, _store):
        yield client


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


def volume(name: str = "pv1", **spec: Any) -> dict[str, Any]:
    body = {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/srv/pv1"}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": body}


def statefulset(name: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceName": "nginx",
        "replicas": 2,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
        },
        "volumeClaimTemplates": [
            {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
        ],
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": body}


def test_the_default_storage_class_exists_and_a_claim_without_class_gets_it(client: TestClient) -> None:
    sc = client.get(f"{SCS}/local-path").json()
    assert sc["provisioner"] == "kajitori.io/local-path"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["reclaimPolicy"] == "Delete"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    created = client.post(PVCS, json=claim()).json()
    assert created["spec"]["storageClassName"] == "local-path"
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["status"] == {"phase": "Pending"}
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    # "" asks for no class at all, as in Kubernetes.
    unclassed = client.post(PVCS, json=claim("static", storageClassName="")).json()
    assert unclassed["spec"]["storageClassName"] == ""


def test_a_volume_is_pending_protected_and_retained_by_default(client: TestClient) -> None:
    created = client.post(PVS, json=volume()).json()
    assert created["status"]["phase"] == "Pending"
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert created["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(PVCS, claim(accessModes=[]), "spec.accessModes", id="claim-no-access-modes"),
        pytest.param(PVCS, claim(accessModes=["ReadWriteSometimes"]), "spec.accessModes[0]", id="claim-bad-access-mode"),
        pytest.param(PVCS, claim(resources={}), "spec.resources.requests[storage]", id="claim-no-request"),
        pytest.param(PVCS, claim(resources={"requests": {"storage": "lots"}}), "spec.resources.requests.storage", id="claim-bad-quantity"),
        pytest.param(PVCS, claim(resources={"requests": {"storage": "0"}}), "spec.resources.requests[storage]", id="claim-zero"),
        pytest.param(PVCS, claim(volumeMode="Disk"), "spec.volumeMode", id="claim-bad-volume-mode"),
        pytest.param(PVS, volume(capacity={}), "spec.capacity[storage]", id="volume-no-capacity"),
        pytest.param(PVS, volume(capacity={"storage": "1e999999"}), "spec.capacity.storage", id="volume-huge-capacity"),
        pytest.param(PVS, volume(accessModes=None), "spec.accessModes", id="volume-no-access-modes"),
        pytest.param(PVS, volume(hostPath=None), "spec", id="volume-no-source"),
        pytest.param(PVS, volume(hostPath={"path": "relative"}), "spec.hostPath.path", id="volume-relative-path"),
        pytest.param(PVS, volume(hostPath=None, local={"path": "/mnt/a"}), "spec.nodeAffinity", id="local-without-affinity"),
        pytest.param(PVS, volume(persistentVolumeReclaimPolicy="Shred"), "spec.persistentVolumeReclaimPolicy", id="volume-bad-policy"),
        pytest.param(SCS, {"metadata": {"name": "x"}}, "provisioner", id="class-no-provisioner"),
        pytest.param(SCS, {"metadata": {"name": "x"}, "provisioner": "p", "volumeBindingMode": "Later"}, "volumeBindingMode", id="class-bad-mode"),
        pytest.param(STSS, statefulset(selector={"matchLabels": {"app": "other"}}), "spec.template.metadata.labels", id="sts-selector"),
        pytest.param(STSS, statefulset(serviceName="Not_A_Label"), "spec.serviceName", id="sts-service-name"),
        pytest.param(STSS, statefulset(podManagementPolicy="Random"), "spec.podManagementPolicy", id="sts-policy"),
        pytest.param(
            STSS,
            statefulset(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]),
            "spec.volumeClaimTemplates[0].spec.accessModes",
            id="sts-template-access-modes",
        ),
        pytest.param(STSS, statefulset(replicas=-1), "spec.replicas", id="sts-negative-replicas"),
    ],
)
def test_invalid_objects_are_422s_naming_the_field(client: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    fields = [c.get("field") for c in answer.json()["details"]["causes"]]
    assert field in fields, answer.json()


def test_a_statefulset_is_defaulted_and_only_its_mutable_fields_change(client: TestClient) -> None:
    created = client.post(STSS, json=statefulset()).json()
    spec = created["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["revisionHistoryLimit"] == 10
    ok = client.patch(f"{STSS}/web", json={"spec": {"replicas": 5, "minReadySeconds": 3}}, headers={"Content-Type": "application/merge-patch+json"})
    assert ok.status_code == 200, ok.text
    change: dict[str, Any]
    for change in ({"serviceName": "other"}, {"podManagementPolicy": "Parallel"}, {"volumeClaimTemplates": []}):
        refused = client.patch(f"{STSS}/web", json={"spec": change}, headers={"Content-Type": "application/merge-patch+json"})
        assert refused.status_code == 422, (change, refused.text)
        assert "updates to statefulset spec for fields other than" in refused.json()["message"]


def test_a_claims_spec_is_immutable_but_its_binding_is_set_once(client: TestClient) -> None:
    client.post(PVCS, json=claim())
    merge = {"Content-Type": "application/merge-patch+json"}
    assert client.patch(f"{PVCS}/data", json={"spec": {"volumeName": "pv1"}}, headers=merge).status_code == 200
    refused = client.patch(f"{PVCS}/data", json={"spec": {"accessModes": ["ReadWriteMany"]}}, headers=merge)
    assert refused.status_code == 422 and refused.json()["details"]["causes"][0]["field"] == "spec"
    assert client.patch(f"{PVCS}/data", json={"spec": {"volumeName": "pv2"}}, headers=merge).status_code == 422


def test_tables_read_as_kubectls(client: TestClient) -> None:
    client.post(PVS, json=volume(claimRef={"namespace": "default", "name": "data"}, storageClassName="manual"))
    pv_table = client.get(PVS, headers=TABLE).json()
    headers = [c["name"] for c in pv_table["columnDefinitions"]]
    assert headers[:7] == ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass"]
    assert pv_table["rows"][0]["cells"][:7] == ["pv1", "5Gi", "RWO", "Retain", "Pending", "default/data", "manual"]
    sc_table = client.get(SCS, headers=TABLE).json()
    assert sc_table["rows"][0]["cells"][:5] == ["local-path (default)", "kajitori.io/local-path", "Delete", "WaitForFirstConsumer", "false"]
    client.post(STSS, json=statefulset())
    sts_table = client.get(STSS, headers=TABLE).json()
    assert [c["name"] for c in sts_table["columnDefinitions"]] == ["Name", "Ready", "Age", "Containers", "Images"]
    assert sts_table["rows"][0]["cells"][:2] == ["web", "0/2"]
    discovery = client.get("/apis/apps/v1").json()
    sts = next(r for r in discovery["resources"] if r["name"] == "statefulsets")
    assert sts["shortNames"] == ["sts"] and sts["categories"] == ["all"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(PVCS, {**claim(), "metadata": {"name": "x", "finalizers": "kubernetes.io/pvc-protection"}}, "metadata.finalizers", id="finalizers-string"),
        pytest.param(STSS, statefulset(volumeClaimTemplates="www"), "spec.volumeClaimTemplates", id="templates-string"),
        pytest.param(STSS, statefulset(volumeClaimTemplates=[{"metadata": {"name": ["www"]}}]), "spec.volumeClaimTemplates[0].metadata.name", id="template-name-list"),
        pytest.param(PVS, volume(capacity="5Gi"), "spec.capacity", id="capacity-string"),
        pytest.param(PVCS, claim(resources={"requests": {"storage": [1]}}), "spec.resources.requests.storage", id="request-list"),
    ],
)
def test_hostile_shapes_are_422s_never_500s(client: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in [c.get("field") for c in answer.json()["details"]["causes"]]

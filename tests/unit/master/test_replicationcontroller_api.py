"""v1 ReplicationControllers through the API server: Kubernetes' defaults, its rules as 422s naming the field, scale and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.master.inprocess import api_server

RCS = "/api/v1/namespaces/default/replicationcontrollers"
POD_SPEC = {"containers": [{"name": "web", "image": "nginx:1.27"}]}


def rc(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    template: dict[str, Any] = {"metadata": {"labels": {"app": "web"} if labels is None else labels}, "spec": POD_SPEC}
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web"}, "spec": {"template": template, **spec}}


INVALID = [
    pytest.param(rc(selector={"app": "db"}), "spec.template.metadata.labels", "selector does not match template labels", id="selector not matching"),
    pytest.param(rc(labels={}), "spec.selector", "Required value", id="no selector and no labels"),
    pytest.param(rc(replicas=-1), "spec.replicas", "greater than or equal to 0", id="negative replicas"),
    pytest.param(rc(replicas=2**31), "spec.replicas", "", id="replicas beyond int32"),
    pytest.param({**rc(), "spec": {"replicas": 1}}, "spec.template", "", id="no template"),
]


@pytest.mark.parametrize(("body", "field", "words"), INVALID)
def test_an_invalid_replicationcontroller_is_a_422_naming_the_field(tmp_path: Path, body: dict[str, Any], field: str, words: str) -> None:
    with api_server(tmp_path) as (http, _store):
        r = http.post(RCS, json=body)
        assert r.status_code == 422, r.text
        status = r.json()
        assert status["reason"] == "Invalid"
        assert field in [c.get("field") for c in status["details"]["causes"]], status
        assert words.replace("`", "") in status["message"].replace("`", "")


def test_selector_and_labels_default_to_the_templates_and_status_is_the_controllers(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        body = rc(labels={"app": "web", "tier": "front"})
        body["status"] = {"replicas": 7}
        r = http.post(RCS, json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spec"]["selector"] == {"app": "web", "tier": "front"}
        assert created["metadata"]["labels"] == {"app": "web", "tier": "front"}
        assert created["spec"]["replicas"] == 1
        assert created["status"].get("replicas", 0) == 0


def test_scale_reads_and_writes_replicas_with_the_selector_as_a_query(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        assert http.post(RCS, json=rc(replicas=2)).status_code == 201
        scale = http.get(f"{RCS}/web/scale").json()
        assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=web"
        scale["spec"]["replicas"] = 5
        r = http.put(f"{RCS}/web/scale", json=scale)
        assert r.status_code == 200, r.text
        assert http.get(f"{RCS}/web").json()["spec"]["replicas"] == 5


def test_the_table_has_kubectls_columns(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        assert http.post(RCS, json=rc(replicas=3)).status_code == 201
        table = http.get(RCS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
        names = [c["name"] for c in table["columnDefinitions"]]
        assert names[:5] == ["Name", "Desired", "Current", "Ready", "Age"]
        assert table["rows"][0]["cells"][:4] == ["web", "3", "0", "0"]
        assert table["rows"][0]["cells"][-1] == "app=web"


def test_a_strategic_merge_patch_merges_the_templates_containers_by_name(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        body = rc()
        body["spec"]["template"]["spec"] = {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "busybox:1"}]}
        assert http.post(RCS, json=body).status_code == 201
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}
        r = http.patch(f"{RCS}/web", json=patch, headers={"Content-Type": "application/strategic-merge-patch+json"})
        assert r.status_code == 200, r.text
        containers = r.json()["spec"]["template"]["spec"]["containers"]
        assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.28"), ("side", "busybox:1")]


def test_openapi_v3_describes_the_kind(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        schemas = http.get("/openapi/v3/api/v1").json()["components"]["schemas"]
        rc_schema = schemas["io.k8s.api.core.v1.ReplicationController"]
        assert rc_schema["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "ReplicationController"}]
        assert rc_schema["description"].startswith("A ReplicationController")
        selector = schemas["io.k8s.api.core.v1.ReplicationControllerSpec"]["properties"]["selector"]
        assert selector["type"] == "object" and selector["additionalProperties"]["type"] == "string"

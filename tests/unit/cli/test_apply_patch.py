"""`apply`'s three-way merge: what is sent for (last applied, new manifest, server object)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.apply_patch import (
    LAST_APPLIED,
    apply_patch,
    desired_state,
    last_applied_of,
    merge_patch_between,
    with_last_applied,
)


@pytest.mark.parametrize(
    ("original", "modified", "current", "desired"),
    [
        pytest.param({}, {"a": 1}, {"a": 1, "server": 2}, {"a": 1, "server": 2}, id="server-fields-kept"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2, "s": 3}, {"a": 1, "s": 3}, id="removed-key-dropped"),
        pytest.param({}, {"a": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 2}, id="never-applied-key-kept"),
        pytest.param({"m": {"x": 1, "y": 2}}, {"m": {"x": 5}}, {"m": {"x": 1, "y": 2, "z": 3}},
                     {"m": {"x": 5, "z": 3}}, id="nested"),
        pytest.param(
            {"ports": [{"port": 80}]},
            {"ports": [{"port": 80, "targetPort": 8080}]},
            {"ports": [{"port": 80, "targetPort": 80, "nodePort": 30080, "protocol": "TCP"}]},
            {"ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]},
            id="list-item-keeps-server-nodePort",
        ),
        pytest.param(
            {"ports": [{"port": 80, "nodePort": 30080}]},
            {"ports": [{"port": 80}]},
            {"ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
            {"ports": [{"port": 80, "protocol": "TCP"}]},
            id="list-item-removed-field",
        ),
        pytest.param(
            {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]},
            {"containers": [{"name": "b", "image": "y:2"}]},
            {"containers": [{"name": "a", "image": "x:1", "imagePullPolicy": "IfNotPresent"},
                            {"name": "b", "image": "y:1", "imagePullPolicy": "IfNotPresent"}]},
            {"containers": [{"name": "b", "image": "y:2", "imagePullPolicy": "IfNotPresent"}]},
            id="list-membership-from-manifest",
        ),
        pytest.param({"args": ["a", "b"]}, {"args": ["c"]}, {"args": ["a", "b"]}, {"args": ["c"]}, id="scalar-list"),
        pytest.param({}, {"a": {"b": 1}}, {"a": "text"}, {"a": {"b": 1}}, id="type-change"),
    ],
)  # fmt: skip
def test_desired_state(original: Any, modified: Any, current: Any, desired: Any) -> None:
    assert desired_state(original, modified, current) == desired


@pytest.mark.parametrize(
    ("current", "desired", "patch"),
    [
        pytest.param({"a": 1}, {"a": 1}, {}, id="equal"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, {"b": None}, id="removal-is-null"),
        pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}, {"a": {"y": 3}}, id="nested-change"),
        pytest.param({"l": [1, 2]}, {"l": [1, 3]}, {"l": [1, 3]}, id="list-whole"),
        pytest.param({}, {"n": {"x": 1}}, {"n": {"x": 1}}, id="added"),
    ],
)
def test_merge_patch_between(current: dict[str, Any], desired: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch_between(current, desired) == patch


def test_last_applied_excludes_itself_and_is_stable() -> None:
    doc = {"kind": "Pod", "metadata": {"name": "p", "annotations": {LAST_APPLIED: "old", "keep": "1"}}}
    recorded = json.loads(last_applied_of(doc))
    assert recorded["metadata"]["annotations"] == {"keep": "1"}
    assert last_applied_of(doc) == last_applied_of(json.loads(json.dumps(doc)))
    bare = {"kind": "Pod", "metadata": {"name": "p", "annotations": {LAST_APPLIED: "x"}}}
    assert "annotations" not in json.loads(last_applied_of(bare))["metadata"]


def server_copy(manifest: dict[str, Any], **server_fields: Any) -> dict[str, Any]:
    """What the server holds after `apply` created the manifest, plus fields it set."""
    obj = with_last_applied(manifest)
    obj["metadata"].update(uid="u1", resourceVersion="7")
    obj["spec"] = {**obj["spec"], **server_fields}
    obj["status"] = {"loadBalancer": {}}
    return obj


SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
    "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]},
}  # fmt: skip


def test_apply_same_manifest_is_unchanged() -> None:
    current = server_copy(SERVICE, clusterIP="10.96.0.20")
    current["spec"]["ports"] = [{"port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": 31000}]
    assert apply_patch(current, SERVICE) == {}


def test_apply_removal_sends_null_and_keeps_server_fields() -> None:
    current = server_copy(SERVICE, clusterIP="10.96.0.20")
    new = json.loads(json.dumps(SERVICE))
    del new["metadata"]["annotations"]
    new["spec"]["ports"] = [{"port": 80, "targetPort": 8080}]
    patch = apply_patch(current, new)
    assert patch["metadata"]["annotations"]["team"] is None
    assert json.loads(patch["metadata"]["annotations"][LAST_APPLIED]) == new
    assert "clusterIP" not in patch["spec"]
    assert patch["spec"]["ports"] == [{"port": 80, "targetPort": 8080}]
    assert "status" not in patch


def test_apply_over_object_without_annotation_only_adds() -> None:
    current = json.loads(json.dumps(SERVICE))
    current["spec"]["sessionAffinity"] = "None"
    patch = apply_patch(current, SERVICE)
    assert set(patch) == {"metadata"}
    assert set(patch["metadata"]["annotations"]) == {LAST_APPLIED}


def test_secret_string_data_is_compared_as_stored() -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    current = with_last_applied(manifest)
    del current["stringData"]
    current.update(type="Opaque", data={"password": "aHVudGVyMg=="})
    assert apply_patch(current, manifest) == {}
    changed = {**manifest, "stringData": {"password": "other"}}
    assert apply_patch(current, changed)["data"] == {"password": "b3RoZXI="}

"""The meta.k8s.io Table the API server answers kubectl with, and the Accept header that asks for it."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori import tables
from kajitori.clock import format_time
from master.apiserver.app import table_version

NOW = 1_700_000_000.0
POD: dict[str, Any] = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "web-1",
        "namespace": "default",
        "resourceVersion": "7",
        "labels": {"app": "web"},
        "creationTimestamp": format_time(NOW - 90),
    },
    "spec": {
        "nodeName": "node1",
        "containers": [{"name": "c", "image": "nginx"}],
        "readinessGates": [{"conditionType": "example.com/ready"}],
    },
    "status": {
        "phase": "Running",
        "podIP": "10.244.1.5",
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/ready", "status": "True"}],
        "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "state": {"running": {}}}],
    },
}


def test_pod_table_has_kubernetes_columns_wide_ones_at_priority_one() -> None:
    table = tables.as_table("Pod", [POD], NOW, resource_version="42")
    assert (table["kind"], table["apiVersion"], table["metadata"]) == ("Table", "meta.k8s.io/v1", {"resourceVersion": "42"})
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
        ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1),
    ]  # fmt: skip
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in table["columnDefinitions"])
    assert table["columnDefinitions"][0]["format"] == "name"
    [row] = table["rows"]
    assert row["cells"] == ["web-1", "1/1", "Running", "0", "90s", "10.244.1.5", "node1", "<none>", "1/1"]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": POD["metadata"]}
    assert "conditions" not in row


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        pytest.param("None", None, id="none"),
        pytest.param("Object", POD, id="object"),
    ],
)
def test_include_object(include: tables.IncludeObject, expected: dict[str, Any] | None) -> None:
    [row] = tables.as_table("Pod", [POD], NOW, resource_version="1", include_object=include)["rows"]
    assert row.get("object") == expected


def test_v1beta1_table_carries_its_version_into_partial_metadata() -> None:
    table = tables.as_table("ConfigMap", [{"metadata": {"name": "c"}, "data": {"a": "1"}}], NOW, resource_version="1", version="v1beta1")
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["cells"] == ["c", "1", "<unknown>"]


def test_finished_pod_row_is_marked_completed() -> None:
    done = {**POD, "status": {"phase": "Succeeded"}}
    [row] = tables.as_table("Pod", [done], NOW, resource_version="1")["rows"]
    assert row["conditions"][0]["type"] == "Completed" and row["conditions"][0]["reason"] == "Succeeded"


@pytest.mark.parametrize("kind", [*tables.TABLES, "Unknown"])
def test_every_row_has_one_cell_per_column_and_the_cli_prints_the_same(kind: str) -> None:
    spec = tables.table_spec(kind)
    table = tables.as_table(kind, [POD], NOW, resource_version="1")
    assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"])
    # kubectl upper-cases the server's column names and drops priority>0 ones without -o wide.
    for wide in (False, True):
        shown = [c for c in table["columnDefinitions"] if wide or c["priority"] == 0]
        assert tables.headers_for(kind, wide=wide, with_namespace=False) == [c["name"].upper() for c in shown]
        cells = [cell for cell, c in zip(table["rows"][0]["cells"], table["columnDefinitions"], strict=True) if c in shown]
        assert tables.row_for(kind, POD, NOW, wide=wide) == cells
    assert spec.columns[0].format == "name" or not spec.has_name


def test_service_cells() -> None:
    svc = {"metadata": {"name": "nginx"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "selector": {"b": "2", "a": "1"},
                                                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}  # fmt: skip
    assert tables.row_for("Service", svc, NOW, wide=True) == ["nginx", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP", "<unknown>", "a=1,b=2"]


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        pytest.param("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "v1", id="kubectl"),
        pytest.param("application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json", "v1beta1", id="v1beta1"),
        pytest.param("application/json", None, id="plain"),
        pytest.param("", None, id="none"),
        pytest.param("application/json, application/json;as=Table;v=v1;g=meta.k8s.io", None, id="plain-first"),
        pytest.param("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", None, id="metadata-only"),
        pytest.param("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", None, id="unknown-version"),
    ],
)
def test_table_version_from_accept(accept: str, version: str | None) -> None:
    assert table_version(accept) == version

"""PATCH: merge patch, JSON patch and strategic merge on the lists kubectl patches."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

POD: dict[str, Any] = {
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox:1"}]},
}


def test_merge_patch_merges_maps_replaces_lists_and_deletes_nulls() -> None:
    out = merge_patch(POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": [{"name": "x", "image": "y"}]}})
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "x", "image": "y"}]
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}  # input untouched


def test_strategic_merge_merges_containers_by_name() -> None:
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}})
    assert out["spec"]["containers"] == [{"name": "web", "image": "nginx:2"}, {"name": "side", "image": "busybox:1"}]
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["web"]


@pytest.mark.parametrize(
    ("ops", "check"),
    [
        pytest.param([{"op": "replace", "path": "/spec/containers/0/image", "value": "n:3"}], lambda d: d["spec"]["containers"][0]["image"] == "n:3", id="replace"),
        pytest.param([{"op": "add", "path": "/metadata/labels/z", "value": "9"}], lambda d: d["metadata"]["labels"]["z"] == "9", id="add"),
        pytest.param([{"op": "remove", "path": "/metadata/labels/a"}], lambda d: "a" not in d["metadata"]["labels"], id="remove"),
        pytest.param([{"op": "add", "path": "/spec/containers/-", "value": {"name": "n"}}], lambda d: len(d["spec"]["containers"]) == 3, id="append"),
        pytest.param([{"op": "test", "path": "/metadata/name", "value": "p"}], lambda d: d == POD, id="test"),
        pytest.param([{"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/m"}], lambda d: d["metadata"]["labels"] == {"b": "2", "m": "1"}, id="move"),
        pytest.param([{"op": "add", "path": "/metadata/labels/a~1b", "value": "x"}], lambda d: d["metadata"]["labels"]["a/b"] == "x", id="escaped"),
    ],
)
def test_json_patch(ops: list[dict[str, object]], check: object) -> None:
    assert check(json_patch(POD, ops))  # type: ignore[operator]


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([{"op": "remove", "path": "/nope"}], id="missing-path"),
        pytest.param([{"op": "test", "path": "/metadata/name", "value": "q"}], id="failed-test"),
        pytest.param([{"op": "jump", "path": "/a"}], id="unknown-op"),
        pytest.param({"op": "add"}, id="not-a-list"),
    ],
)
def test_json_patch_errors(ops: object) -> None:
    with pytest.raises(PatchError):
        json_patch(POD, ops)

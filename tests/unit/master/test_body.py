"""Request bodies decode to plain JSON values within bounds; patches cannot grow an object without end."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver.body import MAX_DECODED_BYTES, BodyError, check_tree, decode_body
from master.apiserver.errors import ApiError
from master.apiserver.patch import PatchError, json_patch, strategic_merge_patch

BOMB = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize(
    ("raw", "content_type", "field"),
    [
        pytest.param(BOMB, "application/yaml", None, id="billion-laughs"),
        pytest.param(b'{"a": {"b": [1, 18446744073709551615]}}', "application/json", "a.b[1]", id="over-int64"),
        pytest.param(b"a: [1, .inf]", "application/yaml", "a[1]", id="infinity"),
        pytest.param(b"a: !!binary aGk=", "application/yaml", "a", id="bytes"),
        pytest.param(b"a: !!set {x}", "application/yaml", "a", id="set"),
        pytest.param(b"a: {1: x}", "application/yaml", "a", id="integer-key"),
        pytest.param(b'{"a": ' + b"[" * 101 + b"]" * 101 + b"}", "application/json", None, id="too-deep"),
    ],
)
def test_bodies_that_are_not_bounded_json_values_are_a_400_naming_where(raw: bytes, content_type: str, field: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        decode_body(raw, content_type)
    assert caught.value.code == 400
    if field is not None:
        assert [c.field for c in caught.value.causes or []] == [field]


def test_yaml_timestamps_stay_strings_and_aliases_still_work() -> None:
    doc = decode_body(b"day: 2026-12-01\nx: &x {a: 1}\ny: *x\n", "application/yaml")
    assert doc == {"day": "2026-12-01", "x": {"a": 1}, "y": {"a": 1}}


def test_the_walk_counts_aliases_as_expanded() -> None:
    shared: list[Any] = ["x" * 100] * 100
    assert check_tree([shared] * 10) > 100_000
    with pytest.raises(BodyError, match="aliases expanded"):
        check_tree([shared] * (MAX_DECODED_BYTES // 10_000 + 1))


def test_a_json_patch_of_doubling_copies_is_refused() -> None:
    ops = [{"op": "add", "path": "/a", "value": ["x" * 1000] * 10}] + [
        {"op": "copy", "from": "", "path": f"/c{n}"} for n in range(40)
    ]
    with pytest.raises(PatchError):
        json_patch({}, ops)


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([{"op": "add", "path": 5, "value": 1}], id="path-number"),
        pytest.param([{"op": ["add"], "path": "/a", "value": 1}], id="op-list"),
        pytest.param([{"op": "move", "from": {}, "path": "/a"}], id="from-object"),
        pytest.param([{"op": "add", "path": "/l/" + "9" * 5000, "value": 1}], id="index-of-5000-digits"),
    ],
)
def test_malformed_json_patches_are_patch_errors(ops: list[Any]) -> None:
    with pytest.raises(PatchError):
        json_patch({"l": [1]}, ops)


def test_strategic_merge_of_lists_that_are_not_keyed_objects_replaces_them() -> None:
    def spec(containers: Any) -> dict[str, Any]:
        return {"kind": "Pod", "spec": {"containers": containers}}

    assert strategic_merge_patch(spec([1, 2]), spec([{"name": "a"}]))["spec"] == {"containers": [{"name": "a"}]}
    assert strategic_merge_patch(spec([{"name": "a"}]), spec([{"name": ["a"]}]))["spec"] == {"containers": [{"name": ["a"]}]}
    meta = strategic_merge_patch({"metadata": {"finalizers": [{"x": 1}]}}, {"metadata": {"finalizers": ["a"]}})["metadata"]
    assert meta == {"finalizers": ["a"]}

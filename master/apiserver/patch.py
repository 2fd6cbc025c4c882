"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge.

Strategic merge (Kubernetes' merge patch that merges tagged lists by a key, with its
directives) is in strategic_merge.py, its merge keys in patch_meta.py.
"""

from __future__ import annotations

import copy
from typing import Any

from master.apiserver.body import MAX_DECODED_BYTES, BodyError, check_tree
from master.apiserver.strategic_merge import StrategicMergeError, strategic_merge_patch

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"  # server-side apply: managed_fields.py, not a patch of this module


class PatchError(ValueError):
    """The patch does not apply; the message says which operation or path."""


__all__ = ["PatchError", "apply_patch", "json_patch", "merge_patch", "strategic_merge_patch"]


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _index(part: str, length: int) -> int | None:
    """A JSON pointer token as an index below ``length`` ("0", "12"), or None."""
    if part.isascii() and part.isdigit() and len(part) <= 10 and int(part) < length:
        return int(part)
    return None


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"path {str(path)[:64]!r} must be a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"path {path[:256]!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and (index := _index(part, len(doc))) is not None:
            doc = doc[index]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return doc


def _set(doc: Any, parts: list[str], value: Any, path: str, *, insert: bool) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if not insert and last not in parent:
            raise PatchError(f"replace: path {path!r} does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and insert:
            parent.append(value)
        elif (index := _index(last, len(parent) + (1 if insert else 0))) is not None:
            if insert:
                parent.insert(index, value)
            else:
                parent[index] = value
        else:
            raise PatchError(f"path {path!r}: index out of range")
    else:
        raise PatchError(f"path {path!r} does not exist")
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and (index := _index(last, len(parent))) is not None:
        return parent.pop(index)
    raise PatchError(f"remove: path {path!r} does not exist")


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    copied = 0
    for n, op in enumerate(operations):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {n}: needs 'op' and 'path'")
        if not isinstance(op["op"], str):
            raise PatchError(f"operation {n}: 'op' must be a string")
        kind, path = op["op"], op["path"]
        parts = _pointer(path)
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {n} ({kind}): needs 'value'")
        if kind == "add":
            doc = _set(doc, parts, copy.deepcopy(op["value"]), path, insert=True)
        elif kind == "replace":
            doc = _set(doc, parts, copy.deepcopy(op["value"]), path, insert=False)
        elif kind == "remove":
            _remove(doc, parts, path)
        elif kind in ("move", "copy"):
            source = op.get("from")
            if source is None:
                raise PatchError(f"operation {n} ({kind}): needs 'from'")
            from_parts = _pointer(source)
            if kind == "move":
                value = _remove(doc, from_parts, source)
            else:
                value = _walk(doc, from_parts, source)
                # Copies double the document at each step: 30 operations would make gigabytes.
                try:
                    copied += check_tree(value)
                except BodyError as exc:
                    raise PatchError(f"operation {n} (copy): {exc}") from None
                if copied > MAX_DECODED_BYTES:
                    raise PatchError(
                        f"operation {n} (copy): the copies add more than {MAX_DECODED_BYTES} bytes"
                    )
                value = copy.deepcopy(value)
            doc = _set(doc, parts, value, path, insert=True)
        elif kind == "test":
            if _walk(doc, parts, path) != op["value"]:
                raise PatchError(f"test failed at {path!r}")
        else:
            raise PatchError(f"operation {n}: unknown op {kind!r}")
    return doc


def apply_patch(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    if content_type == JSON_PATCH:
        result = json_patch(target, patch)
    elif content_type == MERGE_PATCH:
        result = merge_patch(target, patch)
    elif content_type == STRATEGIC_MERGE_PATCH:
        try:
            result = strategic_merge_patch(target, patch)
        except StrategicMergeError as exc:
            raise PatchError(str(exc)) from None
    else:
        raise PatchError(f"unsupported patch type {content_type!r}")
    if not isinstance(result, dict):
        raise PatchError("the patched document is not an object")
    return result

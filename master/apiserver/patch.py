"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge.

Strategic merge is Kubernetes' merge patch that merges known lists by a key instead
of replacing them (containers by name, ports by containerPort, ...). Kajitori knows
the merge keys of the common lists below by field name, which covers what kubectl
sends for Pods, Deployments and Services.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

# field name -> the key its list items are merged by
STRATEGIC_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "conditions": "type",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
}
# lists of scalars merged as sets
STRATEGIC_SETS = {"finalizers"}


class PatchError(ValueError):
    """The patch does not apply; the message says which operation or path."""


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


def strategic_merge_patch(target: Any, patch: Any, field: str | None = None) -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        result = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            if value is None:
                result.pop(key, None)
            else:
                result[key] = strategic_merge_patch(result.get(key), value, key)
        return result
    if isinstance(patch, list) and field in STRATEGIC_KEYS and isinstance(target, list):
        merge_key = STRATEGIC_KEYS[field]
        if not all(isinstance(i, dict) and (merge_key in i or i.get("$patch") == "delete") for i in patch):
            return copy.deepcopy(patch)
        result_list = [dict(i) for i in target]
        index = {i.get(merge_key): n for n, i in enumerate(result_list)}
        deleted = set()
        for item in patch:
            key = item.get(merge_key)
            if item.get("$patch") == "delete":
                deleted.add(key)
            elif key in index:
                result_list[index[key]] = strategic_merge_patch(result_list[index[key]], item)
            else:
                index[key] = len(result_list)
                result_list.append({k: v for k, v in item.items() if not k.startswith("$")})
        return [i for i in result_list if i.get(merge_key) not in deleted]
    if isinstance(patch, list) and field in STRATEGIC_SETS and isinstance(target, list):
        return list(dict.fromkeys([*target, *patch]))
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
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
        elif last.isdigit() and int(last) <= len(parent) - (0 if insert else 1):
            if insert:
                parent.insert(int(last), value)
            else:
                parent[int(last)] = value
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
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError(f"remove: path {path!r} does not exist")


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for n, op in enumerate(operations):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {n}: needs 'op' and 'path'")
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
            value = _remove(doc, from_parts, source) if kind == "move" else copy.deepcopy(_walk(doc, from_parts, source))
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
        result = strategic_merge_patch(target, patch)
    else:
        raise PatchError(f"unsupported patch type {content_type!r}")
    if not isinstance(result, dict):
        raise PatchError("the patched document is not an object")
    return result

"""Strategic merge patch as Kubernetes' strategicpatch package defines it.

A strategic merge patch is a JSON merge patch that knows the Go types: lists tagged
``patchStrategy=merge`` merge their items by the ``patchMergeKey`` (patch_meta.py holds
those facts), lists of scalars with that tag merge as sets, and every other list is
replaced. The directives are those kubectl sends:

- ``$patch: replace`` (a map, or an item of a merged list: replace the whole list),
  ``$patch: delete`` (a map becomes empty; a list item is removed by its key), ``$patch: merge``;
- ``$retainKeys: [...]`` drops the original's keys not named (a union type's one member);
- ``$setElementOrder/<list>`` orders the merged list (client-side apply sends it);
- ``$deleteFromPrimitiveList/<list>`` removes scalars from a merged list of scalars.

Order follows Kubernetes too: the items the patch names come in the patch's (or the
``$setElementOrder``) order, interleaved with the server-only items by their place in the
live list; so an item a patch adds to a merged list lands before the items it did not name.
"""

from __future__ import annotations

import copy
from typing import Any

from master.apiserver.patch_meta import KINDS, TYPES, Field, fields_of

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ONLY_METADATA = {"metadata": Field("ObjectMeta")}


class StrategicMergeError(ValueError):
    """The patch is not a valid strategic merge patch; the message says why."""


def strategic_merge_patch(target: Any, patch: Any, kind: str | None = None) -> Any:
    """``target`` patched; ``kind`` (default: the target's own) chooses the merge keys."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    original = copy.deepcopy(target) if isinstance(target, dict) else {}
    kind = kind or (target.get("kind") if isinstance(target, dict) else None)
    return _merge_map(original, copy.deepcopy(patch), KINDS.get(str(kind), _ONLY_METADATA))


def _merge_map(original: dict[str, Any], patch: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    if PATCH in patch:
        directive = patch.pop(PATCH)
        if directive == "replace":
            return _strip(patch)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise StrategicMergeError(f"Unknown patch type: {directive!r}")
    if RETAIN_KEYS in patch:
        original = _retain_keys(original, patch, patch.pop(RETAIN_KEYS))
    for directive_key in [k for k in patch if k.startswith(SET_ORDER)]:
        _set_element_order(original, patch, directive_key, fields)
    for key, value in patch.items():
        delete_list = key.startswith(DELETE_PRIMITIVE)
        name = key[len(DELETE_PRIMITIVE) :] if delete_list else key
        if name.startswith("$"):
            continue  # a directive Kubernetes does not define either; never stored
        if value is None:
            original.pop(name, None)
            continue
        if name not in original:
            if not delete_list:
                original[name] = _strip(value)
            continue
        current, field = original[name], fields.get(name, Field())
        if isinstance(current, dict) and isinstance(value, dict):
            original[name] = _merge_map(current, value, fields_of(field.type))
        elif isinstance(current, list) and isinstance(value, list):
            original[name] = _merge_list(current, value, field, delete_list=delete_list)
        elif not delete_list:
            original[name] = _strip(value)
    return original


def _retain_keys(original: dict[str, Any], patch: dict[str, Any], retain: Any) -> dict[str, Any]:
    if not isinstance(retain, list):
        raise StrategicMergeError("$retainKeys must be a list of field names")
    for key, value in patch.items():
        if value is None or key.startswith((SET_ORDER, DELETE_PRIMITIVE)):
            continue
        if key not in retain:
            raise StrategicMergeError(f"the patch has {key!r}, a field its $retainKeys does not list")
    return {k: v for k, v in original.items() if k in retain}


def _set_element_order(
    original: dict[str, Any], patch: dict[str, Any], directive_key: str, fields: dict[str, Field]
) -> None:
    order = patch.pop(directive_key)
    name = directive_key[len(SET_ORDER) :]
    if not isinstance(order, list):
        raise StrategicMergeError(f"{directive_key} must be a list")
    field = fields.get(name, Field())
    live, patched = original.get(name), patch.get(name)
    if (live is not None and not isinstance(live, list)) or (
        patched is not None and not isinstance(patched, list)
    ):
        return  # not a list on one side: the plain merge below replaces it
    if live is not None and patched is None:
        merged = live
    elif live is None and patched is not None:
        merged = _strip(patched)
    elif live is not None and patched is not None:
        merged = _merge_list(live, patched, field, delete_list=False)
    else:
        return
    named = [item for item in merged if _index(order, item, field.key) >= 0]
    server_only = [item for item in merged if _index(order, item, field.key) < 0]
    original[name] = _normalize(named, server_only, order, live or [], field.key)
    patch.pop(name, None)


def _merge_list(live: list[Any], patch: list[Any], field: Field, *, delete_list: bool) -> list[Any]:
    if "merge" not in field.strategy:
        return list(_strip(patch))
    if not live and not patch:
        return live
    if not any(isinstance(i, dict) for i in [*live, *patch]):
        if delete_list:
            return [i for i in live if i not in patch]
        merged = list(_dedupe([*live, *patch]))
        named = [i for i in merged if i in patch]
        return _normalize(named, [i for i in merged if i not in patch], patch, live, "")
    key = field.key
    # A list of something else than keyed objects (a client's own field of that name, a
    # hostile body) is replaced, as a merge patch would, rather than half-merged.
    if not (_keyed(patch, key, directives=True) and _keyed(live, key, directives=False)):
        return list(_strip(patch))
    live, patch = _special_elements(live, patch, key)
    merged = list(live)
    for item in patch:
        at = _index(merged, item, key)
        if at >= 0:
            merged[at] = _merge_map(merged[at], item, fields_of(field.type))
        else:
            merged.append(_strip(item))
    named = [i for i in merged if _index(patch, i, key) >= 0]
    server_only = [i for i in merged if _index(patch, i, key) < 0]
    return _normalize(named, server_only, patch, live, key)


def _special_elements(live: list[Any], patch: list[Any], key: str) -> tuple[list[Any], list[Any]]:
    """``$patch`` items applied: deletions taken out of ``live``; with a replace, the patch is the list."""
    plain, replace = [], False
    for item in patch:
        directive = item.get(PATCH)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            live = [i for i in live if i.get(key) != item.get(key)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise StrategicMergeError("merging lists cannot yet be specified in the patch")
        else:
            raise StrategicMergeError(f"Unknown patch type: {directive!r}")
    if replace:
        return [_strip(i) for i in plain], []
    return live, plain


def _keyed(items: list[Any], key: str, *, directives: bool) -> bool:
    """Every item an object whose merge key is a scalar (or, in a patch, a ``$patch`` directive)."""
    for item in items:
        if not isinstance(item, dict) or not key:
            return False
        if key in item:
            if not isinstance(item[key], str | int | float | bool | None):
                return False
        elif not (directives and PATCH in item):
            return False
    return True


def _index(items: list[Any], item: Any, key: str) -> int:
    """Where ``item`` is in ``items``: by merge key for objects, by value for scalars; -1 if absent."""
    for n, other in enumerate(items):
        if key and isinstance(item, dict) and isinstance(other, dict):
            if key in other and other.get(key) == item.get(key):
                return n
        elif other == item:
            return n
    return -1


def _sort_by(items: list[Any], order: list[Any], key: str) -> list[Any]:
    """Kubernetes' stable sort by place in ``order`` (an item not in it sorts first), as Go's
    insertion sort runs it, so that lists with server-only items end in the same order."""

    def less(a: Any, b: Any) -> bool:
        ia, ib = _index(order, a, key), _index(order, b, key)
        return ia < ib if ia >= 0 and ib >= 0 else True

    out = list(items)
    for i in range(1, len(out)):
        j = i
        while j > 0 and less(out[j], out[j - 1]):
            out[j], out[j - 1] = out[j - 1], out[j]
            j -= 1
    return out


def _normalize(
    named: list[Any], server_only: list[Any], named_order: list[Any], live: list[Any], key: str
) -> list[Any]:
    """The patch's items in its order, the server-only ones in the live order, interleaved by the live order."""
    right, left = _sort_by(named, named_order, key), _sort_by(server_only, live, key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li, ri = _index(live, left[i], key), _index(live, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _strip(value: Any) -> Any:
    """A new value with its directives and nulls taken out, as Kubernetes stores it."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(i) for i in value if not (isinstance(i, dict) and i.get(PATCH) == "delete")]
    return value


__all__ = ["TYPES", "StrategicMergeError", "strategic_merge_patch"]

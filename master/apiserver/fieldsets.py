"""Field sets: which fields of an object a value sets, in Kubernetes' ``fieldsV1`` form.

A field set is a Python ``set`` of paths; a path is a tuple of path elements written as
``fieldsV1`` writes them: ``f:spec`` (a field), ``k:{"name":"web"}`` (the item of a list
merged by key, its key fields sorted), ``v:"a"`` (a value of a set list). The walk over
an object knows lists from the patch metadata strategic merge uses (``patch_meta``): a
list Kubernetes merges by a key is a map-list (``k:``), one merged without a key a set
(``v:``), any other list and the structs Kubernetes marks atomic are one leaf. Lists whose
Kubernetes list-map keys are more than the patch merge key (container and Service ports:
the port and its protocol, TCP when left out) are named in ``patch_meta.LIST_MAP_KEYS``,
the table OpenAPI v3 publishes as ``x-kubernetes-list-map-keys`` too.

Three operations serve server-side apply and the ``Update`` entries of other writes:
``field_set`` (the fields an applied configuration sets, structured-merge-diff's rules:
leaves, nulls, empty objects, list items and atomic values are members, a non-empty
object is only its members' parent), ``compare`` (added, modified and removed paths from
one object to another) and ``encode``/``decode`` to and from the ``fieldsV1`` tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from master.apiserver.patch_meta import KINDS, LIST_MAP_KEY_DEFAULTS, LIST_MAP_KEYS, Field, fields_of

Path = tuple[str, ...]
FieldSet = set[Path]

# (parent type, field) -> the list's Kubernetes list-map keys and their defaults, where
# they differ from the patch merge key (one table with OpenAPI v3's, in patch_meta).
LIST_KEYS: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, Any]]] = {
    where: (keys, {k: v for k, v in LIST_MAP_KEY_DEFAULTS.items() if k in keys}) for where, keys in LIST_MAP_KEYS.items()
}
# Structs Kubernetes marks ``structType=atomic``: owned, compared and replaced as one value.
ATOMIC_FIELDS: dict[str, frozenset[str]] = {
    "DeploymentSpec": frozenset({"selector"}),
    "TemplatedSpec": frozenset({"selector"}),
    "JobSpec": frozenset({"selector"}),
}


class FieldSetError(ValueError):
    """An applied value a field set cannot be made of (a map-list item without its key, a key twice)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path_string(path)}: {message}")
        self.path = path
        self.message = message


class ListShape(NamedTuple):
    kind: str  # "map" | "set" | "atomic"
    keys: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = {}


_ATOMIC = ListShape("atomic")
_SET = ListShape("set")


def top_type(kind: str) -> str:
    """The walk's name for a kind's top-level object."""
    return f"kind:{kind}"


def table_of(type_name: str | None) -> dict[str, Field]:
    """The patch metadata of a type's fields (a kind's top level for ``kind:Kind``)."""
    if type_name and type_name.startswith("kind:"):
        return KINDS.get(type_name[5:], {})
    return fields_of(type_name)


def list_shape(parent: str | None, field: str, info: Field | None) -> ListShape:
    if info is None or "merge" not in info.strategy:
        return _ATOMIC
    keys, defaults = LIST_KEYS.get((parent or "", field), ((info.key,) if info.key else (), {}))
    return ListShape("map", keys, defaults) if keys else _SET


def canonical_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def item_element(item: Any, shape: ListShape) -> str | None:
    """The path element of a list item (``k:{...}`` or ``v:...``), or None when it has no key."""
    if shape.kind == "set":
        return "v:" + canonical_json(item)
    if not isinstance(item, dict):
        return None
    key: dict[str, Any] = {}
    for name in shape.keys:
        value = item.get(name, shape.defaults.get(name))
        if value is None or isinstance(value, dict | list):
            return None
        key[name] = value
    return "k:" + canonical_json(key)


def keyed_items(items: list[Any], shape: ListShape) -> dict[str, int] | None:
    """Element -> index of a keyed list's items; None when an item has no key or a key repeats."""
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        element = item_element(item, shape)
        if element is None or element in index:
            return None
        index[element] = i
    return index


# -- the fields an applied configuration sets ---------------------------------------------


def field_set(obj: dict[str, Any], kind: str) -> FieldSet:
    """The fields ``obj`` sets, as server-side apply owns them; FieldSetError on an unkeyed or repeated list item."""
    out: FieldSet = set()
    _set_of_object(obj, top_type(kind), (), out)
    return out


def _set_of_object(obj: dict[str, Any], type_name: str | None, path: Path, out: FieldSet) -> None:
    table = table_of(type_name)
    atomic = ATOMIC_FIELDS.get(type_name or "", frozenset())
    for name, value in obj.items():
        child = (*path, "f:" + name)
        info = table.get(name)
        if value is None or name in atomic or not isinstance(value, dict | list) or value in ({}, []):
            out.add(child)
        elif isinstance(value, dict):
            _set_of_object(value, info.type if info else None, child, out)
        else:
            _set_of_list(value, list_shape(type_name, name, info), info.type if info else None, child, out)


def _set_of_list(items: list[Any], shape: ListShape, item_type: str | None, path: Path, out: FieldSet) -> None:
    if shape.kind == "atomic":
        out.add(path)
        return
    seen: set[str] = set()
    for i, item in enumerate(items):
        element = item_element(item, shape)
        if element is None:
            raise FieldSetError((*path, f"i:{i}"), f"an item of this list needs its key fields: {', '.join(shape.keys)}")
        if element in seen:
            raise FieldSetError(path, f"duplicate entries for key {element[2:]}")
        seen.add(element)
        child = (*path, element)
        out.add(child)
        if shape.kind == "map" and isinstance(item, dict):
            _set_of_object(item, item_type, child, out)


# -- what changed from one object to another ----------------------------------------------


class Comparison(NamedTuple):
    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def changed(self) -> FieldSet:
        return self.added | self.modified


def compare(old: dict[str, Any], new: dict[str, Any], kind: str) -> Comparison:
    """Paths added, modified and removed from ``old`` to ``new`` (an added object adds its members too)."""
    result = Comparison(set(), set(), set())
    _compare_objects(old, new, top_type(kind), (), result)
    return result


def _all_paths(value: Any, type_name: str | None, shape: ListShape | None, path: Path, out: FieldSet) -> None:
    """Every path of a value that appeared or vanished as a whole, the value itself included."""
    # A top-level object (metadata, spec) is structure, not a field someone sets; nor is a
    # list merged by item (its items are), as Kubernetes' Update entries show them.
    if path and (len(path) > 1 or not isinstance(value, dict)) and not (isinstance(value, list) and shape is not None and shape.kind != "atomic"):
        out.add(path)
    if isinstance(value, dict) and shape is None:
        table = table_of(type_name)
        atomic = ATOMIC_FIELDS.get(type_name or "", frozenset())
        for name, child in value.items():
            info = table.get(name)
            if name in atomic:
                out.add((*path, "f:" + name))
            elif isinstance(child, list):
                _all_paths(child, info.type if info else None, list_shape(type_name, name, info), (*path, "f:" + name), out)
            else:
                _all_paths(child, info.type if info else None, None, (*path, "f:" + name), out)
    elif isinstance(value, list) and shape is not None and shape.kind != "atomic":
        if keyed_items(value, shape) is None:
            return
        for item in value:
            element = item_element(item, shape)
            assert element is not None
            _all_paths(item, type_name if shape.kind == "map" else None, None if shape.kind == "map" else _ATOMIC, (*path, element), out)


def _compare_objects(old: dict[str, Any], new: dict[str, Any], type_name: str | None, path: Path, out: Comparison) -> None:
    table = table_of(type_name)
    atomic = ATOMIC_FIELDS.get(type_name or "", frozenset())
    for name in old.keys() | new.keys():
        child = (*path, "f:" + name)
        info = table.get(name)
        item_type = info.type if info else None
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if before is _MISSING:
            shape = list_shape(type_name, name, info) if isinstance(after, list) else None
            _all_paths(after, item_type, _ATOMIC if name in atomic else shape, child, out.added)
        elif after is _MISSING:
            shape = list_shape(type_name, name, info) if isinstance(before, list) else None
            _all_paths(before, item_type, _ATOMIC if name in atomic else shape, child, out.removed)
        elif before == after:
            continue
        elif name not in atomic and isinstance(before, dict) and isinstance(after, dict):
            _compare_objects(before, after, item_type, child, out)
        elif name not in atomic and isinstance(before, list) and isinstance(after, list):
            _compare_lists(before, after, list_shape(type_name, name, info), item_type, child, out)
        else:
            out.modified.add(child)


def _compare_lists(old: list[Any], new: list[Any], shape: ListShape, item_type: str | None, path: Path, out: Comparison) -> None:
    old_index = keyed_items(old, shape) if shape.kind != "atomic" else None
    new_index = keyed_items(new, shape) if shape.kind != "atomic" else None
    if old_index is None or new_index is None:
        out.modified.add(path)  # atomic, or not keyed well enough to tell items apart
        return
    item_shape = None if shape.kind == "map" else _ATOMIC
    for element, i in new_index.items():
        child = (*path, element)
        if element not in old_index:
            _all_paths(new[i], item_type, item_shape, child, out.added)
        elif shape.kind == "map" and old[old_index[element]] != new[i]:
            before, after = old[old_index[element]], new[i]
            if isinstance(before, dict) and isinstance(after, dict):
                _compare_objects(before, after, item_type, child, out)
            else:
                out.modified.add(child)
    for element, i in old_index.items():
        if element not in new_index:
            _all_paths(old[i], item_type, item_shape, (*path, element), out.removed)


_MISSING: Any = object()


# -- fieldsV1 ------------------------------------------------------------------------------


def encode(paths: Iterable[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` tree of a set: ``{}`` for a leaf, ``".": {}`` for a member that has members below it."""
    tree: dict[str, Any] = {}
    members = set(paths)
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _sorted(tree, (), members)


def _sorted(node: dict[str, Any], path: Path, members: FieldSet) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node and path in members:
        out["."] = {}
    for element in sorted(node, key=_element_order):
        out[element] = _sorted(node[element], (*path, element), members)
    return out


def _element_order(element: str) -> tuple[int, str]:
    return ("fkvi".find(element[:1]), element)


class DecodeError(ValueError):
    """A ``fieldsV1`` tree that is not one: the message names the element."""


def decode(tree: Any) -> FieldSet:
    """The set of a ``fieldsV1`` tree; DecodeError on anything else (keys canonicalised, so ``k:`` JSON matches ours)."""
    out: FieldSet = set()
    if not isinstance(tree, dict):
        raise DecodeError("must be an object")
    stack: list[tuple[dict[str, Any], Path]] = [(tree, ())]
    while stack:
        node, path = stack.pop()
        if path and (not node or "." in node):
            out.add(path)
        for element, child in node.items():
            if element == ".":
                if child != {}:
                    raise DecodeError(f'"." must map to {{}} under {path_string(path) or "the root"}')
                continue
            if not isinstance(child, dict):
                raise DecodeError(f"{element[:64]!r} must map to an object")
            stack.append((child, (*path, _canonical(element))))
    return out


def _canonical(element: str) -> str:
    prefix, body = element[:2], element[2:]
    if prefix == "f:" and body:
        return element
    try:
        if prefix == "k:" and isinstance(value := orjson.loads(body), dict) and value:
            return "k:" + canonical_json(value)
        if prefix == "v:":
            return "v:" + canonical_json(orjson.loads(body))
        if prefix == "i:" and body.isascii() and body.isdigit():
            return element
    except orjson.JSONDecodeError:
        pass
    raise DecodeError(f"{element[:64]!r} is not a path element (f:name, k:{{...}}, v:value, i:index)")


def path_string(path: Path) -> str:
    """A path as Kubernetes prints it in conflicts: ``.spec.template.spec.containers[name="web"].image``."""
    out = []
    for element in path:
        prefix, body = element[:2], element[2:]
        if prefix == "f:":
            out.append("." + body)
        elif prefix == "k:":
            key = orjson.loads(body)
            out.append("[" + ",".join(f"{name}={canonical_json(value)}" for name, value in sorted(key.items())) + "]")
        elif prefix == "v:":
            out.append(f"[={body}]")
        else:
            out.append(f"[{body}]")
    return "".join(out)


def ancestors(paths: Iterable[Path]) -> FieldSet:
    """Every proper prefix of the paths (the root excluded)."""
    return {path[:i] for path in paths for i in range(1, len(path))}

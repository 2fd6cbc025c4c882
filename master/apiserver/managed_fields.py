"""``metadata.managedFields``: who set which field, kept right by every write; server-side apply.

Each entry is one manager's field set (``fieldsets``) under a key: its name, its operation
(``Apply`` or ``Update``), the apiVersion for an Update, and the subresource. Writes go
through here once validated and defaulted, just before the store, as kube-apiserver's
field manager does:

- ``track_update`` (create, update, every non-apply patch, status and scale writes): the
  fields the write changed become the writer's ``Update`` entry and leave every other
  entry (a write never conflicts; it takes what it changes). Managed fields the client
  sent are the starting point when it sent some (so kubectl's client-side-apply
  migration can rewrite them), else the live ones, as in Kubernetes: ``[]`` keeps them,
  ``[{}]`` (an entry that owns nothing) clears them. A malformed list is a 422 naming
  ``metadata.managedFields[i]...``, never stored.
- ``ApplyPlan``: server-side apply. The applied configuration is merged into the live
  object (maps by key, map-lists by their keys, set-lists as sets, anything else
  replaced); the fields this manager applied last time and omits now are removed unless
  another manager owns them or something below them; the fields it changes that another
  manager owns are conflicts (409, Kubernetes' words) unless ``force``, which moves them.

At most ten Update entries are kept: the oldest are folded into ``ancient-changes``, as in
Kubernetes. Simplified against Kubernetes: one version per kind (no conversion of field
sets between versions), and ``.`` markers of Update entries follow the JSON tree rather
than Go's pointer fields.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kajitori.api.meta import StatusCause
from kajitori.api.registry import Resource
from master.apiserver import errors
from master.apiserver.fieldsets import (
    ATOMIC_FIELDS,
    DecodeError,
    FieldSet,
    FieldSetError,
    ListShape,
    Path,
    ancestors,
    compare,
    decode,
    encode,
    field_set,
    item_element,
    keyed_items,
    list_shape,
    path_string,
    table_of,
    top_type,
)

APPLY, UPDATE = "Apply", "Update"
MAX_MANAGER_LENGTH = 128
BEFORE_FIRST_APPLY = "before-first-apply"
# Kubernetes keeps at most ten Update entries; older ones are folded into one.
MAX_UPDATE_ENTRIES = 10
ANCIENT_CHANGES = "ancient-changes"
# Metadata the server owns: never in a field set.
_SERVER_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink")  # fmt: skip
_IGNORED: frozenset[Path] = frozenset({("f:apiVersion",), ("f:kind",), *(("f:metadata", "f:" + m) for m in _SERVER_META)})


class Entry:
    """One manager's entry. A stored entry keeps its ``fieldsV1`` tree and is decoded only when a
    write changes what it owns: most writes touch one or two managers of an object, and
    decoding every entry would cost a write more than the rest of the field manager."""

    def __init__(
        self, manager: str, operation: str, api_version: str, subresource: str, fields: FieldSet | None,
        time: str | None = None, *, tree: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.manager, self.operation, self.api_version, self.subresource = manager, operation, api_version, subresource
        self.time = time
        self._fields = fields
        self._tree = tree

    @property
    def fields(self) -> FieldSet:
        if self._fields is None:
            self._fields = decode(self._tree or {})
        return self._fields

    @fields.setter
    def fields(self, value: FieldSet) -> None:
        self._fields = value

    def owned(self, paths: FieldSet) -> FieldSet:
        """Which of ``paths`` this entry owns (without decoding a stored tree)."""
        if self._fields is not None:
            return self._fields & paths
        return {path for path in paths if _tree_has(self._tree or {}, path)}

    def discard(self, paths: FieldSet) -> None:
        if self.owned(paths):
            self.fields = self.fields - paths

    def empty(self) -> bool:
        return not self._fields if self._fields is not None else not self._tree

    def key(self) -> tuple[str, str, str, str]:
        # Appliers are one manager whatever version they applied, as in Kubernetes.
        return (self.manager, self.operation, "" if self.operation == APPLY else self.api_version, self.subresource)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out.update(fieldsType="FieldsV1", fieldsV1=self._tree if self._fields is None else encode(self._fields))
        if self.subresource:
            out["subresource"] = self.subresource
        return out


@dataclass
class Writer:
    """Who writes and how: the request's field manager, its subresource, the clock's now."""

    manager: str | None
    now: str
    subresource: str = ""
    force: bool = False
    entries: list[Entry] = field(default_factory=list)


# -- the request's manager ---------------------------------------------------------------


def manager_name(field_manager: str | None, user_agent: str, *, apply: bool, force: str | None) -> str:
    """``?fieldManager=`` checked as Kubernetes checks it, else the User-Agent's program name."""
    causes = []
    if force not in (None, "") and not apply:
        causes.append(StatusCause(reason="FieldValueForbidden", field="force", message="Forbidden: may not be specified for non-apply patch"))
    if apply and not field_manager:
        causes.append(StatusCause(reason="FieldValueRequired", field="fieldManager", message="Required value: is required for apply patch"))
    name = field_manager or "".join(c for c in user_agent.split("/", 1)[0] if c.isprintable())[:MAX_MANAGER_LENGTH]
    if len(name) > MAX_MANAGER_LENGTH:
        causes.append(StatusCause(reason="FieldValueTooLong", field="fieldManager", message=f"Too long: may not be more than {MAX_MANAGER_LENGTH} bytes"))
    for i, char in enumerate(name):
        if not char.isprintable():
            code = f"U+{ord(char):04X} '{unicodedata.name(char, '?')}'"
            causes.append(StatusCause(reason="FieldValueInvalid", field="fieldManager", message=f"Invalid value: invalid character {code} (at position {i})"))
            break
    if causes:
        summary = ", ".join(f"{c.field}: {c.message}" for c in causes)
        raise errors.ApiError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {summary}', causes=causes, kind="PatchOptions")
    return name


def request_manager(params: Mapping[str, str], headers: Mapping[str, str], *, apply: bool) -> tuple[str, bool]:
    """The manager of a write from its query (``fieldManager``, ``force``) and User-Agent, and whether it forces."""
    force = params.get("force")
    name = manager_name(params.get("fieldManager"), headers.get("user-agent", ""), apply=apply, force=force)
    if force in (None, "", "false", "0"):
        return name, False
    if force in ("true", "1"):
        return name, True
    raise errors.bad_request(f"force: Invalid value: {str(force)[:64]!r}: must be true or false")


# -- entries in and out ------------------------------------------------------------------


class _EntryError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def parse_entries(resource: Resource, name: str | None, value: Any) -> list[Entry]:
    """A client's ``managedFields`` as entries, or a 422 naming the first bad field."""
    try:
        return _parse(value)
    except _EntryError as exc:
        raise errors.field_invalid(resource, name, f"metadata.managedFields{exc.where}", exc.message) from None


def _tree_has(tree: dict[str, Any], path: Path) -> bool:
    node: Any = tree
    for element in path:
        node = node.get(element)
        if not isinstance(node, dict):
            return False
    return not node or "." in node


def _parse(value: Any, *, trusted: bool = False) -> list[Entry]:
    """Entries from a managedFields list; a ``trusted`` one (stored by this module) keeps its trees undecoded."""
    if not isinstance(value, list):
        raise _EntryError("", "must be a list of ManagedFieldsEntry objects")
    entries: list[Entry] = []
    for i, raw in enumerate(value):
        at = f"[{i}]"
        if not isinstance(raw, dict):
            raise _EntryError(at, "must be an object")
        for key in ("manager", "operation", "apiVersion", "time", "fieldsType", "subresource"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise _EntryError(f"{at}.{key}", "must be a string")
        if raw == {} or (not raw.get("fieldsV1") and not raw.get("manager")):
            continue  # an entry that owns nothing: how a client clears managedFields
        operation, manager = raw.get("operation"), raw.get("manager") or ""
        if operation not in (APPLY, UPDATE):
            raise _EntryError(f"{at}.operation", f"Invalid value: {str(operation)[:64]!r}: must be `Apply` or `Update`")
        if raw.get("fieldsType") not in (None, "", "FieldsV1"):
            raise _EntryError(f"{at}.fieldsType", f"Invalid value: {raw['fieldsType'][:64]!r}: must be `FieldsV1`")
        if len(manager) > MAX_MANAGER_LENGTH or not manager.isprintable():
            raise _EntryError(f"{at}.manager", f"Invalid value: must be at most {MAX_MANAGER_LENGTH} printable characters")
        if len(raw.get("subresource") or "") > 256:
            raise _EntryError(f"{at}.subresource", "Too long: may not be more than 256 bytes")
        tree = raw.get("fieldsV1") or {}
        try:
            fields = None if trusted and isinstance(tree, dict) else decode(tree)
        except DecodeError as exc:
            raise _EntryError(f"{at}.fieldsV1", f"Invalid value: {exc}") from None
        entry = Entry(manager, operation, raw.get("apiVersion") or "", raw.get("subresource") or "", fields, raw.get("time"), tree=tree)
        entries = [e for e in entries if e.key() != entry.key()] + [entry]
    return entries


def _stored_entries(obj: dict[str, Any]) -> list[Entry]:
    """The entries of a stored object (written by this module; anything else is dropped, not trusted)."""
    value = (obj.get("metadata") or {}).get("managedFields")
    if not isinstance(value, list):
        return []
    try:
        return _parse(value, trusted=True)
    except _EntryError:
        return []


def _cap_updates(entries: list[Entry]) -> list[Entry]:
    """At most ``MAX_UPDATE_ENTRIES`` Update entries: the oldest are folded into ``ancient-changes``, as Kubernetes does."""
    updates = sorted((e for e in entries if e.operation == UPDATE), key=lambda e: (e.time or "", e.manager))
    if len(updates) <= MAX_UPDATE_ENTRIES:
        return entries
    gone: set[int] = set()
    bucket = next((e for e in updates if e.manager == ANCIENT_CHANGES and not e.subresource), None)
    for entry in updates:
        if len(updates) - len(gone) <= MAX_UPDATE_ENTRIES:
            break
        if entry is bucket:
            continue
        if bucket is None:
            bucket = Entry(ANCIENT_CHANGES, UPDATE, entry.api_version, "", set(entry.fields), entry.time)
            entries = [*entries, bucket]
            updates.append(bucket)
        else:
            bucket.fields = bucket.fields | entry.fields
            bucket.time = max(bucket.time or "", entry.time or "") or None
        gone.add(id(entry))
    return [e for e in entries if id(e) not in gone]


def _store_entries(obj: dict[str, Any], entries: list[Entry]) -> None:
    kept = _cap_updates([e for e in entries if not e.empty()])
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = [e.to_dict() for e in kept]
    else:
        meta.pop("managedFields", None)


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def _scoped(paths: FieldSet, resource: Resource, subresource: str) -> FieldSet:
    """The paths a write to this (sub)resource may own: never server metadata; status only through /status."""
    status_apart = "status" in resource.subresources
    out = set()
    for path in paths:
        if path[:1] in _IGNORED or path[:2] in _IGNORED:
            continue
        if status_apart and (subresource == "status") != (path[:1] == ("f:status",)):
            continue
        out.add(path)
    return out


# -- Update: every write but apply -------------------------------------------------------


def track_update(resource: Resource, name: str, old: dict[str, Any] | None, new: dict[str, Any], writer: Writer) -> None:
    """Set ``new``'s managedFields: the writer's Update entry takes the fields this write changed."""
    sent = (new.get("metadata") or {}).get("managedFields")
    entries = _stored_entries(old) if old is not None else []
    unchanged = old is not None and sent == (old.get("metadata") or {}).get("managedFields")
    if sent is not None and (writer.subresource == "" or old is None) and not unchanged:
        given = parse_entries(resource, name, sent)
        if given or sent:  # [] keeps the live entries; [{}] leaves none
            entries = given
    if writer.manager is not None:
        changes = compare(without_managed_fields(old or {}), without_managed_fields(new), resource.kind)
        taken = _scoped(changes.changed(), resource, writer.subresource)
        for entry in entries:
            entry.discard(taken | changes.removed)
        if taken:
            mine = Entry(writer.manager, UPDATE, resource.api_version, writer.subresource, taken, writer.now)
            previous = next((e for e in entries if e.key() == mine.key()), None)
            if previous is not None:
                previous.fields |= taken
                previous.time = writer.now
            else:
                entries.append(mine)
    _store_entries(new, entries)


# -- Apply ---------------------------------------------------------------------------------


@dataclass
class ApplyPlan:
    """One server-side apply: the object to write (``merged``) and, once validated, its managed fields."""

    resource: Resource
    name: str
    writer: Writer
    applied: FieldSet
    merged: dict[str, Any]

    @classmethod
    def make(cls, resource: Resource, name: str, live: dict[str, Any] | None, config: dict[str, Any], writer: Writer) -> ApplyPlan:
        meta = config.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        try:
            applied = _scoped(field_set(config, resource.kind), resource, writer.subresource)
        except FieldSetError as exc:
            raise errors.field_invalid(resource, name, path_string(exc.path).lstrip("."), exc.message) from None
        writer.entries = _stored_entries(live) if live is not None else []
        base = without_managed_fields(live) if live is not None else {}
        if live is not None and not writer.entries:
            # An object no write has recorded yet (made before managedFields were kept):
            # its fields belong to someone, so changing them is a conflict, as in Kubernetes.
            everything = _scoped(compare({}, base, resource.kind).added, resource, writer.subresource)
            writer.entries = [Entry(BEFORE_FIRST_APPLY, UPDATE, resource.api_version, writer.subresource, everything, writer.now)]
        try:
            merged = _merge(base, config, top_type(resource.kind))
        except FieldSetError as exc:
            raise errors.field_invalid(resource, name, path_string(exc.path).lstrip("."), exc.message) from None
        plan = cls(resource, name, writer, applied, merged)
        last = next((e for e in writer.entries if e.key() == plan._key()), None)
        if last is not None:
            plan._prune(last.fields - applied)
        return plan

    def _key(self) -> tuple[str, str, str, str]:
        return (self.writer.manager or "", APPLY, "", self.writer.subresource)

    def _prune(self, dropped: FieldSet) -> None:
        """Remove what this manager set before and omits now, unless another owns it (or a field under it)."""
        owned = set(self.applied)
        for entry in self.writer.entries:
            if entry.key() != self._key():
                owned |= entry.fields
        keep = owned | ancestors(owned)
        members = {p for p in dropped if p not in keep}
        parents = {p for p in ancestors(dropped) if p not in keep and len(p) > 1}
        for path in sorted(members, key=len):
            _remove(self.merged, path, self.resource.kind, only_if_empty=False)
        for path in sorted(parents, key=len, reverse=True):
            _remove(self.merged, path, self.resource.kind, only_if_empty=True)

    def finish(self, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """Conflicts (409 unless forced) and the new entries, once ``new`` is validated and defaulted."""
        changes = compare(without_managed_fields(old or {}), without_managed_fields(new), self.resource.kind)
        changed = _scoped(changes.changed(), self.resource, self.writer.subresource)
        removed = _scoped(changes.removed, self.resource, self.writer.subresource)
        conflicts: list[tuple[Entry, Path]] = []
        for entry in self.writer.entries:
            if entry.key() == self._key():
                continue
            conflicts.extend((entry, path) for path in sorted(entry.owned(changed & self.applied)))
        if conflicts and not self.writer.force:
            raise conflict_error(self.resource, self.name, conflicts)
        entries = [e for e in self.writer.entries if e.key() != self._key()]
        for entry in entries:
            entry.discard((changed & self.applied) | removed)
        # The time moves only when the object does (Kubernetes' rule), so applying again is a no-op.
        last = next((e for e in self.writer.entries if e.key() == self._key()), None)
        moved = bool(changed or removed)
        when = self.writer.now if moved or last is None else last.time
        manager = self.writer.manager or ""
        entries.append(Entry(manager, APPLY, self.resource.api_version, self.writer.subresource, set(self.applied), when))
        _store_entries(new, entries)


def _manager_text(entry: Entry) -> str:
    text = f'"{entry.manager}"'
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    if entry.operation == UPDATE:
        text += f" using {entry.api_version}"
    return text


def conflict_error(resource: Resource, name: str, conflicts: list[tuple[Entry, Path]]) -> errors.ApiError:
    """409 Conflict in kube-apiserver's words, one FieldManagerConflict cause per field."""
    causes = [
        # Go's StatusCause.Type is "reason" on the wire.
        StatusCause(reason="FieldManagerConflict", message=f"conflict with {_manager_text(e)}", field=path_string(p))
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_manager_text(entry)}: {path_string(path)}"
    else:
        lines = []
        for text in sorted({_manager_text(e) for e, _ in conflicts}):
            lines.append(f"conflicts with {text}:")
            lines.extend(f"- {path_string(p)}" for e, p in conflicts if _manager_text(e) == text)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    error = errors.ApiError(409, "Conflict", message, causes=causes)
    error.name = None
    return error


# -- merging an applied configuration into the live object ----------------------------------


def _merge(live: Any, config: Any, type_name: str | None, path: Path = ()) -> Any:
    """The applied ``config`` merged into ``live``: objects by key, lists by their shape, the rest replaced."""
    if not isinstance(config, dict) or not isinstance(live, dict):
        return copy.deepcopy(config)
    table = table_of(type_name)
    atomic = ATOMIC_FIELDS.get(type_name or "", frozenset())
    out = dict(live)
    for name, value in config.items():
        if value is None:
            out.pop(name, None)
            continue
        info = table.get(name)
        child = (*path, "f:" + name)
        shape = list_shape(type_name, name, info) if name not in atomic else None
        if shape is None or name not in live:
            out[name] = copy.deepcopy(value)
        elif isinstance(value, list) and isinstance(live[name], list):
            out[name] = _merge_list(live[name], value, shape, info.type if info else None, child)
        else:
            out[name] = _merge(live[name], value, info.type if info else None, child)
    return out


def _merge_list(live: list[Any], config: list[Any], shape: ListShape, item_type: str | None, path: Path) -> list[Any]:
    if shape.kind == "atomic":
        return copy.deepcopy(config)
    live_index = keyed_items(live, shape)
    if live_index is None:
        return copy.deepcopy(config)  # the live list cannot be merged by key: the applied one replaces it
    elements = [item_element(item, shape) or "" for item in config]  # keyed: field_set checked them
    applied = set(elements)
    out: list[Any] = []
    next_live = 0
    for element, item in zip(elements, config, strict=True):
        at = live_index.get(element)
        if at is None:
            out.append(copy.deepcopy(item))
            continue
        # Items only the live list has keep their place before the applied ones.
        out.extend(live[i] for i in range(next_live, at) if item_element(live[i], shape) not in applied)
        next_live = max(next_live, at + 1)
        out.append(_merge(live[at], item, item_type, (*path, element)) if shape.kind == "map" else live[at])
    out.extend(item for item in live[next_live:] if item_element(item, shape) not in applied)
    return out


def _remove(obj: dict[str, Any], path: Path, kind: str, *, only_if_empty: bool) -> None:
    """Remove the value at ``path`` (only if it is an empty object or list, with ``only_if_empty``)."""
    parent: Any = obj
    type_name: str | None = top_type(kind)
    shape: ListShape | None = None
    for element in path[:-1]:
        found = _step(parent, element, type_name, shape)
        if found is None:
            return
        parent, type_name, shape = found
    last = path[-1]
    if isinstance(parent, dict) and last.startswith("f:"):
        name = last[2:]
        if name in parent and (not only_if_empty or parent[name] in ({}, [])):
            del parent[name]
    elif isinstance(parent, list) and shape is not None:
        for i, item in enumerate(parent):
            if item_element(item, shape) == last and (not only_if_empty or item in ({}, [])):
                del parent[i]
                return


def _step(node: Any, element: str, type_name: str | None, shape: ListShape | None) -> tuple[Any, str | None, ListShape | None] | None:
    """One element down: (value, its type, its list shape when it is a list), or None when absent."""
    if isinstance(node, dict) and element.startswith("f:"):
        name = element[2:]
        if name not in node:
            return None
        info = table_of(type_name).get(name)
        child = node[name]
        child_shape = list_shape(type_name, name, info) if isinstance(child, list) else None
        return child, (info.type if info else None), child_shape
    if isinstance(node, list) and shape is not None:
        for item in node:
            if item_element(item, shape) == element:
                return item, type_name, None
    return None

"""What `kajitori apply` sends: kubectl's client-side apply as pure functions, plus apply_one.

The manifest last applied is kept in the ``kubectl.kubernetes.io/last-applied-configuration``
annotation. On the next apply three versions meet: *original* (that annotation),
*modified* (the new manifest) and *current* (the server's object). The desired object is
current, minus the keys the user removed since last time (in original, not in modified),
overlaid with modified; the merge patch sent is the difference between current and desired.
So fields only the server set (clusterIP, nodePort, status, defaults) survive, and a field
deleted from the file is deleted on the server (sent as null).

Merge patch replaces lists whole, so lists are merged here first, item by item on a key
(``name``, ``containerPort``, ``port``, ...): a Service port keeps its allocated
``nodePort`` when the manifest does not name one.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from cli.manifests import Manifest
from cli.session import CliError, Session
from kajitori.api.registry import Resource
from kajitori.client import FieldDirective, NotFoundError, resource_of

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# kubectl's --validate values and the fieldValidation each sends (kubectl's default is strict).
VALIDATE_DIRECTIVES: dict[str, FieldDirective] = {
    "strict": "Strict", "true": "Strict", "warn": "Warn", "ignore": "Ignore", "false": "Ignore",
}  # fmt: skip

# Keys that identify an item of a list of objects, tried in order (strategic merge's keys).
LIST_ITEM_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "type", "key", "uid")


def field_directive(validate: str) -> FieldDirective:
    """The fieldValidation a --validate value asks the server for (CliError for a bad value)."""
    try:
        return VALIDATE_DIRECTIVES[validate.lower()]
    except KeyError:
        raise CliError(
            f'invalid - validate option "{validate}"; must be one of: strict (or true), warn, ignore (or false)'
        ) from None


def last_applied_of(doc: dict[str, Any]) -> str:
    """The annotation's value for a manifest: the manifest itself without that annotation."""
    clean = copy.deepcopy(doc)
    annotations = (clean.get("metadata") or {}).get("annotations")
    if annotations is not None:
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            del clean["metadata"]["annotations"]
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def with_last_applied(doc: dict[str, Any]) -> dict[str, Any]:
    """The manifest as sent: itself plus the annotation recording it."""
    result = copy.deepcopy(doc)
    meta = result.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: last_applied_of(doc)}
    return result


def desired_state(original: Any, modified: Any, current: Any) -> Any:
    """Current with original's removed keys deleted and modified laid over it."""
    if isinstance(modified, dict) and isinstance(current, dict):
        before = original if isinstance(original, dict) else {}
        result = {k: copy.deepcopy(v) for k, v in current.items() if not (k in before and k not in modified)}
        for key, value in modified.items():
            result[key] = desired_state(before.get(key), value, current.get(key))
        return result
    if isinstance(modified, list) and isinstance(current, list):
        return _desired_list(original if isinstance(original, list) else [], modified, current)
    return copy.deepcopy(modified)


def _desired_list(original: list[Any], modified: list[Any], current: list[Any]) -> list[Any]:
    result = []
    for position, item in enumerate(modified):
        if not isinstance(item, dict):
            result.append(copy.deepcopy(item))
            continue
        identity = _identity(item)
        if identity is None:
            # No key to match by: pair by position, which is what the user wrote.
            cur = current[position] if position < len(current) else None
            orig = original[position] if position < len(original) else None
        else:
            cur = _find(current, identity)
            orig = _find(original, identity)
        result.append(desired_state(orig, item, cur) if isinstance(cur, dict) else copy.deepcopy(item))
    return result


def _identity(item: dict[str, Any]) -> tuple[str, Any] | None:
    for key in LIST_ITEM_KEYS:
        if key in item and not isinstance(item[key], (dict, list)):
            return key, item[key]
    return None


def _find(items: list[Any], identity: tuple[str, Any]) -> Any:
    key, value = identity
    return next((i for i in items if isinstance(i, dict) and i.get(key) == value), None)


def merge_patch_between(current: Any, desired: Any) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns current into desired; {} when equal."""
    patch: dict[str, Any] = {}
    for key in current:
        if key not in desired:
            patch[key] = None
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            sub = merge_patch_between(old, value)
            if sub:
                patch[key] = sub
        elif key not in current or old != value:
            patch[key] = value
    return patch


def apply_patch(current: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The merge patch `apply` sends for a manifest over an existing object."""
    annotation = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        original = json.loads(annotation) if annotation else {}
    except ValueError:
        original = {}
    modified = as_stored(with_last_applied(manifest))
    return merge_patch_between(current, desired_state(as_stored(original), modified, current))


def as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A manifest as the server will store it, where that differs in shape.

    A Secret's write-only ``stringData`` is folded into base64 ``data`` by the server;
    comparing the manifest's own shape would report every apply as "configured".
    """
    if doc.get("kind") != "Secret" or not doc.get("stringData"):
        return doc
    result = copy.deepcopy(doc)
    data = dict(result.get("data") or {})
    for key, value in result.pop("stringData").items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    result["data"] = data
    return result


def display_name(resource: Resource) -> str:
    """`deployment.apps`, `pod`: how kubectl names a kind in its one-line results."""
    return f"{resource.singular}.{resource.group}" if resource.group else resource.singular


def target_namespace(session: Session, resource: Resource, doc: dict[str, Any]) -> str | None:
    if not resource.namespaced:
        return None
    in_doc = (doc.get("metadata") or {}).get("namespace")
    if in_doc and session.explicit_namespace and in_doc != session.explicit_namespace:
        raise CliError(
            f'the namespace from the provided object "{in_doc}" does not match the namespace '
            f'"{session.explicit_namespace}". You must pass \'--namespace={in_doc}\' to perform this operation.'
        )
    return str(in_doc or session.namespace)


def resolve(manifest: Manifest) -> Resource:
    from kajitori.api.registry import UnknownResource

    try:
        return resource_of(manifest.doc)
    except UnknownResource as exc:
        meta = manifest.doc.get("metadata") or {}
        raise CliError(
            f'resource mapping not found for name: "{meta.get("name", "")}" namespace: "{meta.get("namespace", "")}" '
            f'from "{manifest.source}": {exc}'
        ) from None


def apply_one(
    session: Session, manifest: Manifest, *, field_validation: FieldDirective | None = None
) -> tuple[Resource, str, str]:
    """Create or patch one object; returns (resource, name, "created"|"configured"|"unchanged").

    ``field_validation`` goes with the write (None: the server's default, Warn).
    """
    resource = resolve(manifest)
    doc = copy.deepcopy(manifest.doc)
    name = manifest.name
    if not name:
        raise CliError(f"error validating {manifest.source}: document {manifest.index}: metadata.name not set")
    namespace = target_namespace(session, resource, doc)
    if namespace:
        doc.setdefault("metadata", {})["namespace"] = namespace
    client = session.client
    try:
        current = client.get_raw(resource, name, namespace)
    except NotFoundError:
        client.create_raw(resource, with_last_applied(doc), namespace, field_validation=field_validation)
        return resource, name, "created"
    patch = apply_patch(current, doc)
    if not patch:
        return resource, name, "unchanged"
    client.patch_raw(resource, name, patch, namespace, patch_type="merge", field_validation=field_validation)
    return resource, name, "configured"



"""The OpenAPI v3 schemas of the served kinds, generated from the models in ``kajitori/api``.

Nothing here is copied from Kubernetes' published spec: every schema is derived from a
pydantic model, so the schemas cannot drift from what the API server accepts. What the
models do not say is added from facts the project already keeps as data:

- names as Kubernetes names them: the model's module gives the package
  (``kajitori.api.core`` -> ``io.k8s.api.core.v1``, ``kajitori.api.meta`` ->
  ``io.k8s.apimachinery.pkg.apis.meta.v1``) and the class its name;
- descriptions: a field's ``Field(description=...)`` or the docstring written under it
  (read from the source, as pydantic's ``use_attribute_docstrings`` would, but only when a
  document is first asked for), else the first paragraph of its model's docstring;
- ``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key`` from ``patch_meta.py``,
  and the list types Kubernetes derives from the same tags: a list merged by a key is a
  ``map`` list (keyed by ``LIST_MAP_KEYS`` where Kubernetes keys it by more than the merge
  key), a merged list of scalars a ``set``, every other list ``atomic``;
- the shape of the fields a model keeps unmodelled (its ``UNMODELLED`` list) from the
  protobuf tables (``kajitori/api/protobuf_schema.py``): a scalar keeps its type, a list is
  a list, and an object is a free-form object (``x-kubernetes-preserve-unknown-fields``), as
  the server keeps its insides unchecked.

Where one of our models stands for several Kubernetes types (``KeySelector`` for both
ConfigMapKeySelector and SecretKeySelector) it keeps its own name in the same package.
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
import typing
from functools import cache
from typing import Any, Literal, Union

from kajitori.api import protobuf_schema as proto
from kajitori.api.apps import Scale
from kajitori.api.meta import KubeModel, TypedObject
from kajitori.api.quantity import Quantity
from kajitori.api.registry import RESOURCES, Resource
from kajitori.api.storage import StorageClass
from master.apiserver import patch_meta

Schema = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
REF_PREFIX = "#/components/schemas/"

_PACKAGES = {
    "kajitori.api.core": "io.k8s.api.core.v1",
    "kajitori.api.apps": "io.k8s.api.apps.v1",
    "kajitori.api.batch": "io.k8s.api.batch.v1",
    "kajitori.api.coordination": "io.k8s.api.coordination.v1",
    "kajitori.api.networking": "io.k8s.api.networking.v1",
    "kajitori.api.storage": "io.k8s.api.core.v1",  # PersistentVolume(Claim)s; StorageClass below
    "kajitori.api.rbac": "io.k8s.api.rbac.v1",
    "kajitori.api.autoscaling": "io.k8s.api.autoscaling.v2",
    "kajitori.api.certificates": "io.k8s.api.certificates.v1",
    "kajitori.api.meta": META,
}
_OWN_PACKAGE: dict[type[KubeModel], str] = {Scale: "io.k8s.api.autoscaling.v1", StorageClass: "io.k8s.api.storage.v1"}
_PROTO_PACKAGES = {
    "meta/v1": META,
    "core/v1": "io.k8s.api.core.v1",
    "apps/v1": "io.k8s.api.apps.v1",
    "batch/v1": "io.k8s.api.batch.v1",
    "coordination/v1": "io.k8s.api.coordination.v1",
    "networking/v1": "io.k8s.api.networking.v1",
    "storage/v1": "io.k8s.api.storage.v1",
    "rbac/v1": "io.k8s.api.rbac.v1",
    "certificates/v1": "io.k8s.api.certificates.v1",
    "autoscaling/v1": "io.k8s.api.autoscaling.v1",
    "autoscaling/v2": "io.k8s.api.autoscaling.v2",
    "policy/v1": "io.k8s.api.policy.v1",
}

# Lists Kubernetes keys by more than their patch merge key (listMapKey tags).
LIST_MAP_KEYS = patch_meta.LIST_MAP_KEYS  # one table for OpenAPI and server-side apply

_TYPED_OBJECT_DOCS = {
    "apiVersion": "The versioned schema of this object: servers convert recognized schemas to the latest "
    "internal value and may reject unrecognized ones.",
    "kind": "The REST resource this object represents, in CamelCase. Servers infer it from the endpoint "
    "the client submits requests to; it cannot be updated.",
    "metadata": "Standard object metadata: name, namespace, labels, annotations, owner references, "
    "and the fields the server keeps (uid, resourceVersion, generation, timestamps).",
}
_UNMODELLED_DOC = "Not modelled by Kajitori: kept as written and passed on unchecked"


def schema_name(model: type[KubeModel]) -> str:
    package = _OWN_PACKAGE.get(model) or _PACKAGES[model.__module__]
    return f"{package}.{model.__name__}"


def ref(name: str) -> Schema:
    return {"$ref": REF_PREFIX + name}


def gvk(resource: Resource, kind: str | None = None) -> dict[str, str]:
    return {"group": resource.group, "kind": kind or resource.kind, "version": resource.version}


@cache
def _module_docs(module: str) -> dict[str, dict[str, str]]:
    """Per class of a module: the docstrings written under its annotated attributes (one parse per module)."""
    try:
        tree = ast.parse(inspect.getsource(sys.modules[module]))
    except (KeyError, OSError, TypeError, SyntaxError):
        return {}
    found: dict[str, dict[str, str]] = {}
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        docs = found.setdefault(cls.name, {})
        for node, after in zip(cls.body, cls.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(after.value.value)
    return found


def _attribute_docs(model: type) -> dict[str, str]:
    return _module_docs(model.__module__).get(model.__name__, {})


def field_docs(model: type[KubeModel]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if isinstance(cls, type) and issubclass(cls, KubeModel):
            if cls is TypedObject:
                docs.update(_TYPED_OBJECT_DOCS)
            docs.update(_attribute_docs(cls))
    return docs


def model_doc(model: type) -> str:
    """The first paragraph of a model's own docstring ("" when it has none)."""
    doc = model.__dict__.get("__doc__") or ""
    return inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ") if doc else ""


def _proto_fields(message: str | None) -> dict[str, proto.Field]:
    """A protobuf message's fields by JSON name, inline members lifted (Volume's VolumeSource)."""
    if not message:
        return {}
    try:
        fields = proto.message(message)
    except proto.SchemaError:
        return {}
    found: dict[str, proto.Field] = {}
    for f in fields.values():
        if f.inline:
            found.update(_proto_fields(f.type))
        else:
            found[f.json] = f
    return found


class SchemaSet:
    """Every schema the served kinds reach, built once, by Kubernetes name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {
            INT_OR_STRING: {
                "description": "A value that is either an integer or a string (a port number or its name, "
                "a count or a percentage).",
                "type": "string",
                "format": "int-or-string",
            },
            QUANTITY: {
                "description": 'A fixed-point amount: a number with an optional suffix ("500m" CPU, "128Mi" '
                'of memory, "1G").',
                "type": "string",
            },
        }

    def model(self, model: type[KubeModel], patch: dict[str, patch_meta.Field], message: str | None) -> str:
        """The schema name of a model, building its schema (and those it reaches) on first use."""
        name = schema_name(model)
        if name in self.schemas:
            return name
        schema: Schema = {"type": "object"}
        self.schemas[name] = schema  # placed first: a model may reach itself
        docs = field_docs(model)
        protos = _proto_fields(message)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for attr, info in model.model_fields.items():
            wire = info.alias or attr
            patch_field = patch.get(wire)
            prop = self._value(info.annotation, wire, patch_field, protos.get(wire))
            description = info.description or docs.get(attr) or self._described(prop)
            if description:
                prop["description"] = description
            default = info.get_default()
            if info.is_required():
                required.append(wire)
            elif isinstance(default, str | int | bool) and not isinstance(default, KubeModel):
                prop.setdefault("default", default)
            self._patch_extensions(prop, model.__name__, wire, patch_field)
            properties[wire] = prop
        for wire in sorted(model.UNMODELLED):
            prop = self._unmodelled(protos.get(wire), patch.get(wire))
            self._patch_extensions(prop, model.__name__, wire, patch.get(wire))
            properties[wire] = prop
        if doc := model_doc(model):
            schema["description"] = doc
        schema["properties"] = dict(sorted(properties.items()))
        if required:
            schema["required"] = sorted(required)
        return name

    def _described(self, prop: Schema) -> str:
        """A field without a description of its own takes its model's (a list's, its items' model's)."""
        target = prop.get("items", prop)
        all_of = target.get("allOf") or [target]
        name = str(all_of[0].get("$ref", "")).removeprefix(REF_PREFIX)
        return str(self.schemas.get(name, {}).get("description", "")) if name.startswith("io.k8s.api") else ""

    def message(self, message: str, patch: dict[str, patch_meta.Field]) -> str:
        """The schema of a protobuf message no model stands for (what ``UNMODELLED`` fields hold).

        Its properties come from the protobuf tables, so explain shows them and kubectl's
        strategic merge finds its way through them; unknown fields stay allowed
        (``x-kubernetes-preserve-unknown-fields``), as the server keeps these values unchecked.
        """
        package, _, short = message.partition(".")
        name = f"{_PROTO_PACKAGES.get(package, package)}.{short}"
        if name in self.schemas:
            return name
        schema: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        self.schemas[name] = schema
        properties: dict[str, Schema] = {}
        for wire, field in _proto_fields(message).items():
            prop = self._proto_value(field, patch.get(wire))
            self._patch_extensions(prop, short, wire, patch.get(wire))
            properties[wire] = prop
        schema["description"] = f"Kubernetes' {short} (see its API reference): its fields are listed here, not checked."
        schema["properties"] = dict(sorted(properties.items()))
        return name

    def _proto_value(self, field: proto.Field, patch_field: patch_meta.Field | None) -> Schema:
        t = field.type
        if t in ("string", "bytes"):
            value: Schema = {"type": "string", **({"format": "byte"} if t == "bytes" else {})}
        elif t == "bool":
            value = {"type": "boolean"}
        elif t in ("int32", "int64"):
            value = {"type": "integer", "format": t}
        elif t == "float64":
            value = {"type": "number", "format": "double"}
        elif t in ("Time", "MicroTime"):
            value = {"type": "string", "format": "date-time"}
        elif t == "IntOrString":
            value = ref(INT_OR_STRING)
        elif t == "Quantity":
            value = ref(QUANTITY)
        elif t == "FieldsV1":
            value = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        else:
            value = ref(self.message(t, patch_meta.fields_of(patch_field.type) if patch_field else {}))
        if field.repeated:
            return {"type": "array", "items": value}
        if field.map_key is not None:
            return {"type": "object", "additionalProperties": value}
        return {"allOf": [value]} if "$ref" in value else value

    def _unmodelled(self, field: proto.Field | None, patch_field: patch_meta.Field | None) -> Schema:
        if field is None:
            return {"x-kubernetes-preserve-unknown-fields": True, "description": f"{_UNMODELLED_DOC}."}
        prop = self._proto_value(field, patch_field)
        prop["description"] = f"{_UNMODELLED_DOC}."
        return prop

    def _patch_extensions(self, prop: Schema, owner: str, wire: str, patch_field: patch_meta.Field | None) -> None:
        if patch_field is not None and patch_field.strategy:
            prop["x-kubernetes-patch-strategy"] = ",".join(patch_field.strategy)
            if patch_field.key:
                prop["x-kubernetes-patch-merge-key"] = patch_field.key
        if prop.get("type") != "array":
            return
        if patch_field is not None and "merge" in patch_field.strategy:
            if patch_field.key:
                prop["x-kubernetes-list-type"] = "map"
                prop["x-kubernetes-list-map-keys"] = list(LIST_MAP_KEYS.get((owner, wire), (patch_field.key,)))
            else:
                prop["x-kubernetes-list-type"] = "set"
        else:
            prop["x-kubernetes-list-type"] = "atomic"

    def _value(self, annotation: Any, wire: str, patch_field: patch_meta.Field | None, field: proto.Field | None) -> Schema:
        """The schema of one field's value (a property, a list's items, a map's values)."""
        if annotation == Quantity:
            return ref(QUANTITY)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            return self._value(args[0], wire, patch_field, field)
        if origin in (Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if set(members) == {int, str}:
                return ref(INT_OR_STRING)
            if len(members) == 1:
                return self._value(members[0], wire, patch_field, field)
            return {"x-kubernetes-preserve-unknown-fields": True}
        if origin is Literal:
            return {"type": "string", "enum": list(args)}
        if origin is list:
            items = self._value(args[0], wire, patch_field, field)
            return {"type": "array", "items": _unwrapped(items)}
        if origin is dict:
            if args[1] is Any:
                if field is not None and field.is_message and field.map_key is None:
                    return self._proto_value(field, patch_field)
                return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            return {"type": "object", "additionalProperties": _unwrapped(self._value(args[1], wire, patch_field, field))}
        if isinstance(annotation, type) and issubclass(annotation, KubeModel):
            nested = patch_meta.fields_of(patch_field.type) if patch_field else {}
            message = field.type if field is not None and field.is_message else None
            return {"allOf": [ref(self.model(annotation, nested, message))]}
        if annotation is bool:
            return {"type": "boolean"}
        if annotation is int:
            return {"type": "integer", "format": field.type if field is not None and field.type in ("int32", "int64") else "int64"}
        if annotation is float:
            return {"type": "number", "format": "double"}
        if annotation is str:
            if field is not None and field.type in ("Time", "MicroTime"):
                return {"type": "string", "format": "date-time"}
            return {"type": "string"}
        return {"x-kubernetes-preserve-unknown-fields": True}

    def kind(self, resource: Resource) -> str:
        message = proto.message_for(resource.api_version, resource.kind)
        name = self.model(resource.model, patch_meta.KINDS.get(resource.kind, {}), message)
        self.schemas[name]["x-kubernetes-group-version-kind"] = [gvk(resource)]
        return name

    def list_kind(self, resource: Resource) -> str:
        item = self.kind(resource)
        name = f"{item}List"
        self.schemas[name] = {
            "description": f"A list of {resource.kind} objects.",
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string", "description": _TYPED_OBJECT_DOCS["apiVersion"]},
                "items": {"type": "array", "items": ref(item), "description": f"The {resource.plural}."},
                "kind": {"type": "string", "description": _TYPED_OBJECT_DOCS["kind"]},
                "metadata": {
                    "allOf": [ref(f"{META}.ListMeta")],
                    "description": "Standard list metadata: the resourceVersion of the list and paging tokens.",
                },
            },
            "x-kubernetes-group-version-kind": [gvk(resource, resource.list_kind)],
        }
        return name


def _unwrapped(schema: Schema) -> Schema:
    """A list's items or a map's values refer to a model directly, as Kubernetes' documents do."""
    all_of = schema.get("allOf")
    return dict(all_of[0]) if all_of and len(schema) == 1 else schema


@cache
def all_schemas() -> dict[str, Schema]:
    """Every schema of every kind served, its list, and the meta types every document uses."""
    from kajitori.api.meta import ListMeta, Status

    built = SchemaSet()
    for resource in RESOURCES:
        built.list_kind(resource)
    built.model(ListMeta, {}, None)
    built.schemas[f"{META}.ListMeta"]["properties"]["continue"] = {
        "type": "string",
        "description": "A token for the next page of a paged list; empty on the last page.",
    }
    built.model(Status, {}, None)
    built.model(Scale, {}, proto.KINDS[("autoscaling/v1", "Scale")])
    built.schemas[f"{META}.DeleteOptions"] = _delete_options()
    return built.schemas


def _delete_options() -> Schema:
    return {
        "description": "Options of a delete: grace period, propagation of the delete to dependents, dry run.",
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "description": _TYPED_OBJECT_DOCS["apiVersion"]},
            "kind": {"type": "string", "description": _TYPED_OBJECT_DOCS["kind"]},
            "dryRun": {
                "type": "array",
                "items": {"type": "string"},
                "x-kubernetes-list-type": "atomic",
                "description": 'Run every step of the delete but store nothing: "All" is the only value.',
            },
            "gracePeriodSeconds": {"type": "integer", "format": "int64", "description": "Seconds before the object is deleted; 0 deletes at once."},
            "orphanDependents": {"type": "boolean", "description": "Deprecated: use propagationPolicy."},
            "preconditions": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "description": "uid and resourceVersion the object must still have."},
            "propagationPolicy": {
                "type": "string",
                "enum": ["Background", "Foreground", "Orphan"],
                "description": "Whether and how the garbage collector deletes the object's dependents.",
            },
        },
    }


def closure(names: list[str]) -> dict[str, Schema]:
    """The named schemas and every schema they reach through $ref, in name order."""
    schemas = all_schemas()
    seen: dict[str, Schema] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = schemas[name]
        todo.extend(_refs(schemas[name]))
    return dict(sorted(seen.items()))


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"].removeprefix(REF_PREFIX)] if isinstance(value.get("$ref"), str) else []
        for item in value.values():
            found.extend(_refs(item))
        return found
    if isinstance(value, list):
        return [r for item in value for r in _refs(item)]
    return []

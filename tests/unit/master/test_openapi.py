"""The OpenAPI v3 documents stay in step with the models and the patch metadata (master/apiserver/openapi*.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kajitori.api.meta import KubeModel
from kajitori.api.registry import RESOURCES, Resource
from master.apiserver import patch_meta
from master.apiserver.openapi import OpenAPIDocuments, gv_path
from master.apiserver.openapi_schemas import REF_PREFIX, all_schemas, schema_name

DOCS = OpenAPIDocuments("v1.28.0")


def document(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(DOCS.documents()[path][0])
    return doc


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if "$ref" in value else []
        return found + [r for item in value.values() for r in refs(item)]
    if isinstance(value, list):
        return [r for item in value for r in refs(item)]
    return []


def models_reached(model: type[KubeModel], seen: set[type[KubeModel]]) -> set[type[KubeModel]]:
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        for arg in _types(info.annotation):
            if isinstance(arg, type) and issubclass(arg, KubeModel):
                models_reached(arg, seen)
    return seen


def _types(annotation: Any) -> list[Any]:
    return [annotation, *[t for arg in getattr(annotation, "__args__", ()) for t in _types(arg)]]


@pytest.mark.parametrize("path", sorted({gv_path(r.group, r.version) for r in RESOURCES}))
def test_every_reference_resolves_inside_its_document(path: str) -> None:
    doc = document(path)
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith(REF_PREFIX) and ref.removeprefix(REF_PREFIX) in schemas, ref


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.kind)
def test_every_kind_and_field_of_the_models_is_described(resource: Resource) -> None:
    doc = document(gv_path(resource.group, resource.version))
    schemas = doc["components"]["schemas"]
    kind = schemas[schema_name(resource.model)]
    assert kind["x-kubernetes-group-version-kind"] == [{"group": resource.group, "kind": resource.kind, "version": resource.version}]
    assert kind["description"], resource.kind
    assert schemas[schema_name(resource.model) + "List"]["x-kubernetes-group-version-kind"][0]["kind"] == resource.list_kind
    for field in ("apiVersion", "kind", "metadata"):
        assert kind["properties"][field]["description"]
    for model in models_reached(resource.model, set()):
        properties = schemas[schema_name(model)]["properties"]
        wire = {info.alias or name for name, info in model.model_fields.items()}
        assert wire | set(model.UNMODELLED) <= set(properties), model.__name__
    # Every path's operations name the kind, and a PATCH says what kubectl looks for.
    patches = [ops["patch"] for p, ops in doc["paths"].items() if "patch" in ops and p.endswith("{name}") and f"/{resource.plural}/" in p]
    assert patches and all("fieldValidation" in {q["name"] for q in op["parameters"]} for op in patches)


def test_patch_metadata_of_the_models_lists_is_in_the_schemas() -> None:
    schemas = all_schemas()
    checked = 0
    for type_name, fields in patch_meta.TYPES.items():
        name = next((n for n in schemas if n.rsplit(".", 1)[-1] == type_name), None)
        if name is None:
            continue  # shared tables (WithConditions, TemplatedSpec) are checked through their kinds
        for field, meta in fields.items():
            prop = schemas[name]["properties"].get(field)
            if prop is None or not meta.strategy:
                continue
            assert prop["x-kubernetes-patch-strategy"] == ",".join(meta.strategy), (type_name, field)
            if meta.key:
                assert prop["x-kubernetes-patch-merge-key"] == meta.key
                assert prop["x-kubernetes-list-type"] == "map" and meta.key in prop["x-kubernetes-list-map-keys"]
            checked += 1
    assert checked >= 15


def test_index_points_at_each_document_by_its_hash() -> None:
    index = orjson.loads(DOCS.index()[0])
    for path, (_, digest) in DOCS.documents().items():
        assert index["paths"][path] == {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}

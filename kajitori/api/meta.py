"""Object metadata shared by every kind: ObjectMeta, OwnerReference, Status, lists.

Field names are Kubernetes' own camelCase wire names on purpose: a reader can put
this file next to the Kubernetes API reference and see the same words, and no alias
table can drift. Models keep unknown fields (``extra="allow"``) so that YAML written
for a newer Kubernetes round-trips through Kajitori without losing anything.

Each model also names, in ``UNMODELLED``, the Kubernetes fields of its type (from the
Kubernetes v1.28 API reference) that it keeps without modelling them: those are never
reported by ``unknown_fields``, which lists every other kept field by its path
(``spec.template.spec.containers[0].imagePullPolcy``) so the API server can refuse or
warn about typos the way kube-apiserver's ``fieldValidation`` does. The values of
unmodelled fields (``securityContext``, ``lifecycle``, ...) are opaque: their insides
are not checked.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""A field Kubernetes types int32: a larger number is a 422 naming it, as Kubernetes refuses it at decoding,
and never reaches a controller (a delay of 2**62 s overflowed its waits). Bodies hold int64 at most."""


class KubeModel(BaseModel):
    """Base of every API model: wire names, unknown fields kept, assignment unchecked."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    # Kubernetes fields of this type kept without a model (values opaque); see the module docstring.
    UNMODELLED: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape sent on the wire (no nulls)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)

    def unknown_fields(self, path: str = "") -> list[str]:
        """Paths of the kept fields Kubernetes does not have (typos), in the order of the model tree.

        A field is unknown when it is neither modelled nor named in ``UNMODELLED``; the
        insides of an unknown or unmodelled field are not looked at (Kubernetes reports
        ``spec.replica`` once, not each key under it).
        """
        extra = self.__pydantic_extra__
        found = [_join(path, name) for name in extra if name not in self.UNMODELLED] if extra else []
        for name, wire_name in _fields_holding_models(type(self)):
            value = self.__dict__.get(name)
            if value is not None:
                found.extend(_unknown_in(value, _join(path, wire_name)))
        return found


# Per model class: (attribute, wire name) of the fields that can hold models. The walk
# descends only into these, so a write pays for its nested objects, not for every scalar.
_MODEL_FIELDS: dict[type[KubeModel], tuple[tuple[str, str], ...]] = {}


def _fields_holding_models(model: type[KubeModel]) -> tuple[tuple[str, str], ...]:
    fields = _MODEL_FIELDS.get(model)
    if fields is None:
        fields = tuple(
            (name, info.alias or name) for name, info in model.model_fields.items() if _holds_model(info.annotation)
        )
        _MODEL_FIELDS[model] = fields
    return fields


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        return True
    return any(_holds_model(arg) for arg in getattr(annotation, "__args__", ()))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unknown_in(value: Any, path: str) -> list[str]:
    if isinstance(value, KubeModel):
        return value.unknown_fields(path)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unknown_in(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        # Maps of models (none today) are walked by key; maps of strings (labels) have no fields.
        return [p for key, item in value.items() if isinstance(item, KubeModel) for p in item.unknown_fields(f"{path}[{key}]")]
    return []


def check_dns1123_label(value: str, *, what: str = "name") -> str:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{what} {value!r} must be a DNS-1123 label: at most 63 lower-case alphanumeric "
            "characters or '-', starting and ending with an alphanumeric character"
        )
    return value


def check_dns1123_subdomain(value: str, *, what: str = "name") -> str:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{what} {value!r} must be a DNS-1123 subdomain: lower-case alphanumeric characters, "
            "'-' or '.', starting and ending with an alphanumeric character"
        )
    return value


def check_qualified_name(key: str, *, what: str = "label key") -> str:
    """A label or annotation key: optional DNS-subdomain prefix and '/', then a name of <= 63."""
    prefix, _, name = key.rpartition("/")
    if prefix:
        check_dns1123_subdomain(prefix, what=f"{what} prefix")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise ValueError(
            f"{what} {key!r} is invalid: the name part must be at most 63 alphanumeric characters, "
            "'-', '_' or '.', starting and ending with an alphanumeric character"
        )
    return key


def check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(
            f"label value {value!r} is invalid: at most 63 alphanumeric characters, '-', '_' or '.', "
            "starting and ending with an alphanumeric character"
        )
    return value


class OwnerReference(KubeModel):
    """Names an owner of an object: the garbage collector deletes the object once all its owners are gone."""

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    blockOwnerDeletion: bool | None = None


class ObjectMeta(KubeModel):
    """Metadata every persisted object has: its name and namespace, labels and annotations, owners, and what the server keeps (uid, resourceVersion, generation, timestamps)."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"managedFields", "selfLink"})

    name: str | None = None
    """Unique within its namespace (or the cluster, for cluster-scoped kinds); cannot be changed."""
    generateName: str | None = None
    """A prefix the server completes with a random suffix when name is empty."""
    namespace: str | None = None
    """The namespace the object lives in; empty for cluster-scoped kinds."""
    uid: str | None = None
    """Set by the server at creation: unique in time and space, never reused."""
    resourceVersion: str | None = None
    """Opaque version of this object, set by the server at every write; an update carrying a stale one is refused with 409 Conflict, and watches resume from it."""
    generation: int | None = None
    """Set by the server: a number that grows with each change of the desired state (spec)."""
    creationTimestamp: str | None = None
    """When the server created the object (RFC 3339, UTC)."""
    deletionTimestamp: str | None = None
    """Set by the server when a graceful delete was asked for: the object goes once its finalizers are done and the grace period is over."""
    deletionGracePeriodSeconds: int | None = None
    """The grace period of a delete under way."""
    labels: dict[str, str] | None = None
    """Key/value pairs selectors match (Services, ReplicaSets, `kubectl get -l`)."""
    annotations: dict[str, str] | None = None
    """Key/value pairs for tools and people; never used by selectors."""
    ownerReferences: list[OwnerReference] | None = None
    """The objects this one depends on; when every owner is gone, the garbage collector deletes it."""
    finalizers: list[str] | None = None
    """Keys that must be removed before a deleted object really goes."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for key, value in (v or {}).items():
            check_qualified_name(key)
            check_label_value(value)
        return v

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        total = 0
        for key, value in (v or {}).items():
            check_qualified_name(key, what="annotation key")
            total += len(key) + len(value)
        if total > 256 * 1024:
            raise ValueError("annotations may not exceed 256 KiB in total")
        return v

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str | None) -> str | None:
        return None if v is None else check_dns1123_label(v, what="namespace")


class TypedObject(KubeModel):
    """apiVersion + kind + metadata: what every stored object has."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    # How metadata.name must look for this kind ("subdomain" for most, "label" for a few).
    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "subdomain"

    @model_validator(mode="after")
    def _name(self) -> TypedObject:
        name = self.metadata.name
        if name and self.NAME_RULE == "path":
            # RBAC's rule (ValidatePathSegmentName): anything but "." and ".." without "/" or "%" ("system:node").
            if name in (".", "..") or "/" in name or "%" in name:
                raise ValueError(f"metadata.name: may not be '.' or '..' and may not contain '/' or '%': {name!r}")
            return self
        if name:
            check = check_dns1123_label if self.NAME_RULE == "label" else check_dns1123_subdomain
            try:
                check(name)
            except ValueError as exc:
                # Raised from here the error would point at the object root; name the field.
                raise ValueError(f"metadata.name: {exc}") from None
        return self


class ListMeta(KubeModel):
    """Metadata of a list: the resourceVersion it was read at, and paging."""

    resourceVersion: str | None = None
    # `continue` (a Python keyword) rides as a kept unknown field; master/apiserver/paging.py makes it.
    remainingItemCount: int | None = None


class StatusCause(KubeModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(KubeModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retryAfterSeconds: int | None = None


class Status(KubeModel):
    """The error (and delete) answer of the API, exactly as Kubernetes shapes it."""

    apiVersion: str = "v1"
    kind: str = "Status"
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: str | None = None  # "Success" | "Failure"
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


class LabelSelectorRequirement(KubeModel):
    """One requirement of a label selector: a key, an operator and values."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None

    @model_validator(mode="after")
    def _values(self) -> LabelSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"values: Required value: must be specified when operator is {self.operator}")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"values: may not be specified when operator is {self.operator}")
        return self


class LabelSelector(KubeModel):
    """Selects objects by their labels: every matchLabels pair and every matchExpressions requirement must hold; an empty selector matches everything."""

    matchLabels: dict[str, str] | None = None
    """Labels the object must carry with exactly these values."""
    matchExpressions: list[LabelSelectorRequirement] | None = None
    """Requirements on labels (In, NotIn, Exists, DoesNotExist), all of which must hold."""

    def is_empty(self) -> bool:
        return not self.matchLabels and not self.matchExpressions

    def matches(self, labels: dict[str, str] | None) -> bool:
        """True when the labels satisfy every term (an empty selector matches everything)."""
        labels = labels or {}
        for key, value in (self.matchLabels or {}).items():
            if labels.get(key) != value:
                return False
        for req in self.matchExpressions or []:
            present = req.key in labels
            if req.operator == "In" and (not present or labels[req.key] not in (req.values or [])):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in (req.values or []):
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True

    def to_query(self) -> str:
        """The same selector as a `labelSelector=` query string."""
        parts = [f"{k}={v}" for k, v in (self.matchLabels or {}).items()]
        for req in self.matchExpressions or []:
            values = ",".join(req.values or [])
            parts.append(
                {
                    "In": f"{req.key} in ({values})",
                    "NotIn": f"{req.key} notin ({values})",
                    "Exists": req.key,
                    "DoesNotExist": f"!{req.key}",
                }[req.operator]
            )
        return ",".join(parts)

"""The API server's rules for apps/v1 StatefulSets and ControllerRevisions.

A StatefulSet's status is its controller's (through /status), and only ``replicas``,
``template``, ``updateStrategy``, ``persistentVolumeClaimRetentionPolicy``,
``minReadySeconds`` and ``ordinals`` of its spec may change, as in Kubernetes (its
selector, service name, pod management policy and claim templates never do). A
ControllerRevision's ``data`` is immutable: it is the snapshot of one revision.
"""

from __future__ import annotations

from kajitori.api.registry import Resource
from master.apiserver.strategies.base import FieldError, Obj, Strategy
from master.store import Store

MUTABLE_SPEC_FIELDS = frozenset(
    {"replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "ordinals"}
)


class StatefulSetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)

    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        def fixed(spec: Obj) -> Obj:
            return {k: v for k, v in spec.items() if k not in MUTABLE_SPEC_FIELDS}

        if fixed(obj.get("spec") or {}) != fixed(old.get("spec") or {}):
            raise FieldError(
                "spec",
                "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            )


class ControllerRevisionStrategy(Strategy):
    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        if obj.get("data") != old.get("data"):
            raise FieldError("data", "Invalid value: field is immutable")

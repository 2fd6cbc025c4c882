"""The API server's rules for PersistentVolumeClaims, PersistentVolumes and StorageClasses.

A new claim is Pending and a new volume Pending (the PV controller makes it Available),
each with its protection finalizer (Kubernetes' StorageObjectInUseProtection admission):
``kubernetes.io/pvc-protection`` keeps a claim a pod uses until the pod is gone,
``kubernetes.io/pv-protection`` a volume until no claim is bound to it. A claim that
names no class at all (not even "") gets the default StorageClass, as Kubernetes'
DefaultStorageClass admission does. What may change is Kubernetes' rule: a claim's spec
only in its requests, its ``volumeName`` once (when it is bound) and a class it did not
have; a volume's source and node affinity never; a class's provisioner, parameters,
reclaim policy and binding mode never.
"""

from __future__ import annotations

from kajitori.api.registry import Resource, by_path
from kajitori.api.storage import PV_PROTECTION, PVC_PROTECTION, StorageClass
from master.apiserver.strategies.base import FieldError, Obj, Strategy
from master.store import Store

_PV_SOURCE_FIELDS = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "glusterfs")


def _add_finalizer(obj: Obj, finalizer: str) -> None:
    meta = obj.setdefault("metadata", {})
    finalizers = meta.get("finalizers") or []
    if not isinstance(finalizers, list):
        return  # the model refuses it, naming metadata.finalizers
    finalizers = list(finalizers)
    if finalizer not in finalizers:
        finalizers.append(finalizer)
    meta["finalizers"] = finalizers


def default_storage_class(store: Store) -> str | None:
    """The default StorageClass's name (the newest, if several are annotated default), as Kubernetes picks it."""
    classes = store.list(by_path("storage.k8s.io", "v1", "storageclasses").collection)[0]
    defaults = [StorageClass.model_validate(c.obj) for c in classes]
    defaults = [c for c in defaults if c.is_default()]
    if not defaults:
        return None
    newest = max(defaults, key=lambda c: (c.metadata.creationTimestamp or "", c.metadata.name or ""))
    return newest.metadata.name


class PersistentVolumeClaimStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}
        _add_finalizer(obj, PVC_PROTECTION)

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("storageClassName") is None:
            name = default_storage_class(store)
            if name is not None:
                spec["storageClassName"] = name

    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        new_spec = dict(obj.get("spec") or {})
        old_spec = dict(old.get("spec") or {})
        for field in ("volumeName", "storageClassName"):
            if not old_spec.get(field) and field in new_spec:
                old_spec[field] = new_spec[field]  # set once: bound, or given a class it lacked
        new_spec.pop("resources", None)
        old_spec.pop("resources", None)
        if new_spec != old_spec:
            raise FieldError(
                "spec",
                "Forbidden: spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims",
            )


class PersistentVolumeStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}
        _add_finalizer(obj, PV_PROTECTION)

    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
        if any(new_spec.get(f) != old_spec.get(f) for f in _PV_SOURCE_FIELDS):
            raise FieldError(
                "spec.persistentvolumesource", "Forbidden: spec.persistentvolumesource is immutable after creation"
            )
        if old_spec.get("nodeAffinity") and new_spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
            raise FieldError("spec.nodeAffinity", "Invalid value: field is immutable once set")


class StorageClassStrategy(Strategy):
    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        for field in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if obj.get(field) != old.get(field):
                raise FieldError(field, f"Forbidden: updates to {field} are forbidden.")

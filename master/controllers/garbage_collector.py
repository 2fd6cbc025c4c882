"""The garbage collector: dependents follow their owners (``metadata.ownerReferences``).

Keys are ``Kind|namespace/name``. reconcile(key) looks at one object:

- being deleted with the ``orphan`` finalizer: remove its reference from every
  dependent, then remove the finalizer (the API server then deletes the owner);
- being deleted with ``foregroundDeletion``: delete every dependent (foreground
  again, except pods, which go in the background), and remove the finalizer once
  none is left in the caches;
- with owners: if none of them exists any more, delete the object (background); if
  only some are gone, drop those references. Absence in the cache is confirmed
  with one live GET, because the owner's informer may simply not have caught up
  with the dependent's (a new ReplicaSet and its first pods).

Handlers enqueue an object when it has owners or is being deleted with a
finalizer, its dependents when it is deleted, and its owners when a dependent
goes (a foreground deletion waits for that). Watched kinds: the ones that own or
are owned in practice (Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision,
CronJob, Job, Pod, PersistentVolumeClaim, Service, ConfigMap, Secret).
"""

from __future__ import annotations

import logging
from typing import Any

from kajitori.api.apps import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from kajitori.api.batch import CronJob, Job
from kajitori.api.core import ConfigMap, Pod, ReplicationController, Secret, Service
from kajitori.api.meta import OwnerReference, TypedObject
from kajitori.api.registry import UnknownResource, by_kind
from kajitori.api.storage import PersistentVolumeClaim
from kajitori.client import ConflictError, NotFoundError
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

WATCHED: tuple[type[TypedObject], ...] = (
    Deployment, ReplicaSet, ReplicationController, DaemonSet, StatefulSet, ControllerRevision, CronJob, Job, Pod,
    PersistentVolumeClaim, Service, ConfigMap, Secret,
)  # fmt: skip
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


class GarbageCollector:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.caches: dict[str, Any] = {m.__name__: ctx.informers.informer(m) for m in WATCHED}
        self.controller = Controller("garbage-collector", self.reconcile, informers=list(self.caches.values()), workers=workers)
        for kind, cache in self.caches.items():
            cache.add_handlers(
                lambda obj, k=kind: self._on_change(k, obj),
                lambda _old, new, k=kind: self._on_change(k, new),
                lambda obj, k=kind: self._on_delete(k, obj),
            )

    # -- handlers ------------------------------------------------------------------

    def _on_change(self, kind: str, obj: TypedObject) -> None:
        meta = obj.metadata
        if meta.ownerReferences or (meta.deletionTimestamp and {ORPHAN, FOREGROUND} & set(meta.finalizers or [])):
            self.controller.enqueue(f"{kind}|{object_key(obj)}")

    def _on_delete(self, kind: str, obj: TypedObject) -> None:
        for dep_kind, dependent in self._dependents(obj.metadata.uid or ""):
            self.controller.enqueue(f"{dep_kind}|{object_key(dependent)}")
        for ref in obj.metadata.ownerReferences or []:
            owner = self._cached_owner(ref)
            if owner is not None:
                self.controller.enqueue(f"{ref.kind}|{object_key(owner)}")

    # -- reads -----------------------------------------------------------------------

    def _dependents(self, uid: str) -> list[tuple[str, TypedObject]]:
        if not uid:
            return []
        return [(kind, obj) for kind, cache in self.caches.items() for obj in cache.by_index("owner-uid", uid)]

    def _cached_owner(self, ref: OwnerReference) -> TypedObject | None:
        cache = self.caches.get(ref.kind)
        if cache is None:
            return None
        found = cache.by_index("uid", ref.uid)
        return found[0] if found else None

    def _owner_exists(self, ref: OwnerReference, namespace: str | None) -> bool:
        if self._cached_owner(ref) is not None:
            return True
        try:
            resource = by_kind(ref.apiVersion, ref.kind)
        except UnknownResource:
            return False
        try:
            live = self.client.get_raw(resource, ref.name, namespace if resource.namespaced else None)
        except NotFoundError:
            return False
        return bool((live.get("metadata") or {}).get("uid") == ref.uid)

    # -- reconcile -----------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        kind, _, obj_key = key.partition("|")
        cache = self.caches.get(kind)
        obj = cache.get(obj_key) if cache is not None else None
        if obj is None:
            return
        meta = obj.metadata
        finalizers = meta.finalizers or []
        if meta.deletionTimestamp and ORPHAN in finalizers:
            self._orphan_dependents(obj)
            self._remove_finalizer(obj, ORPHAN)
            return
        if meta.deletionTimestamp and FOREGROUND in finalizers:
            if self._delete_dependents_in_foreground(obj):
                self._remove_finalizer(obj, FOREGROUND)
            return
        if meta.ownerReferences and not meta.deletionTimestamp:
            self._check_owners(kind, obj)

    def _check_owners(self, kind: str, obj: TypedObject) -> None:
        refs = obj.metadata.ownerReferences or []
        missing = [ref for ref in refs if not self._owner_exists(ref, obj.metadata.namespace)]
        if not missing:
            return
        model = type(obj)
        if len(missing) == len(refs):
            log.info("garbage collecting %s %s: its owners are gone", kind, object_key(obj))
            try:
                # The version seen is a precondition: an owner being deleted with Orphan may have
                # just taken its reference off this object, which our cache has not seen yet.
                self.client.delete(
                    model, obj.metadata.name or "", obj.metadata.namespace,
                    uid=obj.metadata.uid, resource_version=obj.metadata.resourceVersion,
                )  # fmt: skip
            except NotFoundError:
                pass
            except ConflictError:
                log.info("%s %s changed since it was read; looking again when the change arrives", kind, object_key(obj))
            return
        gone = {ref.uid for ref in missing}
        kept = [ref.to_dict() for ref in refs if ref.uid not in gone]
        patch = {"metadata": {"ownerReferences": kept, "resourceVersion": obj.metadata.resourceVersion}}
        self.client.patch(model, obj.metadata.name or "", patch, obj.metadata.namespace)

    def _orphan_dependents(self, owner: TypedObject) -> None:
        uid = owner.metadata.uid or ""
        for _kind, dep in self._dependents(uid):
            kept = [ref.to_dict() for ref in dep.metadata.ownerReferences or [] if ref.uid != uid]
            patch = {"metadata": {"ownerReferences": kept or None, "resourceVersion": dep.metadata.resourceVersion}}
            try:
                self.client.patch(type(dep), dep.metadata.name or "", patch, dep.metadata.namespace)
            except NotFoundError:
                pass

    def _delete_dependents_in_foreground(self, owner: TypedObject) -> bool:
        """Start deleting every dependent; True once none is left."""
        dependents = self._dependents(owner.metadata.uid or "")
        for _kind, dep in dependents:
            if dep.metadata.deletionTimestamp:
                continue
            # A pod has no dependents to wait for, and its agent finishes its deletion.
            policy = None if isinstance(dep, Pod) else "Foreground"
            try:
                self.client.delete(type(dep), dep.metadata.name or "", dep.metadata.namespace, propagation_policy=policy)
            except NotFoundError:
                pass
        return not dependents

    def _remove_finalizer(self, obj: TypedObject, finalizer: str) -> None:
        updated = obj.model_copy(deep=True)
        updated.metadata.finalizers = [f for f in updated.metadata.finalizers or [] if f != finalizer] or None
        try:
            self.client.update(updated)
        except NotFoundError:
            pass

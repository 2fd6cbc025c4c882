"""The PersistentVolume controller: claims bound to volumes, the local-path provisioner, protection finalizers.

One queue holds two kinds of keys: ``claim:<namespace>/<name>`` and ``volume:<name>``.

A claim (``reconcile_claim``):

- being deleted: its ``kubernetes.io/pvc-protection`` finalizer goes once no pod that
  may still run (not Succeeded or Failed) names it; pod events wake it;
- unbound, of an Immediate class (or none): bound to ``best_volume`` (volume_binding.py),
  else left Pending until a volume appears;
- unbound, of a WaitForFirstConsumer class: nothing until the scheduler annotates it
  ``volume.kubernetes.io/selected-node``; then a free volume that admits that node, or,
  for the ``kajitori.io/local-path`` provisioner, a new volume ``pvc-<claim uid>``: a
  ``hostPath`` directory ``<root>/<pv name>`` (root: the node's
  ``kajitori.io/volumes-root`` annotation, the agent's ``--volumes-root``) with node
  affinity to that node, pre-bound to the claim;
- bound (``spec.volumeName``): status Bound with the volume's capacity and access modes,
  or Lost when its volume is gone.

Binding writes the volume first (``claimRef`` with the claim's uid, status Bound), then
the claim (``volumeName``, then status), so a crash in between leaves a volume that
names its claim, which the next pass completes.

A volume (``reconcile_volume``): Available, Bound or Released (volume_binding.volume_phase);
a Released volume is kept (Retain), left to its node's agent, which removes the directory
and then the volume (Delete, local-path), or Failed (Delete of a volume no one can
delete). Being deleted, its ``kubernetes.io/pv-protection`` finalizer goes once no claim
is bound to it.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from kajitori.api.core import (
    Node,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    ObjectReference,
    Pod,
)
from kajitori.api.meta import ObjectMeta
from kajitori.api.storage import (
    BIND_COMPLETED_ANNOTATION,
    BOUND_BY_CONTROLLER_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    PV_PROTECTION,
    PVC_PROTECTION,
    SELECTED_NODE_ANNOTATION,
    HostPathVolumeSource,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeSpec,
    PersistentVolumeStatus,
    StorageClass,
    VolumeNodeAffinity,
)
from kajitori.api.well_known import VOLUMES_ROOT as VOLUMES_ROOT_ANNOTATION
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.volume_binding import best_volume, claim_key, volume_phase

log = logging.getLogger(__name__)
T = TypeVar("T", PersistentVolume, PersistentVolumeClaim)

DEFAULT_VOLUMES_ROOT = "/var/lib/kajitori/volumes"
HOSTNAME_LABEL = "kubernetes.io/hostname"
CLAIM, VOLUME = "claim:", "volume:"


def claim_names_of(pod: Pod) -> list[str]:
    return [v.persistentVolumeClaim.claimName for v in pod.spec.volumes or [] if v.persistentVolumeClaim is not None]


def pod_may_run(pod: Pod) -> bool:
    return pod.status.phase not in ("Succeeded", "Failed")


def provisioned_volume(claim: PersistentVolumeClaim, sc: StorageClass, node: Node) -> PersistentVolume:
    """The local-path volume for `claim` on `node` (see the module docstring)."""
    name = f"pvc-{claim.metadata.uid}"
    root = (node.metadata.annotations or {}).get(VOLUMES_ROOT_ANNOTATION) or DEFAULT_VOLUMES_ROOT
    hostname = (node.metadata.labels or {}).get(HOSTNAME_LABEL) or node.metadata.name or ""
    return PersistentVolume(
        metadata=ObjectMeta(name=name, annotations={PROVISIONED_BY_ANNOTATION: sc.provisioner}),
        spec=PersistentVolumeSpec(
            capacity={"storage": (claim.spec.resources.requests or {})["storage"]},
            accessModes=list(claim.spec.accessModes or []),
            hostPath=HostPathVolumeSource(path=f"{root.rstrip('/')}/{name}", type="DirectoryOrCreate"),
            claimRef=_reference(claim),
            persistentVolumeReclaimPolicy=sc.reclaimPolicy,
            storageClassName=sc.metadata.name,
            volumeMode=claim.spec.volumeMode,
            nodeAffinity=VolumeNodeAffinity(
                required=NodeSelector(
                    nodeSelectorTerms=[
                        NodeSelectorTerm(
                            matchExpressions=[NodeSelectorRequirement(key=HOSTNAME_LABEL, operator="In", values=[hostname])]
                        )
                    ]
                )
            ),
        ),
    )


def _reference(claim: PersistentVolumeClaim) -> ObjectReference:
    return ObjectReference(
        kind="PersistentVolumeClaim",
        apiVersion="v1",
        namespace=claim.metadata.namespace,
        name=claim.metadata.name,
        uid=claim.metadata.uid,
        resourceVersion=claim.metadata.resourceVersion,
    )


class PersistentVolumeController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.claims = ctx.informers.informer(PersistentVolumeClaim)
        self.volumes = ctx.informers.informer(PersistentVolume)
        self.classes = ctx.informers.informer(StorageClass)
        self.pods = ctx.informers.informer(Pod)
        self.nodes = ctx.informers.informer(Node)
        self.controller = Controller(
            "persistentvolume",
            self.reconcile,
            informers=[self.claims, self.volumes, self.classes, self.pods, self.nodes],
            workers=workers,
        )
        self.claims.add_handlers(self._on_claim, lambda _old, new: self._on_claim(new), self._on_claim)
        self.volumes.add_handlers(self._on_volume, lambda _old, new: self._on_volume(new), self._on_volume)
        self.pods.add_handlers(self._on_pod, lambda _old, new: self._on_pod(new), self._on_pod)

    # -- handlers: objects to keys -------------------------------------------------

    def _on_claim(self, claim: PersistentVolumeClaim) -> None:
        self.controller.enqueue(CLAIM + object_key(claim))
        if claim.spec.volumeName:
            self.controller.enqueue(VOLUME + claim.spec.volumeName)
        for volume in self.volumes.list():
            ref = volume.spec.claimRef
            if ref is not None and (ref.namespace, ref.name) == (claim.metadata.namespace, claim.metadata.name):
                self.controller.enqueue(VOLUME + (volume.metadata.name or ""))

    def _on_volume(self, volume: PersistentVolume) -> None:
        self.controller.enqueue(VOLUME + object_key(volume))
        ref = volume.spec.claimRef
        if ref is not None:
            self.controller.enqueue(CLAIM + claim_key(ref.namespace, ref.name))
        elif volume.status.phase == "Available":
            # A free volume: claims still waiting may take it.
            for claim in self.claims.list():
                if not claim.spec.volumeName:
                    self.controller.enqueue(CLAIM + object_key(claim))

    def _on_pod(self, pod: Pod) -> None:
        for name in claim_names_of(pod):
            self.controller.enqueue(CLAIM + claim_key(pod.metadata.namespace, name))

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        if key.startswith(CLAIM):
            self.reconcile_claim(key.removeprefix(CLAIM))
        elif key.startswith(VOLUME):
            self.reconcile_volume(key.removeprefix(VOLUME))

    def reconcile_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        if claim.metadata.deletionTimestamp is not None:
            self._release_protection(claim)
            return
        if claim.spec.volumeName:
            self._sync_bound_claim(claim)
            return
        sc = self.classes.get(claim.spec.storageClassName) if claim.spec.storageClassName else None
        if sc is not None and sc.volumeBindingMode == "WaitForFirstConsumer":
            self._bind_at_selected_node(claim, sc)
            return
        volume = best_volume(claim, self.volumes.list())
        if volume is not None:
            self._bind(volume, claim)
        elif not claim.spec.storageClassName:
            self.ctx.recorder.normal(claim, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
        elif sc is None:
            self.ctx.recorder.warning(claim, "ProvisioningFailed", f'storageclass.storage.k8s.io "{claim.spec.storageClassName}" not found')
        else:
            self.ctx.recorder.normal(
                claim,
                "ExternalProvisioning",
                f"Waiting for a volume to be created either by the external provisioner '{sc.provisioner}' "
                "or manually by the system administrator.",
            )

    def _release_protection(self, claim: PersistentVolumeClaim) -> None:
        if PVC_PROTECTION not in (claim.metadata.finalizers or []):
            return
        users = [
            p
            for p in self.pods.by_index("namespace", claim.metadata.namespace or "")
            if pod_may_run(p) and claim.metadata.name in claim_names_of(p)
        ]
        if users:
            log.debug("claim %s is in use by %s", object_key(claim), object_key(users[0]))
            return
        updated = claim.model_copy(deep=True)
        updated.metadata.finalizers = [f for f in claim.metadata.finalizers or [] if f != PVC_PROTECTION]
        self._update(updated)

    def _bind_at_selected_node(self, claim: PersistentVolumeClaim, sc: StorageClass) -> None:
        node_name = (claim.metadata.annotations or {}).get(SELECTED_NODE_ANNOTATION)
        if not node_name:
            self.ctx.recorder.normal(claim, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            return
        node = self.nodes.get(node_name)
        if node is None:
            return
        volume = best_volume(claim, self.volumes.list(), (node_name, dict(node.metadata.labels or {})))
        if volume is None and sc.provisioner == LOCAL_PATH_PROVISIONER:
            volume = self._provision(claim, sc, node)
        if volume is not None:
            self._bind(volume, claim)

    def _provision(self, claim: PersistentVolumeClaim, sc: StorageClass, node: Node) -> PersistentVolume | None:
        body = provisioned_volume(claim, sc, node)
        try:
            created = self.client.create(body)
        except AlreadyExistsError:
            return self.volumes.get(body.metadata.name or "")  # made by an earlier pass; bound once the cache has it
        self.ctx.recorder.normal(
            claim, "ProvisioningSucceeded", f"Successfully provisioned volume {created.metadata.name} on {node.metadata.name}"
        )
        return created

    def _bind(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> None:
        """Volume first (claimRef, Bound), then the claim (volumeName, Bound)."""
        ref = volume.spec.claimRef
        if ref is None or ref.uid != claim.metadata.uid:
            updated = volume.model_copy(deep=True)
            updated.spec.claimRef = _reference(claim)
            annotations = dict(updated.metadata.annotations or {})
            annotations[BOUND_BY_CONTROLLER_ANNOTATION] = "yes"
            updated.metadata.annotations = annotations
            volume = self._update(updated)
        self._set_volume_phase(volume, "Bound")
        bound = claim.model_copy(deep=True)
        bound.spec.volumeName = volume.metadata.name
        annotations = dict(bound.metadata.annotations or {})
        annotations[BIND_COMPLETED_ANNOTATION] = "yes"
        if ref is None or not ref.uid:
            annotations[BOUND_BY_CONTROLLER_ANNOTATION] = "yes"
        bound.metadata.annotations = annotations
        claim = self._update(bound)
        self._set_claim_bound(claim, volume)
        self.ctx.recorder.normal(claim, "Bound", f"Bound to volume {volume.metadata.name}")

    def _sync_bound_claim(self, claim: PersistentVolumeClaim) -> None:
        volume = self.volumes.get(claim.spec.volumeName or "")
        if volume is None:
            if claim.status.phase == "Bound":
                self._set_claim_phase(claim, "Lost")
                self.ctx.recorder.warning(claim, "ClaimLost", f"Bound claim has lost its PersistentVolume {claim.spec.volumeName}")
            return
        ref = volume.spec.claimRef
        if ref is None or (not ref.uid and (ref.namespace, ref.name) == (claim.metadata.namespace, claim.metadata.name)):
            self._bind(volume, claim)  # the claim named the volume itself
            return
        if ref.uid != claim.metadata.uid:
            if claim.status.phase != "Lost":
                self._set_claim_phase(claim, "Lost")
            return
        self._set_claim_bound(claim, volume)

    def reconcile_volume(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None:
            return
        ref = volume.spec.claimRef
        claim = self.claims.get(claim_key(ref.namespace, ref.name)) if ref is not None else None
        if volume.metadata.deletionTimestamp is not None:
            bound = claim is not None and claim.spec.volumeName == name and (not ref or ref.uid == claim.metadata.uid)
            if PV_PROTECTION in (volume.metadata.finalizers or []) and not bound:
                updated = volume.model_copy(deep=True)
                updated.metadata.finalizers = [f for f in volume.metadata.finalizers or [] if f != PV_PROTECTION]
                self._update(updated)
            return
        phase = volume_phase(volume, claim)
        if phase == "Released":
            self._reclaim(volume)
            return
        self._set_volume_phase(volume, phase)

    def _reclaim(self, volume: PersistentVolume) -> None:
        if volume.status.phase == "Failed":
            return
        policy = volume.spec.persistentVolumeReclaimPolicy
        provisioner = (volume.metadata.annotations or {}).get(PROVISIONED_BY_ANNOTATION)
        if policy == "Delete" and provisioner != LOCAL_PATH_PROVISIONER:
            message = f'error getting deleter volume plugin for volume "{volume.metadata.name}": no deletable volume plugin matched'
            self._set_volume_phase(volume, "Failed", message=message, reason="VolumeFailedDelete")
            self.ctx.recorder.warning(volume, "VolumeFailedDelete", message)
            return
        if policy == "Recycle":
            message = "Recycle is not supported: the volume is kept (use Retain or Delete)"
            self._set_volume_phase(volume, "Failed", message=message, reason="VolumeFailedRecycle")
            return
        # Retain: kept for an administrator; Delete (local-path): the node's agent removes the directory, then the volume.
        self._set_volume_phase(volume, "Released")

    # -- writes ------------------------------------------------------------------------

    def _update(self, obj: T) -> T:
        try:
            return self.client.update(obj)
        except NotFoundError:
            return obj

    def _set_volume_phase(self, volume: PersistentVolume, phase: str, *, message: str | None = None, reason: str | None = None) -> None:
        if volume.status.phase == phase and volume.status.message == message:
            return
        updated = volume.model_copy(deep=True)
        updated.status = PersistentVolumeStatus.model_validate(
            {"phase": phase, "message": message, "reason": reason, "lastPhaseTransitionTime": self.ctx.clock.rfc3339()}
        )
        try:
            self.client.update_status(updated)
        except NotFoundError:
            pass

    def _set_claim_phase(self, claim: PersistentVolumeClaim, phase: str) -> None:
        updated = claim.model_copy(deep=True)
        updated.status.phase = phase  # type: ignore[assignment]
        try:
            self.client.update_status(updated)
        except NotFoundError:
            pass

    def _set_claim_bound(self, claim: PersistentVolumeClaim, volume: PersistentVolume) -> None:
        status = claim.status
        want_modes = list(volume.spec.accessModes or [])
        want_capacity = dict(volume.spec.capacity or {})
        if status.phase == "Bound" and status.accessModes == want_modes and status.capacity == want_capacity:
            return
        updated = claim.model_copy(deep=True)
        updated.status.phase = "Bound"
        updated.status.accessModes = want_modes  # type: ignore[assignment]
        updated.status.capacity = want_capacity
        try:
            self.client.update_status(updated)
        except NotFoundError:
            pass

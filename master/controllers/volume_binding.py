"""Which PersistentVolume a claim gets, and what phase a volume is in: pure rules, as Kubernetes' binder decides.

``best_volume(claim, volumes)`` is the PV controller's (and the scheduler's) choice: a
volume pre-bound to the claim (its ``claimRef`` names it) wins; otherwise the smallest
volume that is free (no ``claimRef``, not being deleted, phase Available or not yet
set), of the claim's class (a claim of class "" takes only volumes without class), of
the same ``volumeMode``, offering every access mode asked for, at least as large as the
request and matching the claim's selector. ``node`` narrows it to volumes whose node
affinity admits that node (WaitForFirstConsumer claims, once the scheduler chose).

``volume_phase(volume, claim)`` is where a volume stands: Available with no claim,
Bound to a claim that points back at it, Released once that claim is gone (its uid no
longer there), and Pending while a claim named in it has not yet taken it.
"""

from __future__ import annotations

from collections.abc import Iterable

from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim, storage_bytes
from master.placement_rules import volume_admits_node

NodeFacts = tuple[str, dict[str, str]]  # (name, labels)


def claim_key(namespace: str | None, name: str | None) -> str:
    return f"{namespace or ''}/{name or ''}"


def prebound_to(volume: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    ref = volume.spec.claimRef
    if ref is None:
        return False
    if (ref.namespace, ref.name) != (claim.metadata.namespace, claim.metadata.name):
        return False
    return not ref.uid or ref.uid == claim.metadata.uid


def fits(volume: PersistentVolume, claim: PersistentVolumeClaim, node: NodeFacts | None = None) -> bool:
    """The volume could hold the claim: class, mode, access modes, size, selector, node."""
    if volume.metadata.deletionTimestamp is not None:
        return False
    if (volume.spec.storageClassName or "") != (claim.spec.storageClassName or ""):
        return False
    if volume.spec.volumeMode != claim.spec.volumeMode:
        return False
    if not set(claim.spec.accessModes or []) <= set(volume.spec.accessModes or []):
        return False
    if storage_bytes(volume.spec.capacity) < storage_bytes(claim.spec.resources.requests):
        return False
    if claim.spec.selector is not None and not claim.spec.selector.matches(volume.metadata.labels):
        return False
    required = volume.spec.nodeAffinity.required if volume.spec.nodeAffinity else None
    return node is None or volume_admits_node(required, node[0], node[1])


def is_free(volume: PersistentVolume) -> bool:
    return volume.spec.claimRef is None and volume.status.phase in (None, "Pending", "Available")


def best_volume(
    claim: PersistentVolumeClaim, volumes: Iterable[PersistentVolume], node: NodeFacts | None = None
) -> PersistentVolume | None:
    """The volume the claim should be bound to, or None (see the module docstring)."""
    candidates = [v for v in volumes if fits(v, claim, node)]
    for volume in candidates:
        if prebound_to(volume, claim) and volume.status.phase not in ("Released", "Failed"):
            return volume
    free = [v for v in candidates if is_free(v)]
    if not free:
        return None
    return min(free, key=lambda v: (storage_bytes(v.spec.capacity), v.metadata.name or ""))


def volume_phase(volume: PersistentVolume, claim: PersistentVolumeClaim | None) -> str:
    """Available, Bound, Released or Pending (see the module docstring); Failed is the reclaimer's to set."""
    ref = volume.spec.claimRef
    if ref is None:
        return "Available"
    if claim is None or (ref.uid and claim.metadata.uid != ref.uid):
        if not ref.uid:
            return "Available"  # pre-bound by name to a claim that does not exist yet
        return "Released"
    if claim.spec.volumeName == volume.metadata.name:
        return "Bound"
    return volume.status.phase if volume.status.phase in ("Available", "Pending") else "Pending"

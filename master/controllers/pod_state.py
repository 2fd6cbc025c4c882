"""What a pod's status says, as every controller reads it: active, ready, available, owned by.

Kubernetes spreads these over several packages (podutil, controller_utils); here
they are one small module so the ReplicaSet, Deployment and Endpoints controllers
agree on what "ready" and "available" mean.
"""

from __future__ import annotations

from kajitori.api.core import Pod
from kajitori.api.meta import OwnerReference, TypedObject
from kajitori.clock import parse_time


def is_terminating(pod: Pod) -> bool:
    return pod.metadata.deletionTimestamp is not None


def is_active(pod: Pod) -> bool:
    """A pod that counts towards its owner's replicas: not finished and not being deleted."""
    return pod.status.phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def ready_since(pod: Pod) -> float | None:
    """When the pod's Ready condition became True (seconds since the epoch), or None if not ready."""
    for cond in pod.status.conditions or []:
        if cond.type == "Ready":
            if cond.status != "True":
                return None
            return parse_time(cond.lastTransitionTime) or 0.0
    return None


def is_ready(pod: Pod) -> bool:
    return ready_since(pod) is not None


def is_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (Kubernetes' IsPodAvailable)."""
    since = ready_since(pod)
    if since is None:
        return False
    return min_ready_seconds <= 0 or since + min_ready_seconds <= now


def controller_ref(obj: TypedObject) -> OwnerReference | None:
    for ref in obj.metadata.ownerReferences or []:
        if ref.controller:
            return ref
    return None


def owner_reference(owner: TypedObject) -> OwnerReference:
    """A controlling reference to ``owner``, as a ReplicaSet puts on its pods."""
    return OwnerReference(
        apiVersion=owner.apiVersion or "",
        kind=owner.kind or "",
        name=owner.metadata.name or "",
        uid=owner.metadata.uid or "",
        controller=True,
        blockOwnerDeletion=True,
    )

"""Kubernetes' VolumeBinding plugin: what a pod's PersistentVolumeClaims ask of the node it goes to.

``pod_volumes`` reads the pod's claims from the caches before the nodes are filtered:

- a claim that is missing or being deleted, or unbound of an Immediate class, makes the
  pod unschedulable on every node (``VolumeProblem``, Kubernetes' words:
  ``pod has unbound immediate PersistentVolumeClaims``); the PV controller binds it and
  the claim's event brings the pod back;
- a claim bound to a volume with node affinity pins the pod to the nodes it admits
  (``affinities``; the filter says ``node(s) had volume node affinity conflict``);
- an unbound WaitForFirstConsumer claim is bound where the pod lands: its class's
  provisioner (local-path) can make a volume on any node, otherwise a node needs a
  free volume that fits it (``static``; ``node(s) didn't find available persistent
  volumes to bind``). Once a node is chosen the scheduler annotates these claims
  ``volume.kubernetes.io/selected-node`` and waits for the PV controller to bind them
  before it binds the pod (Kubernetes' PreBind).
"""

from __future__ import annotations

from dataclasses import dataclass

from kajitori.api.core import NodeSelector, Pod
from kajitori.api.storage import LOCAL_PATH_PROVISIONER, PersistentVolume, PersistentVolumeClaim, StorageClass
from kajitori.seams import Cache
from master.controllers.volume_binding import best_volume
from master.placement_rules import volume_admits_node

UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
VOLUME_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"


class VolumeProblem(Exception):
    """The pod fits no node because of its claims (the message is Kubernetes')."""


@dataclass(frozen=True)
class PodVolumes:
    affinities: tuple[NodeSelector, ...] = ()
    """Node affinity of the volumes bound to the pod's claims."""
    static: tuple[tuple[PersistentVolumeClaim, tuple[PersistentVolume, ...]], ...] = ()
    """Unbound WaitForFirstConsumer claims no provisioner serves, with the volumes that could take them."""
    wait_for_consumer: tuple[PersistentVolumeClaim, ...] = ()
    """Every unbound WaitForFirstConsumer claim: annotated with the chosen node, then waited for."""


def claim_names(pod: Pod) -> list[str]:
    return [v.persistentVolumeClaim.claimName for v in pod.spec.volumes or [] if v.persistentVolumeClaim is not None]


def pod_volumes(
    pod: Pod,
    claims: Cache[PersistentVolumeClaim],
    volumes: Cache[PersistentVolume],
    classes: Cache[StorageClass],
) -> PodVolumes | None:
    """What the pod's claims ask of a node (None without claims); VolumeProblem when no node can do."""
    names = claim_names(pod)
    if not names:
        return None
    affinities: list[NodeSelector] = []
    static: list[tuple[PersistentVolumeClaim, tuple[PersistentVolume, ...]]] = []
    waiting: list[PersistentVolumeClaim] = []
    for name in names:
        claim = claims.get(f"{pod.metadata.namespace}/{name}")
        if claim is None:
            raise VolumeProblem(f'persistentvolumeclaim "{name}" not found')
        if claim.metadata.deletionTimestamp is not None:
            raise VolumeProblem(f'persistentvolumeclaim "{name}" is being deleted')
        if claim.spec.volumeName:
            volume = volumes.get(claim.spec.volumeName)
            if volume is None:
                raise VolumeProblem(f'persistentvolume "{claim.spec.volumeName}" not found')
            if volume.spec.nodeAffinity is not None and volume.spec.nodeAffinity.required is not None:
                affinities.append(volume.spec.nodeAffinity.required)
            continue
        sc = classes.get(claim.spec.storageClassName) if claim.spec.storageClassName else None
        if sc is None or sc.volumeBindingMode != "WaitForFirstConsumer":
            raise VolumeProblem(UNBOUND_IMMEDIATE)
        waiting.append(claim)
        if sc.provisioner != LOCAL_PATH_PROVISIONER:
            static.append((claim, tuple(volumes.list())))
    return PodVolumes(affinities=tuple(affinities), static=tuple(static), wait_for_consumer=tuple(waiting))


def volume_reasons(volumes: PodVolumes | None, node_name: str, labels: dict[str, str]) -> tuple[str, ...]:
    """The filter: why the pod's volumes cannot be on this node, or ()."""
    if volumes is None:
        return ()
    for required in volumes.affinities:
        if not volume_admits_node(required, node_name, labels):
            return (VOLUME_CONFLICT,)
    for claim, candidates in volumes.static:
        if best_volume(claim, candidates, (node_name, labels)) is None:
            return (NO_VOLUME,)
    return ()

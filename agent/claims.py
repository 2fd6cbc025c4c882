"""PersistentVolumeClaim volumes on this node: where a claim's data lives, and removing released local-path volumes.

``ApiClaimSource.volume_dir(namespace, claim)`` follows a claim to its bound volume and
answers the volume's directory on this node (``hostPath`` or ``local``), and whether
the agent may create it (a ``DirectoryOrCreate`` hostPath, as local-path volumes are).
A claim that is missing or not yet bound is a ContainerConfigError: the pod waits in
ContainerCreating and is synced again, as the kubelet waits for its volumes to attach.

``reclaim_released_volumes`` is the node's half of ``reclaimPolicy: Delete`` for
local-path volumes (the master has no access to a node's disk): a Released volume
provisioned by ``kajitori.io/local-path`` whose node affinity names this node, and
whose directory is inside this agent's ``--volumes-root``, has its directory removed
and then the PersistentVolume deleted. Nothing outside the volumes root is ever removed.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Protocol

from agent.env import ContainerConfigError
from kajitori.api.storage import (
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    PersistentVolume,
    PersistentVolumeClaim,
)
from kajitori.client import ApiClient, NotFoundError

log = logging.getLogger(__name__)

HOSTNAME_LABEL = "kubernetes.io/hostname"


class ClaimSource(Protocol):
    def volume_dir(self, namespace: str, claim: str) -> tuple[Path, bool]:
        """The bound volume's directory on this node and whether the agent may create it; ContainerConfigError if unbound."""
        ...


class ApiClaimSource:
    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def volume_dir(self, namespace: str, claim: str) -> tuple[Path, bool]:
        try:
            found = self._client.get(PersistentVolumeClaim, claim, namespace)
        except NotFoundError:
            raise ContainerConfigError(f'persistentvolumeclaim "{claim}" not found') from None
        if not found.spec.volumeName:
            raise ContainerConfigError(f'persistentvolumeclaim "{claim}" is not bound')
        try:
            volume = self._client.get(PersistentVolume, found.spec.volumeName)
        except NotFoundError:
            raise ContainerConfigError(f'persistentvolume "{found.spec.volumeName}" not found') from None
        path = volume.spec.local_path()
        if path is None:
            raise ContainerConfigError(f'persistentvolume "{volume.metadata.name}" has no hostPath or local source')
        create = volume.spec.hostPath is not None and volume.spec.hostPath.type == "DirectoryOrCreate"
        return Path(path), create


def pinned_to(volume: PersistentVolume, node_name: str) -> bool:
    """The volume's node affinity names exactly this node by its hostname label."""
    required = volume.spec.nodeAffinity.required if volume.spec.nodeAffinity else None
    if required is None:
        return False
    names = {
        value
        for term in required.nodeSelectorTerms
        for req in term.matchExpressions or []
        if req.key == HOSTNAME_LABEL and req.operator == "In"
        for value in req.values or []
    }
    return names == {node_name}


def reclaim_released_volumes(client: ApiClient, node_name: str, volumes_root: Path) -> list[str]:
    """Remove the directories and objects of this node's Released local-path Delete volumes; the names removed."""
    root = volumes_root.resolve()
    removed: list[str] = []
    for volume in client.list(PersistentVolume).items:
        if (
            volume.status.phase != "Released"
            or volume.spec.persistentVolumeReclaimPolicy != "Delete"
            or (volume.metadata.annotations or {}).get(PROVISIONED_BY_ANNOTATION) != LOCAL_PATH_PROVISIONER
            or not pinned_to(volume, node_name)
            or volume.metadata.deletionTimestamp is not None
        ):
            continue
        path = Path(volume.spec.local_path() or "")
        real = path.resolve()
        if real == root or root not in real.parents:
            log.warning("volume %s: %s is outside the volumes root %s; left alone", volume.metadata.name, path, root)
            continue
        shutil.rmtree(real, ignore_errors=True)
        try:
            client.delete(PersistentVolume, volume.metadata.name or "")
        except NotFoundError:
            pass
        log.info("deleted released volume %s and its directory %s", volume.metadata.name, real)
        removed.append(volume.metadata.name or "")
    return removed

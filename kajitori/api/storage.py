"""The storage kinds: core/v1 PersistentVolume and PersistentVolumeClaim, storage.k8s.io/v1 StorageClass.

Defaults and rules are Kubernetes' own: a claim needs at least one valid access mode and
a storage request that is a positive Quantity; ``volumeMode`` is Filesystem unless Block;
a volume needs a capacity, access modes and exactly one source (``hostPath`` and
``local`` are the ones Kajitori's agent mounts; the others are kept as written), and a
``local`` volume needs node affinity; ``persistentVolumeReclaimPolicy`` defaults to
Retain, a StorageClass's ``reclaimPolicy`` to Delete and its ``volumeBindingMode`` to
Immediate. Errors that span fields are raised from the object's validator with the
field's whole path (``spec.accessModes: Required value``), so the 422 names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from kajitori.api.core import NodeSelector, ObjectReference
from kajitori.api.meta import KubeModel, LabelSelector, ObjectMeta, TypedObject
from kajitori.api.quantity import Quantity, parse_quantity

AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
ACCESS_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed"
LOCAL_PATH_PROVISIONER = "kajitori.io/local-path"  # the built-in provisioner of the default class
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"

# Sources Kubernetes has that Kajitori keeps without mounting them (see UNMODELLED below).
_OTHER_SOURCES = frozenset(
    {
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume", "flocker",
        "gcePersistentDisk", "glusterfs", "iscsi", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd",
        "scaleIO", "storageos", "vsphereVolume",
    }
)  # fmt: skip


def storage_bytes(requests_or_capacity: dict[str, str] | None) -> int:
    """The ``storage`` quantity of a requests/capacity map in bytes (0 when absent)."""
    value = (requests_or_capacity or {}).get("storage")
    return 0 if value is None else int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def _check_access_modes(modes: Sequence[str] | None, path: str) -> None:
    if not modes:
        raise ValueError(f"{path}.accessModes: Required value: at least 1 access mode is required")
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        raise ValueError(f"{path}.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes")


def _check_storage(values: dict[str, str] | None, path: str) -> None:
    if not values or "storage" not in values:
        raise ValueError(f"{path}[storage]: Required value")
    if parse_quantity(values["storage"]) <= 0:
        raise ValueError(f"{path}[storage]: Invalid value: {values['storage']!r}: must be greater than zero")


# --------------------------------------------------------------------------- PersistentVolumeClaim


class VolumeResourceRequirements(KubeModel):
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None


class TypedLocalObjectReference(KubeModel):
    apiGroup: str | None = None
    kind: str
    name: str


class PersistentVolumeClaimSpec(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"dataSource", "dataSourceRef", "volumeAttributesClassName"})

    accessModes: list[AccessMode] | None = None
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements = Field(default_factory=VolumeResourceRequirements)
    volumeName: str | None = None
    storageClassName: str | None = None
    volumeMode: Literal["Filesystem", "Block"] = "Filesystem"


def check_claim_spec(spec: PersistentVolumeClaimSpec, path: str) -> None:
    """Kubernetes' ValidatePersistentVolumeClaimSpec: the rules that span fields, named by `path`."""
    _check_access_modes(spec.accessModes, path)
    _check_storage(spec.resources.requests, f"{path}.resources.requests")


class PersistentVolumeClaimCondition(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: str | None = None
    lastTransitionTime: str | None = None
    reason: str | None = None
    message: str | None = None


class PersistentVolumeClaimStatus(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = frozenset(
        {"allocatedResourceStatuses", "allocatedResources", "currentVolumeAttributesClassName", "modifyVolumeStatus"}
    )

    phase: Literal["Pending", "Bound", "Lost"] | None = None
    accessModes: list[AccessMode] | None = None
    capacity: dict[str, Quantity] | None = None
    conditions: list[PersistentVolumeClaimCondition] | None = None


class PersistentVolumeClaim(TypedObject):
    """A user's request for storage: a class, a size and access modes; bound to one PersistentVolume."""

    apiVersion: str | None = "v1"
    kind: str | None = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
    status: PersistentVolumeClaimStatus = Field(default_factory=PersistentVolumeClaimStatus)

    @model_validator(mode="after")
    def _rules(self) -> PersistentVolumeClaim:
        check_claim_spec(self.spec, "spec")
        return self


class StatefulSetVolumeClaim(KubeModel):
    """A PersistentVolumeClaim as a StatefulSet's volumeClaimTemplates hold it (apiVersion/kind optional; not Kubernetes' PersistentVolumeClaimTemplate, which is an ephemeral volume's)."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
    status: PersistentVolumeClaimStatus | None = None


# --------------------------------------------------------------------------- PersistentVolume


class HostPathVolumeSource(KubeModel):
    path: str
    type: Literal["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"] | None = None


class LocalVolumeSource(KubeModel):
    path: str
    fsType: str | None = None


class VolumeNodeAffinity(KubeModel):
    required: NodeSelector | None = None


class PersistentVolumeSpec(KubeModel):
    UNMODELLED: ClassVar[frozenset[str]] = _OTHER_SOURCES | {"mountOptions", "volumeAttributesClassName"}

    capacity: dict[str, Quantity] | None = None
    accessModes: list[AccessMode] | None = None
    hostPath: HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None
    claimRef: ObjectReference | None = None
    persistentVolumeReclaimPolicy: Literal["Retain", "Delete", "Recycle"] = "Retain"
    storageClassName: str | None = None
    volumeMode: Literal["Filesystem", "Block"] = "Filesystem"
    nodeAffinity: VolumeNodeAffinity | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PersistentVolumeSpec:
        extra = self.__pydantic_extra__ or {}
        sources = [name for name in ("hostPath", "local") if getattr(self, name) is not None]
        sources += [name for name in extra if name in _OTHER_SOURCES]
        if not sources:
            raise ValueError("Required value: must specify a volume type")
        if len(sources) > 1:
            raise ValueError(f"Forbidden: may not specify more than 1 volume type ({', '.join(sources)})")
        return self

    def local_path(self) -> str | None:
        """The directory on the node that holds the volume's data (hostPath or local), if any."""
        if self.hostPath is not None:
            return self.hostPath.path
        if self.local is not None:
            return self.local.path
        return None


class PersistentVolumeStatus(KubeModel):
    phase: Literal["Pending", "Available", "Bound", "Released", "Failed"] | None = None
    message: str | None = None
    reason: str | None = None
    lastPhaseTransitionTime: str | None = None


def _check_path(path: str, field: str) -> None:
    if not path.startswith("/"):
        raise ValueError(f"{field}: Invalid value: {path!r}: must be an absolute path")
    if ".." in path.split("/"):
        raise ValueError(f"{field}: Invalid value: {path!r}: must not contain '..'")


class PersistentVolume(TypedObject):
    """A piece of storage in the cluster (a directory of a node here), bound to at most one claim."""

    apiVersion: str | None = "v1"
    kind: str | None = "PersistentVolume"
    spec: PersistentVolumeSpec
    status: PersistentVolumeStatus = Field(default_factory=PersistentVolumeStatus)

    @model_validator(mode="after")
    def _rules(self) -> PersistentVolume:
        spec = self.spec
        _check_storage(spec.capacity, "spec.capacity")
        _check_access_modes(spec.accessModes, "spec")
        if spec.hostPath is not None:
            _check_path(spec.hostPath.path, "spec.hostPath.path")
        if spec.local is not None:
            _check_path(spec.local.path, "spec.local.path")
            if spec.nodeAffinity is None or spec.nodeAffinity.required is None:
                raise ValueError("spec.nodeAffinity: Required value: Local volume requires node affinity")
        required = spec.nodeAffinity.required if spec.nodeAffinity is not None else None
        if required is not None and not required.nodeSelectorTerms:
            raise ValueError("spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term")
        return self


# --------------------------------------------------------------------------- StorageClass


class StorageClass(TypedObject):
    """storage.k8s.io/v1: no spec, no status; the fields sit at the top, as in Kubernetes."""

    UNMODELLED: ClassVar[frozenset[str]] = frozenset({"allowedTopologies", "mountOptions"})

    apiVersion: str | None = "storage.k8s.io/v1"
    kind: str | None = "StorageClass"
    provisioner: str
    parameters: dict[str, str] | None = None
    reclaimPolicy: Literal["Retain", "Delete"] = "Delete"
    allowVolumeExpansion: bool | None = None
    volumeBindingMode: Literal["Immediate", "WaitForFirstConsumer"] = "Immediate"

    @field_validator("provisioner")
    @classmethod
    def _provisioner(cls, v: str) -> str:
        if not v:
            raise ValueError("Required value")
        return v

    def is_default(self) -> bool:
        return (self.metadata.annotations or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"


def claim_storage_class(claim: PersistentVolumeClaim | dict[str, Any]) -> str:
    """The class a claim asks for ("" for none)."""
    if isinstance(claim, dict):
        return ((claim.get("spec") or {}).get("storageClassName")) or ""
    return claim.spec.storageClassName or ""

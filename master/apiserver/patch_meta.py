"""The patch metadata of the kinds served: which lists strategic merge merges, and by what key.

These are facts of Kubernetes' API (the ``patchStrategy``/``patchMergeKey`` tags of core/v1,
apps/v1 and batch/v1 types), kept as data: each type names its fields that are objects of
another type (so the walk knows where it is) and its lists with a strategy. A list not named
here is atomic: a patch replaces it, as Kubernetes does for a list without a strategy
(tolerations, taints, Endpoints subsets, envFrom, ...).
"""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    """One field's patch metadata: the type of its value (or of its items), strategy and key."""

    type: str | None = None  # the type of the object or of the list's items; None for scalars
    strategy: tuple[str, ...] = ()  # "merge" and/or "retainKeys", as Kubernetes tags them
    key: str = ""  # the merge key of a list of objects; "" for a merged list of scalars


def _obj(type_name: str | None, *strategy: str) -> Field:
    return Field(type_name, tuple(strategy))


def _merged(type_name: str | None, key: str = "", *extra: str) -> Field:
    return Field(type_name, ("merge", *extra), key)


_CONDITIONS = _merged(None, "type")
_META = _obj("ObjectMeta")

TYPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {"ownerReferences": _merged(None, "uid"), "finalizers": _merged(None)},
    "PodTemplateSpec": {"metadata": _META, "spec": _obj("PodSpec")},
    "PodSpec": {
        "volumes": _merged(None, "name", "retainKeys"),
        "initContainers": _merged("Container", "name"),
        "containers": _merged("Container", "name"),
        "ephemeralContainers": _merged("Container", "name"),
        "imagePullSecrets": _merged(None, "name"),
        "hostAliases": _merged(None, "ip"),
        "topologySpreadConstraints": _merged(None, "topologyKey"),
        "resourceClaims": _merged(None, "name", "retainKeys"),
        "schedulingGates": _merged(None, "name"),
    },
    "Container": {
        "ports": _merged(None, "containerPort"),
        "env": _merged(None, "name"),
        "volumeMounts": _merged(None, "mountPath"),
        "volumeDevices": _merged(None, "devicePath"),
    },
    "PodStatus": {
        "conditions": _CONDITIONS,
        "podIPs": _merged(None, "ip"),
        "hostIPs": _merged(None, "ip"),
        "resourceClaimStatuses": _merged(None, "name", "retainKeys"),
    },
    "ServiceSpec": {"ports": _merged(None, "port")},
    "NodeSpec": {"podCIDRs": _merged(None)},
    "NodeStatus": {"conditions": _CONDITIONS, "addresses": _merged(None, "type")},
    "WithConditions": {"conditions": _CONDITIONS},
    "DeploymentSpec": {"template": _obj("PodTemplateSpec"), "strategy": _obj(None, "retainKeys")},
    "TemplatedSpec": {"template": _obj("PodTemplateSpec")},
    "JobSpec": {"template": _obj("PodTemplateSpec")},
    "JobTemplateSpec": {"metadata": _META, "spec": _obj("JobSpec")},
    "CronJobSpec": {"jobTemplate": _obj("JobTemplateSpec")},
}


def _kind(spec: str | None, status: str | None = None) -> dict[str, Field]:
    fields = {"metadata": _META}
    if spec:
        fields["spec"] = _obj(spec)
    if status:
        fields["status"] = _obj(status)
    return fields


# kind -> the fields of its top-level object; every kind served has a metadata
KINDS: dict[str, dict[str, Field]] = {
    "Pod": _kind("PodSpec", "PodStatus"),
    "Service": _kind("ServiceSpec", "WithConditions"),
    "Node": _kind("NodeSpec", "NodeStatus"),
    "Namespace": _kind(None, "WithConditions"),
    "Deployment": _kind("DeploymentSpec", "WithConditions"),
    "ReplicaSet": _kind("TemplatedSpec", "WithConditions"),
    "ReplicationController": _kind("TemplatedSpec", "WithConditions"),
    "DaemonSet": _kind("TemplatedSpec", "WithConditions"),
    "StatefulSet": _kind("TemplatedSpec", "WithConditions"),
    "Job": _kind("JobSpec", "WithConditions"),
    "CronJob": _kind("CronJobSpec"),
    "ConfigMap": _kind(None),
    "Secret": _kind(None),
    "Endpoints": _kind(None),
    "Event": _kind(None),
    "Lease": _kind(None),
}


# Lists Kubernetes keys by more than their patch merge key (``x-kubernetes-list-map-keys``, used
# by OpenAPI v3 and server-side apply): (type, field) -> the keys; a key left out defaults.
LIST_MAP_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Container", "ports"): ("containerPort", "protocol"),
    ("ServiceSpec", "ports"): ("port", "protocol"),
    ("PodSpec", "topologySpreadConstraints"): ("topologyKey", "whenUnsatisfiable"),
}
LIST_MAP_KEY_DEFAULTS: dict[str, str] = {"protocol": "TCP"}


def fields_of(type_name: str | None) -> dict[str, Field]:
    """The fields with patch metadata of a type (empty for an unknown or scalar type)."""
    return TYPES.get(type_name or "", {})

"""The table of API resources: group/version, kind, plural, scope, model, short names.

Everything generic (the API server's routes, the client, the CLI's `get po`) looks
resources up here, so adding a kind is one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kajitori.api.apps import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.api.batch import CronJob, Job
from kajitori.api.certificates import CertificateSigningRequest
from kajitori.api.coordination import Lease
from kajitori.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    Pod,
    ReplicationController,
    Secret,
    Service,
    ServiceAccount,
)
from kajitori.api.meta import TypedObject
from kajitori.api.networking import Ingress, IngressClass
from kajitori.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim, StorageClass


@dataclass(frozen=True)
class Resource:
    group: str  # "" is the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    model: type[TypedObject]
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = field(default_factory=frozenset)
    # Kinds whose objects carry status written separately through /status.
    has_status: bool = True
    # Discovery categories: `kubectl get all` lists every resource in "all".
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def prefix(self) -> str:
        """The URL prefix of the group/version: /api/v1 or /apis/apps/v1."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    def store_key(self, namespace: str | None, name: str) -> str:
        ns = namespace if self.namespaced else ""
        return f"{self.collection}/{ns}/{name}"

    @property
    def collection(self) -> str:
        return f"/{self.group or 'core'}/{self.plural}"


ALL = ("all",)  # Kubernetes' "all": the workloads and Services, not config, secrets or cluster objects
RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "Namespace", "namespaces", False, Namespace, ("ns",), frozenset({"status", "finalize"})),
    Resource("", "v1", "Node", "nodes", False, Node, ("no",), frozenset({"status", "proxy"})),
    Resource(
        "", "v1", "Pod", "pods", True, Pod, ("po",), frozenset({"status", "binding", "log", "exec", "attach", "portforward", "eviction"}), categories=ALL
    ),
    Resource("", "v1", "Service", "services", True, Service, ("svc",), frozenset({"status"}), categories=ALL),
    Resource("", "v1", "Endpoints", "endpoints", True, Endpoints, ("ep",), has_status=False),
    Resource("", "v1", "ConfigMap", "configmaps", True, ConfigMap, ("cm",), has_status=False),
    Resource("", "v1", "Secret", "secrets", True, Secret, (), has_status=False),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ServiceAccount, ("sa",), frozenset({"token"}), has_status=False),
    Resource("", "v1", "Event", "events", True, Event, ("ev",), has_status=False),
    Resource(
        "", "v1", "ReplicationController", "replicationcontrollers", True, ReplicationController, ("rc",), frozenset({"status", "scale"}), categories=ALL
    ),
    Resource("coordination.k8s.io", "v1", "Lease", "leases", True, Lease, (), has_status=False),
    Resource("apps", "v1", "Deployment", "deployments", True, Deployment, ("deploy",), frozenset({"status", "scale"}), categories=ALL),
    Resource("apps", "v1", "ReplicaSet", "replicasets", True, ReplicaSet, ("rs",), frozenset({"status", "scale"}), categories=ALL),
    Resource("apps", "v1", "DaemonSet", "daemonsets", True, DaemonSet, ("ds",), frozenset({"status"}), categories=ALL),
    Resource("batch", "v1", "Job", "jobs", True, Job, (), frozenset({"status"}), categories=ALL),
    Resource("batch", "v1", "CronJob", "cronjobs", True, CronJob, ("cj",), frozenset({"status"}), categories=ALL),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", True, Ingress, ("ing",), frozenset({"status"})),
    Resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, IngressClass, (), has_status=False),
    # Storage and StatefulSets (issue 15).
    Resource("", "v1", "PersistentVolume", "persistentvolumes", False, PersistentVolume, ("pv",), frozenset({"status"})),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, PersistentVolumeClaim, ("pvc",), frozenset({"status"})),
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, StorageClass, ("sc",), has_status=False),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, StatefulSet, ("sts",), frozenset({"status", "scale"}), categories=ALL),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions", True, ControllerRevision, (), has_status=False),
    # Autoscaling (issue 15).
    Resource(
        "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, HorizontalPodAutoscaler, ("hpa",), frozenset({"status"}), categories=ALL
    ),
    Resource("rbac.authorization.k8s.io", "v1", "Role", "roles", True, Role, (), has_status=False),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, ClusterRole, (), has_status=False),
    Resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, RoleBinding, (), has_status=False),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, ClusterRoleBinding, (), has_status=False),
    # Node bootstrap and client certificates (issue 14): approved through /approval, signed through /status.
    Resource(
        "certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", False,
        CertificateSigningRequest, ("csr",), frozenset({"status", "approval"}),
    ),
)

_BY_GVP = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


class UnknownResource(LookupError):
    """No resource of that name, kind or version is served."""


def by_path(group: str, version: str, plural: str) -> Resource:
    try:
        return _BY_GVP[(group, version, plural)]
    except KeyError:
        raise UnknownResource(f"the server could not find the requested resource {group}/{version}/{plural}") from None


def by_kind(api_version: str, kind: str) -> Resource:
    try:
        return _BY_KIND[(api_version, kind)]
    except KeyError:
        raise UnknownResource(f'no matches for kind "{kind}" in version "{api_version}"') from None


def by_name(name: str) -> Resource:
    """What a person types: plural, singular, kind or short name, any case ("po", "Pods", "deploy")."""
    wanted = name.lower()
    for r in RESOURCES:
        if wanted in (r.plural, r.singular, *r.short_names) or wanted == r.kind.lower():
            return r
    # "deployment.apps" style
    base, _, group = wanted.partition(".")
    for r in RESOURCES:
        if group and r.group.startswith(group) and base in (r.plural, r.singular):
            return r
    raise UnknownResource(f'the server doesn\'t have a resource type "{name}"')


def by_model(model: type[TypedObject]) -> Resource:
    for r in RESOURCES:
        if r.model is model:
            return r
    raise UnknownResource(f"no resource is served for {model.__name__}")

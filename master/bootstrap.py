"""What every cluster has from its first second: the default namespaces, their ``default``
ServiceAccounts (the ServiceAccounts controller keeps them afterwards, and makes those of new
namespaces), the API's Service, the default IngressClass and StorageClass, the default RBAC roles."""

from __future__ import annotations

import logging

from kajitori.api import networking, storage
from kajitori.api.networking import KAJITORI_CLASS, KAJITORI_CONTROLLER
from kajitori.api.registry import by_path
from kajitori.api.storage import LOCAL_PATH_PROVISIONER
from master import allocators
from master.apiserver.authz.defaults import cluster_role_bindings, cluster_roles
from master.apiserver.errors import ApiError
from master.apiserver.resources import ResourceAPI

log = logging.getLogger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_STORAGE_CLASS = "local-path"


def ensure_defaults(api: ResourceAPI, *, advertise_ip: str, port: int, dns: bool = False) -> None:
    namespaces = by_path("", "v1", "namespaces")
    for name in DEFAULT_NAMESPACES:
        if api.store.get(namespaces.store_key(None, name)) is None:
            api.create(namespaces, None, {"metadata": {"name": name}})
            log.info("created namespace %s", name)
    classes = by_path("networking.k8s.io", "v1", "ingressclasses")
    if api.store.get(classes.store_key(None, KAJITORI_CLASS)) is None:
        api.create(
            classes,
            None,
            {
                "metadata": {"name": KAJITORI_CLASS, "annotations": {networking.DEFAULT_CLASS_ANNOTATION: "true"}},
                "spec": {"controller": KAJITORI_CONTROLLER},
            },
        )
        log.info("created the default IngressClass %s", KAJITORI_CLASS)
    _ensure_default_storage_class(api)
    accounts = by_path("", "v1", "serviceaccounts")
    for name in DEFAULT_NAMESPACES:
        if api.store.get(accounts.store_key(name, "default")) is None:
            api.create(accounts, name, {"metadata": {"name": "default"}})
    services = by_path("", "v1", "services")
    if api.store.get(services.store_key("default", "kubernetes")) is None:
        api.create(
            services,
            "default",
            {
                "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {
                    "clusterIP": allocators.API_SERVICE_IP,
                    "ports": [{"name": "https", "port": 443, "targetPort": port, "protocol": "TCP"}],
                },
            },
        )
    _ensure_endpoints(
        api,
        "default",
        "kubernetes",
        [{"addresses": [{"ip": advertise_ip}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    )
    if dns:
        if api.store.get(services.store_key("kube-system", "kube-dns")) is None:
            api.create(
                services,
                "kube-system",
                {
                    "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns"}},
                    "spec": {
                        "clusterIP": allocators.DNS_SERVICE_IP,
                        "ports": [
                            {"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                        ],
                    },
                },
            )
        _ensure_endpoints(
            api,
            "kube-system",
            "kube-dns",
            [
                {
                    "addresses": [{"ip": advertise_ip}],
                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
                }
            ],
        )


def _ensure_default_storage_class(api: ResourceAPI) -> None:
    """``local-path``, as k3s ships it: a directory on the node the first pod lands on (master/controllers/persistentvolume.py).

    Made only when the cluster has no StorageClass at all: an administrator's own classes are left alone.
    """
    classes = by_path("storage.k8s.io", "v1", "storageclasses")
    if api.store.list(classes.collection)[0]:
        return
    api.create(
        classes,
        None,
        {
            "metadata": {"name": DEFAULT_STORAGE_CLASS, "annotations": {storage.DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    )
    log.info("created the default StorageClass %s", DEFAULT_STORAGE_CLASS)


def _ensure_endpoints(api: ResourceAPI, namespace: str, name: str, subsets: list[dict[str, object]]) -> None:
    """Made with this master's address when missing, never rewritten here: with several masters
    each start overwrote the others' addresses. ``master.master_endpoints`` keeps them from
    the masters' Leases once the API answers."""
    endpoints = by_path("", "v1", "endpoints")
    body = {
        "metadata": {"name": name, "namespace": namespace},
        "subsets": subsets,
    }
    try:
        if api.store.get(endpoints.store_key(namespace, name)) is None:
            api.create(endpoints, namespace, body)
    except ApiError as exc:
        log.warning("could not write the %s/%s endpoints: %s", namespace, name, exc.message)


def ensure_rbac_defaults(api: ResourceAPI) -> None:
    """Kubernetes' default ClusterRoles and ClusterRoleBindings (``master.apiserver.authz.defaults``).

    Missing ones are created; existing ones still annotated ``rbac.authorization.kubernetes.io/autoupdate:
    "true"`` get the rules (or subjects) of this version, as kube-apiserver reconciles them at start, so
    a master upgraded in place grants what its own components now need. An aggregated role's
    rules are the aggregation controller's, and a role whose annotation someone set to "false" is theirs.
    """
    for plural, objects, fields in (
        ("clusterroles", cluster_roles(), ("rules",)),
        ("clusterrolebindings", cluster_role_bindings(), ("roleRef", "subjects")),
    ):
        resource = by_path("rbac.authorization.k8s.io", "v1", plural)
        for obj in objects:
            stored = api.store.get(resource.store_key(None, obj["metadata"]["name"]))
            if stored is None:
                api.create(resource, None, obj)
                continue
            current = stored.obj
            autoupdate = ((current.get("metadata") or {}).get("annotations") or {}).get("rbac.authorization.kubernetes.io/autoupdate")
            if autoupdate != "true" or obj.get("aggregationRule") or all(current.get(f) == obj.get(f) for f in fields):
                continue
            updated = {**current, **{f: obj[f] for f in fields}}
            api.update(resource, None, obj["metadata"]["name"], updated)
            log.info("updated default %s %s", resource.kind, obj["metadata"]["name"])

"""What every cluster has from its first second: the default namespaces, their ``default``
ServiceAccounts (the ServiceAccounts controller keeps them afterwards, and makes those of new
namespaces), the API's Service, the default IngressClass and StorageClass, the default RBAC roles.

Every master makes them at start, and several masters may start together on one empty
etcd: each create is etcd's compare-and-create, so one master's create wins and another's
answers AlreadyExists. That is success here (``_create``). A master's cache may also lag
the winner's write, and its create can then fail on what it did not see yet (the
``kubernetes`` Service's IP "already allocated", a namespace not yet in the cache), so on
a refused create the cache is first brought up to etcd's current revision
(``catch_up``) and the object looked for again. Only when it is still missing is the
error real. Without this the losing master exited at start, and systemd's Restart=always
hid it.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kajitori.api import networking, storage
from kajitori.api.networking import KAJITORI_CLASS, KAJITORI_CONTROLLER
from kajitori.api.registry import Resource, by_path
from kajitori.api.storage import LOCAL_PATH_PROVISIONER
from master import allocators
from master.apiserver.authz.defaults import cluster_role_bindings, cluster_roles
from master.apiserver.consistent_reads import catch_up
from master.apiserver.errors import ApiError
from master.apiserver.resources import DeleteOptions, ResourceAPI

CATCH_UP_S = 10.0  # how long a master waits for its cache to reach etcd's revision at start

log = logging.getLogger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_STORAGE_CLASS = "local-path"


def ensure_defaults(api: ResourceAPI, *, advertise_ip: str, port: int, dns: bool = False) -> None:
    namespaces = by_path("", "v1", "namespaces")
    for name in DEFAULT_NAMESPACES:
        made = api.store.get(namespaces.store_key(None, name)) is None and _create(api, namespaces, None, {"metadata": {"name": name}})
        if made:
            log.info("created namespace %s", name)
    classes = by_path("networking.k8s.io", "v1", "ingressclasses")
    if api.store.get(classes.store_key(None, KAJITORI_CLASS)) is None:
        _create(
            api,
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
            _create(api, accounts, name, {"metadata": {"name": "default"}})
    services = by_path("", "v1", "services")
    if api.store.get(services.store_key("default", "kubernetes")) is None:
        _create(
            api,
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
            _create(
                api,
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
    _create(
        api,
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
            _create(api, endpoints, namespace, body)
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
                _create(api, resource, None, obj)
                continue
            current = stored.obj
            autoupdate = ((current.get("metadata") or {}).get("annotations") or {}).get("rbac.authorization.kubernetes.io/autoupdate")
            if autoupdate != "true" or obj.get("aggregationRule") or all(current.get(f) == obj.get(f) for f in fields):
                continue
            updated = {**current, **{f: obj[f] for f in fields}}
            try:
                api.update(resource, None, obj["metadata"]["name"], updated)
            except ApiError as exc:
                if exc.reason != "Conflict":
                    raise
                # Another master starting at the same time reconciled it first.
                log.info("default %s %s changed meanwhile: left to the master that wrote it", resource.kind, obj["metadata"]["name"])
                continue
            log.info("updated default %s %s", resource.kind, obj["metadata"]["name"])
    _remove_retired_defaults(api)


RETIRED_DEFAULTS = ("kajitori:legacy-node",)
"""Defaults of older versions no version grants any more: the shared node token's role and binding
(nodes have their own certificates; the token's group authenticates nobody)."""


def _remove_retired_defaults(api: ResourceAPI) -> None:
    """Deletes ``RETIRED_DEFAULTS`` still annotated ``autoupdate: "true"`` (left as they are by whoever set it to "false")."""
    for plural in ("clusterrolebindings", "clusterroles"):
        resource = by_path("rbac.authorization.k8s.io", "v1", plural)
        for name in RETIRED_DEFAULTS:
            stored = api.store.get(resource.store_key(None, name))
            annotations = ((stored.obj.get("metadata") or {}).get("annotations") or {}) if stored is not None else {}
            if annotations.get("rbac.authorization.kubernetes.io/autoupdate") != "true":
                continue
            try:
                api.delete(resource, None, name, DeleteOptions())
            except ApiError as exc:
                if exc.reason != "NotFound":  # another master starting at the same time removed it first
                    raise
                continue
            log.info("removed retired default %s %s", resource.kind, name)


def _create(api: ResourceAPI, resource: Resource, namespace: str | None, obj: dict[str, Any]) -> bool:
    """Create ``obj`` unless it exists; True if this call made it, False if another master did.

    A refused create counts as done when the object exists once this master's cache has
    caught up with etcd: another master made it (AlreadyExists), or the refusal came from
    what the cache did not show yet (the kubernetes Service's IP taken by that very object).
    """
    name = obj["metadata"]["name"]
    try:
        api.create(resource, namespace, copy.deepcopy(obj))
        return True
    except ApiError as exc:
        if not catch_up(api.store, CATCH_UP_S):
            log.warning("this master's cache did not reach etcd's revision within %.0f s", CATCH_UP_S)
        if api.store.get(resource.store_key(namespace, name)) is not None:
            log.info("%s %s was made by another master", resource.kind, name)
            return False
        if exc.reason not in ("AlreadyExists", "NotFound"):
            raise
        # Refused on what the cache lacked then (its namespace), or made and deleted since: once more.
        api.create(resource, namespace, copy.deepcopy(obj))
        return True


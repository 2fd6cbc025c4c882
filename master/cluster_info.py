"""``kube-public/cluster-info``: the CA and the API address a new node reads before it trusts anything.

As kubeadm's ``bootstrap-token`` phase: a ConfigMap whose ``kubeconfig`` holds one cluster
(this cluster's public address and the CA, no user), readable by ``system:anonymous``
through Role ``kubeadm:bootstrap-signer-clusterinfo`` and its RoleBinding in
``kube-public``, and nothing else readable anonymously (``master.apiserver.gate``). The
bootstrap signer (``master.controllers.bootstrap_signer``) adds one JWS per signing token;
``kajitori node join --token ... --discovery-token-ca-cert-hash ...`` without a CA file
reads it, checks the signature with its token and the CA with the pin
(``kajitori.discovery``). Written at every start: the kubeconfig follows the address; the
signatures of the old one are dropped (the signer makes new ones).
"""

from __future__ import annotations

import base64
import logging

import yaml

from kajitori.api.registry import Resource, by_path
from kajitori.jws import KEY_PREFIX
from master.apiserver.errors import ApiError
from master.apiserver.resources import ResourceAPI

log = logging.getLogger(__name__)

NAMESPACE = "kube-public"
NAME = "cluster-info"
ROLE = "kubeadm:bootstrap-signer-clusterinfo"
ANONYMOUS = "system:anonymous"


def kubeconfig_text(server_url: str, ca_pem: bytes) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "", "cluster": {"certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"), "server": server_url}}],
        "contexts": [],
        "users": [],
        "preferences": {},
        "current-context": "",
    }
    return yaml.safe_dump(doc, sort_keys=False)


def ensure_cluster_info(api: ResourceAPI, server_url: str, ca_pem: bytes) -> None:
    configmaps = by_path("", "v1", "configmaps")
    text = kubeconfig_text(server_url, ca_pem)
    stored = api.store.get(configmaps.store_key(NAMESPACE, NAME))
    if stored is None:
        _create(api, configmaps, {"metadata": {"name": NAME}, "data": {"kubeconfig": text}})
        log.info("created %s/%s for %s", NAMESPACE, NAME, server_url)
    elif (stored.obj.get("data") or {}).get("kubeconfig") != text:
        data = {k: v for k, v in (stored.obj.get("data") or {}).items() if not k.startswith(KEY_PREFIX)}
        try:
            api.update(configmaps, NAMESPACE, NAME, {**stored.obj, "data": {**data, "kubeconfig": text}})
        except ApiError as exc:
            if exc.code != 409:  # another master starting at the same moment wrote it first
                raise
        log.info("updated %s/%s for %s", NAMESPACE, NAME, server_url)
    roles, bindings = by_path("rbac.authorization.k8s.io", "v1", "roles"), by_path("rbac.authorization.k8s.io", "v1", "rolebindings")
    if api.store.get(roles.store_key(NAMESPACE, ROLE)) is None:
        rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": [NAME]}
        _create(api, roles, {"metadata": {"name": ROLE}, "rules": [rule]})
    if api.store.get(bindings.store_key(NAMESPACE, ROLE)) is None:
        _create(
            api,
            bindings,
            {
                "metadata": {"name": ROLE},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE},
                "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": ANONYMOUS}],
            },
        )


def _create(api: ResourceAPI, resource: Resource, body: dict[str, object]) -> None:
    """Create in kube-public; AlreadyExists is success (masters starting together on one etcd)."""
    try:
        api.create(resource, NAMESPACE, body)
    except ApiError as exc:
        if exc.code != 409:
            raise

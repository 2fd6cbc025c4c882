"""The ClusterRoles and ClusterRoleBindings every cluster starts with.

Written from Kubernetes' documented defaults ("Default roles and role bindings" in the RBAC
reference, and kube-apiserver's bootstrap policy), reduced to the kinds Kajitori serves:
``cluster-admin``, the user-facing ``admin``/``edit``/``view`` built by aggregation
(``rbac.authorization.k8s.io/aggregate-to-*`` labels, so a labelled ClusterRole extends
them), ``system:basic-user``, ``system:discovery``, ``system:public-info-viewer``,
``system:node-proxier``, ``system:kube-scheduler``, ``system:kube-controller-manager`` and
``system:volume-scheduler`` (the scheduler's claims), ``system:coredns`` (kubeadm's, bound to
the cluster DNS's ``kajitori:cluster-dns``) and ``system:node`` (unbound, as in Kubernetes >= 1.8:
nodes are authorized by the Node authorizer). Kajitori adds its own (``kajitori:`` prefix): the
rights its controllers use through the controller-manager identity, each controller's from
``controller_roles`` (Kubernetes runs each controller with its own ServiceAccount instead), the
master-endpoints loop's Leases and Endpoints, the proxy's load-balancer Leases, the ingress
controllers' (ingress-nginx's ClusterRole, reduced to what Kajitori's controller reads and
writes, bound to the ``kajitori:ingress-controller`` certificate).
Like kube-apiserver, the master creates the missing ones at every start and brings those still
annotated ``autoupdate: "true"`` to this version's rules (``master.bootstrap.ensure_rbac_defaults``).
"""

from __future__ import annotations

from typing import Any

from kajitori.bootstrap_token import GROUP as BOOTSTRAPPERS
from master.apiserver.authn import (
    AUTHENTICATED,
    CLUSTER_DNS_USER,
    INGRESS_CONTROLLER_USER,
    MASTER_ENDPOINTS_USER,
    MASTERS,
    NODES,
    SCHEDULER_USER,
)
from master.apiserver.authz.controller_roles import controller_rules

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
CERTIFICATES = "certificates.k8s.io"
CSRS = "certificatesigningrequests"
INGRESS_CONTROLLER_ROLE = "kajitori:ingress-controller"
MASTER_ENDPOINTS_ROLE = "kajitori:master-endpoints"


def rule(
    verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def urls(verbs: list[str], paths: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "nonResourceURLs": paths}


def _role(
    name: str,
    rules: list[dict[str, Any]],
    *,
    labels: dict[str, str] | None = None,
    aggregate: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    }
    role: dict[str, Any] = {"metadata": meta, "rules": rules}
    if aggregate:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE}{aggregate}": "true"}}]
        }
        role["rules"] = []
    return role


def _binding(name: str, role: str, subjects: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": who} for kind, who in subjects
        ],
    }


_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

NODE_RULES = [
    rule(READ, [""], ["nodes"]),
    rule(["create", "update", "patch", "delete"], [""], ["nodes"]),
    rule(["update", "patch"], [""], ["nodes/status"]),
    rule(READ, [""], ["pods", "services", "endpoints"]),
    rule(["delete"], [""], ["pods"]),
    rule(["update", "patch"], [""], ["pods/status"]),
    rule(["create"], [""], ["pods/eviction"]),
    rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"]),
    rule(["get"], [""], ["secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"]),
    rule(["get", "create", "update", "patch", "delete"], ["coordination.k8s.io"], ["leases"]),
    rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
    rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews", "localsubjectaccessreviews"]),
    # A node renews its own client certificate (the approver checks selfnodeclient).
    rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]),
]
"""Kubernetes' ``system:node`` rules, reduced to the kinds served; the Node authorizer narrows them per node."""

_VIEW_CORE = [
    "pods", "pods/status", "pods/log", "services", "services/status", "endpoints", "configmaps",
    "persistentvolumeclaims", "persistentvolumeclaims/status", "serviceaccounts", "events",
    "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
    "limitranges", "resourcequotas", "resourcequotas/status", "bindings", "namespaces", "namespaces/status",
]  # fmt: skip
_APPS = [
    "daemonsets",
    "deployments",
    "deployments/scale",
    "replicasets",
    "replicasets/scale",
    "statefulsets",
    "statefulsets/scale",
]


def cluster_roles() -> list[dict[str, Any]]:
    return [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])], labels={}),
        _role("system:discovery", [urls(["get"], _DISCOVERY_URLS)]),
        _role("system:public-info-viewer", [urls(["get"], _PUBLIC_URLS)]),
        _role(
            "system:basic-user",
            [
                rule(
                    ["create"],
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ),
                rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
            ],
        ),
        _role("admin", [], aggregate="admin"),
        _role("edit", [], aggregate="edit", labels={f"{AGGREGATE}admin": "true"}),
        _role("view", [], aggregate="view", labels={f"{AGGREGATE}edit": "true"}),
        _role(
            "system:aggregate-to-admin",
            [
                rule([*READ, *WRITE], ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
                rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
            ],
            labels={f"{AGGREGATE}admin": "true"},
        ),
        _role(
            "system:aggregate-to-edit",
            [
                rule(
                    READ,
                    [""],
                    [
                        "pods/attach",
                        "pods/exec",
                        "pods/portforward",
                        "pods/proxy",
                        "secrets",
                        "services/proxy",
                    ],
                ),
                rule(["impersonate"], [""], ["serviceaccounts"]),
                rule(
                    WRITE,
                    [""],
                    ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
                ),
                rule(["create"], [""], ["pods/eviction"]),
                rule(
                    WRITE,
                    [""],
                    [
                        "configmaps",
                        "events",
                        "persistentvolumeclaims",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "secrets",
                        "serviceaccounts",
                        "services",
                        "services/proxy",
                    ],
                ),
                rule(["create"], [""], ["serviceaccounts/token"]),
                rule(WRITE, ["apps"], [*_APPS, "deployments/rollback"]),
                rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
                rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
                rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
                rule(WRITE, ["coordination.k8s.io"], ["leases"]),
            ],
            labels={f"{AGGREGATE}edit": "true"},
        ),
        _role(
            "system:aggregate-to-view",
            [
                rule(READ, [""], _VIEW_CORE),
                rule(
                    READ,
                    ["apps"],
                    [
                        *_APPS,
                        "controllerrevisions",
                        "daemonsets/status",
                        "deployments/status",
                        "replicasets/status",
                        "statefulsets/status",
                    ],
                ),
                rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
                rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
                rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
                rule(READ, ["coordination.k8s.io"], ["leases"]),
                # metrics-server's system:aggregated-metrics-reader, aggregated to view/edit/admin
                rule(READ, ["metrics.k8s.io"], ["pods", "nodes"]),
            ],
            labels={f"{AGGREGATE}view": "true"},
        ),
        _role(
            "system:node-proxier",
            [
                rule(["list", "watch"], [""], ["endpoints", "services"]),
                rule(READ, [""], ["nodes"]),
                rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
                rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
            ],
        ),
        _role(
            "system:kube-scheduler",
            [
                rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
                rule(["create"], ["coordination.k8s.io"], ["leases"]),
                rule(["get", "update"], ["coordination.k8s.io"], ["leases"], ["kube-scheduler"]),
                rule(READ, [""], ["nodes", "namespaces"]),
                rule(["delete", *READ], [""], ["pods"]),
                rule(["create"], [""], ["bindings", "pods/binding"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(
                    ["list", "watch"],
                    [""],
                    ["replicationcontrollers", "services", "persistentvolumeclaims", "persistentvolumes"],
                ),
                rule(["list", "watch"], ["apps"], ["replicasets", "statefulsets"]),
                rule(["list", "watch"], ["policy"], ["poddisruptionbudgets"]),
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            ],
        ),
        _role(
            "system:kube-controller-manager",
            [
                rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
                rule(["create"], ["coordination.k8s.io"], ["leases"]),
                rule(["get", "update"], ["coordination.k8s.io"], ["leases"], ["kube-controller-manager"]),
                rule(["create"], [""], ["endpoints", "secrets", "serviceaccounts"]),
                rule(["delete"], [""], ["secrets"]),
                rule(["get"], [""], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
                rule(["update"], [""], ["secrets", "serviceaccounts"]),
                rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
                rule(["list", "watch"], ["*"], ["*"]),
                rule(["create"], [""], ["serviceaccounts/token"]),
            ],
        ),
        _role("system:node", NODE_RULES),
        # Node bootstrap, as Kubernetes' bootstrap policy: a bootstrap token may ask for a node
        # certificate; nodeclient and selfnodeclient are what the CSR approver checks (by a
        # SubjectAccessReview of the requester) before approving a new node's or a renewal.
        _role("system:node-bootstrapper", [rule(["create", "get", "list", "watch"], [CERTIFICATES], [CSRS])]),
        _role(f"system:certificates.k8s.io:{CSRS}:nodeclient", [rule(["create"], [CERTIFICATES], [f"{CSRS}/nodeclient"])]),
        _role(f"system:certificates.k8s.io:{CSRS}:selfnodeclient", [rule(["create"], [CERTIFICATES], [f"{CSRS}/selfnodeclient"])]),
        _role(
            "system:certificates.k8s.io:kube-apiserver-client-approver",
            [rule(["approve"], [CERTIFICATES], ["signers"], ["kubernetes.io/kube-apiserver-client"])],
        ),
        _role(
            "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
            [rule(["approve"], [CERTIFICATES], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet"])],
        ),
        _role(
            "system:volume-scheduler",
            [
                rule([*READ, "update", "patch"], [""], ["persistentvolumes", "persistentvolumeclaims"]),
                rule(READ, ["storage.k8s.io"], ["storageclasses"]),
            ],
        ),
        # Each controller's own rules (controller_roles), held by the controller-manager user.
        _role("kajitori:controllers", controller_rules()),
        # kubeadm's CoreDNS role: what the cluster DNS reads to answer names.
        _role(
            "system:coredns",
            [
                rule(["list", "watch"], [""], ["endpoints", "services", "pods", "namespaces"]),
                rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
            ],
        ),
        # Each master's Lease and the Endpoints of the Services that point at the masters
        # (kube-apiserver does this on its own loopback identity; here it is a loop of its own).
        _role(
            MASTER_ENDPOINTS_ROLE,
            [
                rule([*READ, "create", "update", "delete"], ["coordination.k8s.io"], ["leases"]),
                rule(["create"], [""], ["endpoints"]),
                rule(["get", "update"], [""], ["endpoints"], ["kubernetes", "kube-dns"]),
            ],
        ),
        _role(
            "kajitori:proxy-leases",
            [
                rule(
                    ["get", "list", "watch", "create", "update", "patch", "delete"],
                    ["coordination.k8s.io"],
                    ["leases"],
                )
            ],
        ),
        # ingress-nginx's ClusterRole (its deploy manifests), for what Kajitori's controller
        # watches (Ingresses, IngressClasses, Services, Endpoints, TLS Secrets) and writes
        # (Ingress status, Events); no leader election, so no Leases.
        _role(
            INGRESS_CONTROLLER_ROLE,
            [
                rule(["list", "watch"], [""], ["configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"]),
                rule(["get"], [""], ["nodes"]),
                rule(READ, [""], ["services"]),
                rule(READ, ["networking.k8s.io"], ["ingresses", "ingressclasses"]),
                rule(["update"], ["networking.k8s.io"], ["ingresses/status"]),
                rule(["create", "patch"], ["", "events.k8s.io"], ["events"]),
                rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
            ],
        ),
    ]


def cluster_role_bindings() -> list[dict[str, Any]]:
    return [
        _binding("cluster-admin", "cluster-admin", [("Group", MASTERS)]),
        _binding("system:discovery", "system:discovery", [("Group", AUTHENTICATED)]),
        _binding("system:basic-user", "system:basic-user", [("Group", AUTHENTICATED)]),
        _binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [("Group", AUTHENTICATED), ("Group", "system:unauthenticated")],
        ),
        _binding("system:node-proxier", "system:node-proxier", [("User", "system:kube-proxy")]),
        _binding("system:kube-scheduler", "system:kube-scheduler", [("User", "system:kube-scheduler")]),
        _binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            [("User", "system:kube-controller-manager")],
        ),
        _binding("system:volume-scheduler", "system:volume-scheduler", [("User", SCHEDULER_USER)]),
        _binding(
            "kajitori:controllers", "kajitori:controllers", [("User", "system:kube-controller-manager")]
        ),
        _binding("system:coredns", "system:coredns", [("User", CLUSTER_DNS_USER)]),
        _binding(MASTER_ENDPOINTS_ROLE, MASTER_ENDPOINTS_ROLE, [("User", MASTER_ENDPOINTS_USER)]),
        _binding("kajitori:proxy-leases", "kajitori:proxy-leases", [("User", "system:kube-proxy")]),
        _binding(INGRESS_CONTROLLER_ROLE, INGRESS_CONTROLLER_ROLE, [("User", INGRESS_CONTROLLER_USER)]),
        # kubeadm's three bindings of node bootstrap (kubeadm:kubelet-bootstrap,
        # kubeadm:node-autoapprove-bootstrap, kubeadm:node-autoapprove-certificate-rotation).
        _binding("kajitori:kubelet-bootstrap", "system:node-bootstrapper", [("Group", BOOTSTRAPPERS)]),
        _binding(
            "kajitori:node-autoapprove-bootstrap", f"system:certificates.k8s.io:{CSRS}:nodeclient", [("Group", BOOTSTRAPPERS)]
        ),
        _binding(
            "kajitori:node-autoapprove-certificate-rotation",
            f"system:certificates.k8s.io:{CSRS}:selfnodeclient",
            [("Group", NODES)],
        ),
    ]

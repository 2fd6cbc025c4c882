"""What each of Kajitori's controllers may do: the rules of ``kajitori:controllers``.

Kubernetes gives each controller its own ClusterRole (``system:controller:<name>`` in
kube-apiserver's bootstrap policy) and, with ``--use-service-account-credentials``, its own
ServiceAccount. Kajitori's controllers run in one loop set as ``system:kube-controller-manager``
(``master.loops``), so that user holds the union of the per-controller rules below, each
written from what the controller reads and writes here (the kinds Kajitori serves), not
more. Reading is ``system:kube-controller-manager``'s own ``list``/``watch`` of everything;
these rules add the writes and the live GETs. What no controller needs stays refused: creating
Nodes, Roles or bindings, ``pods/exec`` and the other streams, ``nodes/proxy``, impersonation,
approving or signing for other signers.
"""

from __future__ import annotations

from typing import Any

from kajitori.api.registry import RESOURCES

Rule = dict[str, Any]
READ = ["get", "list", "watch"]
EVENTS = ["create", "update", "patch"]
CERTIFICATES = "certificates.k8s.io"
KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> Rule:
    out: Rule = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def _served(verbs: list[str], *, namespaced_only: bool) -> list[Rule]:
    """``verbs`` on every kind the API serves (no subresources: ``*`` would also grant
    ``nodes/proxy`` and ``pods/exec``), one rule per group."""
    by_group: dict[str, list[str]] = {}
    for resource in RESOURCES:
        if resource.namespaced or not namespaced_only:
            by_group.setdefault(resource.group, []).append(resource.plural)
    return [rule(verbs, [group], sorted(plurals)) for group, plurals in sorted(by_group.items())]


_OWNED_PODS = rule(["list", "watch", "create", "delete", "patch"], [""], ["pods"])  # create, remove, adopt/release

CONTROLLER_RULES: dict[str, list[Rule]] = {
    "replicaset": [
        rule([*READ, "update"], ["apps"], ["replicasets"]),
        rule(["update"], ["apps"], ["replicasets/status"]),
        rule([*READ, "update"], [""], ["replicationcontrollers"]),
        rule(["update"], [""], ["replicationcontrollers/status"]),
        _OWNED_PODS,
    ],
    "deployment": [
        rule([*READ, "update", "patch"], ["apps"], ["deployments"]),
        rule(["update"], ["apps"], ["deployments/status"]),
        rule([*READ, "create", "update", "patch", "delete"], ["apps"], ["replicasets"]),
        rule(["list", "watch"], [""], ["pods"]),
    ],
    "daemonset": [
        rule(READ, ["apps"], ["daemonsets"]),
        rule(["update"], ["apps"], ["daemonsets/status"]),
        rule(["list", "watch"], [""], ["nodes"]),
        _OWNED_PODS,
        rule([*READ, "create", "update", "patch", "delete"], ["apps"], ["controllerrevisions"]),
    ],
    "job": [
        rule([*READ, "update", "patch", "delete"], ["batch"], ["jobs"]),  # delete: ttlSecondsAfterFinished
        rule(["update"], ["batch"], ["jobs/status"]),
        _OWNED_PODS,
    ],
    "cronjob": [
        rule([*READ, "update"], ["batch"], ["cronjobs"]),
        rule(["update"], ["batch"], ["cronjobs/status"]),
        rule([*READ, "create", "update", "patch", "delete"], ["batch"], ["jobs"]),
        rule(["list", "watch", "delete"], [""], ["pods"]),
    ],
    "statefulset": [
        rule(READ, ["apps"], ["statefulsets"]),
        rule(["update"], ["apps"], ["statefulsets/status"]),
        rule([*READ, "create", "update", "patch", "delete"], [""], ["pods"]),
        rule([*READ, "create", "update", "patch", "delete"], ["apps"], ["controllerrevisions"]),
        rule([*READ, "create", "update", "delete"], [""], ["persistentvolumeclaims"]),  # delete: the retention policy
    ],
    "horizontal-pod-autoscaler": [
        rule(READ, ["autoscaling"], ["horizontalpodautoscalers"]),
        rule(["update"], ["autoscaling"], ["horizontalpodautoscalers/status"]),
        rule(["get", "update"], ["", "apps"], ["*/scale"]),
        rule(["list", "watch"], [""], ["pods"]),
        rule(["get", "list", "watch"], ["metrics.k8s.io"], ["pods"]),
    ],
    "persistentvolume": [
        rule([*READ, "create", "update", "delete"], [""], ["persistentvolumes"]),
        rule(["update"], [""], ["persistentvolumes/status"]),
        rule([*READ, "update"], [""], ["persistentvolumeclaims"]),
        rule(["update"], [""], ["persistentvolumeclaims/status"]),
        rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        rule(["list", "watch"], [""], ["pods", "nodes"]),
    ],
    "endpoints": [
        rule(READ, [""], ["services", "pods"]),
        rule([*READ, "create", "update", "delete"], [""], ["endpoints"]),
    ],
    "load-balancer": [
        rule(READ, [""], ["services"]),
        rule(["update", "patch"], [""], ["services/status"]),
    ],
    "node-lifecycle": [
        rule([*READ, "update", "patch", "delete"], [""], ["nodes"]),  # taints
        rule(["update", "patch"], [""], ["nodes/status"]),
        rule(["list", "watch", "get", "delete"], [""], ["pods"]),  # evictions
        rule(["update", "patch"], [""], ["pods/status"]),
        rule(["list", "watch"], ["coordination.k8s.io"], ["leases"]),
    ],
    "garbage-collector": [
        *_served(["get"], namespaced_only=False),  # an owner of any kind is looked up live before its dependents go
        rule(
            ["list", "watch", "patch", "update", "delete"],
            [""],
            ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers"],
        ),
        rule(
            ["list", "watch", "patch", "update", "delete"],
            ["apps"],
            ["deployments", "replicasets", "daemonsets", "statefulsets", "controllerrevisions"],
        ),
        rule(["list", "watch", "patch", "update", "delete"], ["batch"], ["jobs", "cronjobs"]),
    ],
    "namespace": [
        rule([*READ, "delete"], [""], ["namespaces"]),
        rule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
        *_served(["list", "delete", "deletecollection"], namespaced_only=True),  # what it empties
    ],
    "event-ttl": [rule(["list", "watch", "delete"], [""], ["events"])],
    "serviceaccount": [
        rule(["list", "watch"], [""], ["namespaces"]),
        rule(["list", "watch", "create"], [""], ["serviceaccounts"]),
    ],
    "clusterrole-aggregation": [
        # it writes rules it may not hold itself, so it must be allowed to escalate
        rule(["escalate", "get", "list", "watch", "update", "patch"], ["rbac.authorization.k8s.io"], ["clusterroles"]),
    ],
    "csr-approving": [
        rule(READ, [CERTIFICATES], ["certificatesigningrequests"]),
        rule(["update"], [CERTIFICATES], ["certificatesigningrequests/approval"]),
        rule(["approve"], [CERTIFICATES], ["signers"], [KUBELET_CLIENT_SIGNER]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    ],
    "csr-signing": [
        rule(READ, [CERTIFICATES], ["certificatesigningrequests"]),
        rule(["update"], [CERTIFICATES], ["certificatesigningrequests/status"]),
        rule(["sign"], [CERTIFICATES], ["signers"], [CLIENT_SIGNER, KUBELET_CLIENT_SIGNER]),
    ],
    "bootstrap-token-cleaner": [rule(["list", "watch", "delete"], [""], ["secrets"])],
    "bootstrap-signer": [
        rule(["list", "watch"], [""], ["secrets", "configmaps"]),
        rule(["get", "update"], [""], ["configmaps"], ["cluster-info"]),  # kube-public's, as upstream's Role there
    ],
    "events": [rule(EVENTS, ["", "events.k8s.io"], ["events"])],
}
"""Controller -> the rules it needs (Kubernetes' ``system:controller:*`` roles, Kajitori's kinds)."""


def controller_rules() -> list[Rule]:
    """The union of every controller's rules, in a stable order."""
    return [r for name in CONTROLLER_RULES for r in CONTROLLER_RULES[name]]

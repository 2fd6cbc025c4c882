"""RBAC grants the tests make with the admin's client: a ClusterRole bound in one namespace."""

from __future__ import annotations

from kajitori.api.registry import by_name
from kajitori.client import AlreadyExistsError, ApiClient


def bind_cluster_role(admin: ApiClient, namespace: str, cluster_role: str, *, group: str = "", service_account: str = "") -> None:
    """A RoleBinding in ``namespace`` granting ``cluster_role`` to a group or a ServiceAccount of it (kept if there)."""
    subject = (
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}
        if group
        else {"kind": "ServiceAccount", "name": service_account, "namespace": namespace}
    )
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"test-{cluster_role}-{group or service_account}".replace(":", "-")[:63].rstrip("-")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [subject],
    }
    try:
        admin.create_raw(by_name("rolebindings"), body, namespace)
    except AlreadyExistsError:
        pass

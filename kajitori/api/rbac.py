"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from kajitori.api.meta import KubeModel, LabelSelector, TypedObject


class PolicyRule(KubeModel):
    """Verbs allowed on resources (or on non-resource URLs); a ``*`` matches anything."""

    verbs: list[str]
    """The verbs allowed: get, list, watch, create, update, patch, delete, deletecollection, or others such as impersonate, bind, escalate."""
    apiGroups: list[str] | None = None
    """The API groups of the resources ("" is the core group)."""
    resources: list[str] | None = None
    """The resources, a subresource as ``pods/exec``, every resource's subresource as ``*/scale``."""
    resourceNames: list[str] | None = None
    """Only objects of these names (empty: every name)."""
    nonResourceURLs: list[str] | None = None
    """URL paths that are no resource (``/healthz``, ``/apis/*``), in ClusterRoles only."""


class AggregationRule(KubeModel):
    """Which ClusterRoles' rules an aggregated ClusterRole holds."""

    clusterRoleSelectors: list[LabelSelector] | None = None
    """ClusterRoles matching any of these selectors give their rules."""


class Subject(KubeModel):
    """Who a binding grants its role to: a User, a Group or a ServiceAccount."""

    kind: str
    """User, Group or ServiceAccount."""
    name: str
    """The user's, group's or ServiceAccount's name."""
    apiGroup: str | None = None
    """rbac.authorization.k8s.io for users and groups, "" for ServiceAccounts."""
    namespace: str | None = None
    """The ServiceAccount's namespace."""


class RoleRef(KubeModel):
    """The Role or ClusterRole a binding grants."""

    apiGroup: str
    """rbac.authorization.k8s.io."""
    kind: str
    """Role or ClusterRole."""
    name: str
    """The role's name."""


class Role(TypedObject):
    """Rules within one namespace, granted by RoleBindings there."""

    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "Role"
    rules: list[PolicyRule] | None = None
    """What the role allows."""


class ClusterRole(TypedObject):
    """Rules over the whole cluster (or within a namespace when a RoleBinding grants it)."""

    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "ClusterRole"
    rules: list[PolicyRule] | None = None
    """What the role allows (filled by the server for an aggregated role)."""
    aggregationRule: AggregationRule | None = None
    """When set, the role holds the rules of the ClusterRoles it selects."""


class RoleBinding(TypedObject):
    """Grants a Role, or a ClusterRole, to subjects within the binding's namespace."""

    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "RoleBinding"
    subjects: list[Subject] | None = None
    """Who is granted the role."""
    roleRef: RoleRef = Field(...)
    """The role granted; it cannot be changed."""


class ClusterRoleBinding(TypedObject):
    """Grants a ClusterRole to subjects over the whole cluster."""

    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "ClusterRoleBinding"
    subjects: list[Subject] | None = None
    """Who is granted the role."""
    roleRef: RoleRef = Field(...)
    """The ClusterRole granted; it cannot be changed."""

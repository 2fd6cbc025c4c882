"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from kajitori.api.meta import KubeModel, LabelSelector, TypedObject


class PolicyRule(KubeModel):
    verbs: list[str]
    apiGroups: list[str] | None = None
    resources: list[str] | None = None
    resourceNames: list[str] | None = None
    nonResourceURLs: list[str] | None = None


class AggregationRule(KubeModel):
    clusterRoleSelectors: list[LabelSelector] | None = None


class Subject(KubeModel):
    kind: str
    name: str
    apiGroup: str | None = None
    namespace: str | None = None


class RoleRef(KubeModel):
    apiGroup: str
    kind: str
    name: str


class Role(TypedObject):
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "Role"
    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    rules: list[PolicyRule] | None = None


class ClusterRole(TypedObject):
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "ClusterRole"
    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    rules: list[PolicyRule] | None = None
    aggregationRule: AggregationRule | None = None


class RoleBinding(TypedObject):
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "RoleBinding"
    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    subjects: list[Subject] | None = None
    roleRef: RoleRef = Field(...)


class ClusterRoleBinding(TypedObject):
    apiVersion: str | None = "rbac.authorization.k8s.io/v1"
    kind: str | None = "ClusterRoleBinding"
    NAME_RULE: ClassVar[Literal["subdomain", "label", "path"]] = "path"
    subjects: list[Subject] | None = None
    roleRef: RoleRef = Field(...)

"""The RBAC authorizer: Roles, ClusterRoles and their bindings, indexed by subject.

The index is rebuilt from the store's memory the first time a decision needs it after
any RBAC object changed (a store watch on the four collections only marks it stale), so a
decision costs a few dict lookups: the bindings of the user's name and of each of its
groups, then the rules of the roles they name. ClusterRoles with an ``aggregationRule``
get the rules of every ClusterRole their selectors match, here and in what the API
serves (``aggregate_cluster_role``), as Kubernetes' aggregation controller fills them.
A ServiceAccount subject is the user ``system:serviceaccount:<ns>:<name>``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kajitori.api.meta import LabelSelector
from master.apiserver.authn import UserInfo
from master.apiserver.authz.attributes import Attributes
from master.apiserver.authz.rules import Rule, rules_allow
from master.store import Store, StoreEvent

GROUP = "rbac.authorization.k8s.io"
ROLES = f"/{GROUP}/roles"
CLUSTER_ROLES = f"/{GROUP}/clusterroles"
ROLE_BINDINGS = f"/{GROUP}/rolebindings"
CLUSTER_ROLE_BINDINGS = f"/{GROUP}/clusterrolebindings"
COLLECTIONS = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)

Subject = tuple[str, str]  # ("User", name) or ("Group", name)
DECISION_CACHE = 50_000


def subject_key(subject: dict[str, Any], binding_namespace: str) -> Subject | None:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return ("User", f"system:serviceaccount:{namespace}:{subject.get('name', '')}")
    if kind in ("User", "Group"):
        return (kind, str(subject.get("name", "")))
    return None


def user_subjects(user: UserInfo) -> list[Subject]:
    return [("User", user.name), *(("Group", g) for g in user.groups)]


def _selector_matches(selectors: list[Any], labels: dict[str, str]) -> bool:
    for selector in selectors:
        try:
            parsed = LabelSelector.model_validate(selector)
        except ValidationError:
            continue
        if not parsed.is_empty() and parsed.matches(labels):
            return True
    return False


def aggregated_rules(role: dict[str, Any], all_roles: Iterable[dict[str, Any]]) -> list[Rule] | None:
    """The rules an aggregated ClusterRole holds (None when it has no aggregationRule)."""
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors")
    if selectors is None:
        return None
    rules: list[Rule] = []
    own = role["metadata"]["name"]
    for other in sorted(all_roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == own:
            continue
        if _selector_matches(selectors, other["metadata"].get("labels") or {}):
            for rule in other.get("rules") or []:
                if rule not in rules:
                    rules.append(rule)
    return rules


def effective_cluster_rules(cluster_roles: list[dict[str, Any]]) -> dict[str, list[Rule]]:
    """Each ClusterRole's rules, aggregated ones filled through chains (``edit`` holds ``view``'s)."""
    effective = {r["metadata"]["name"]: list(r.get("rules") or []) for r in cluster_roles}
    aggregated = [r for r in cluster_roles if (r.get("aggregationRule") or {}).get("clusterRoleSelectors") is not None]
    for _ in range(len(aggregated) + 1):  # a fixed point; each pass lets one more level of a chain through
        changed = False
        as_objects = [{"metadata": r["metadata"], "rules": effective[r["metadata"]["name"]]} for r in cluster_roles]
        for role in aggregated:
            rules = aggregated_rules(role, as_objects) or []
            if rules != effective[role["metadata"]["name"]]:
                effective[role["metadata"]["name"]] = rules
                changed = True
        if not changed:
            break
    return effective


@dataclass
class RBACIndex:
    roles: dict[tuple[str, str], list[Rule]] = field(default_factory=dict)
    cluster_roles: dict[str, list[Rule]] = field(default_factory=dict)
    cluster_bindings: dict[Subject, list[str]] = field(default_factory=lambda: defaultdict(list))
    bindings: dict[tuple[str, Subject], list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """(namespace, subject) -> [(roleRef kind, name)]"""
    decisions: dict[tuple[Any, ...], bool] = field(default_factory=dict)
    """Answers already given by this index (a new index starts empty): one dict lookup for a repeated request."""

    @classmethod
    def build(cls, store: Store) -> RBACIndex:
        index = cls()
        cluster_roles = [o.obj for o in store.list(CLUSTER_ROLES)[0]]
        index.cluster_roles = effective_cluster_rules(cluster_roles)
        for stored in store.list(ROLES)[0]:
            meta = stored.obj["metadata"]
            index.roles[(meta.get("namespace", ""), meta["name"])] = list(stored.obj.get("rules") or [])
        for stored in store.list(CLUSTER_ROLE_BINDINGS)[0]:
            ref = stored.obj.get("roleRef") or {}
            for subject in stored.obj.get("subjects") or []:
                key = subject_key(subject, "")
                if key is not None and ref.get("kind") == "ClusterRole":
                    index.cluster_bindings[key].append(ref.get("name", ""))
        for stored in store.list(ROLE_BINDINGS)[0]:
            ns = stored.obj["metadata"].get("namespace", "")
            ref = stored.obj.get("roleRef") or {}
            for subject in stored.obj.get("subjects") or []:
                key = subject_key(subject, ns)
                if key is not None:
                    index.bindings[(ns, key)].append((ref.get("kind", ""), ref.get("name", "")))
        return index

    def _role_rules(self, namespace: str, kind: str, name: str) -> list[Rule]:
        if kind == "ClusterRole":
            return self.cluster_roles.get(name, [])
        return self.roles.get((namespace, name), [])

    def allows(self, attrs: Attributes) -> bool:
        user = attrs.user
        key = (user.name, user.groups, attrs.verb, attrs.api_group, attrs.namespace, attrs.resource, attrs.subresource, attrs.name, attrs.path)
        answer = self.decisions.get(key)
        if answer is None:
            if len(self.decisions) >= DECISION_CACHE:
                self.decisions.clear()
            answer = self.decisions[key] = self._allows(attrs)
        return answer

    def _allows(self, attrs: Attributes) -> bool:
        subjects = user_subjects(attrs.user)
        for subject in subjects:
            for role in self.cluster_bindings.get(subject, ()):
                if rules_allow(self.cluster_roles.get(role, ()), attrs):
                    return True
        if attrs.namespace:
            for subject in subjects:
                for kind, name in self.bindings.get((attrs.namespace, subject), ()):
                    if rules_allow(self._role_rules(attrs.namespace, kind, name), attrs):
                        return True
        return False

    def rules_for(self, user: UserInfo, namespace: str) -> list[Rule]:
        """Every rule the user holds in the namespace ("" for the cluster scope only)."""
        rules: list[Rule] = []
        subjects = user_subjects(user)
        for subject in subjects:
            for role in self.cluster_bindings.get(subject, ()):
                rules.extend(self.cluster_roles.get(role, ()))
        if namespace:
            for subject in subjects:
                for kind, name in self.bindings.get((namespace, subject), ()):
                    rules.extend(self._role_rules(namespace, kind, name))
        return rules


class RBACAuthorizer:
    """The index of one store, rebuilt lazily after RBAC writes (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stale = True
        self._index = RBACIndex()
        revision = store.revision
        self._subs = [store.watch(c, revision, self._changed) for c in COLLECTIONS]

    def _changed(self, event: StoreEvent) -> None:
        self._stale = True

    def index(self) -> RBACIndex:
        if self._stale:
            with self._lock:
                if self._stale:
                    self._stale = False  # before the build: a write during it marks it stale again
                    self._index = RBACIndex.build(self.store)
        return self._index

    def allows(self, attrs: Attributes) -> bool:
        return self.index().allows(attrs)

    def close(self) -> None:
        for sub in self._subs:
            sub.cancel()

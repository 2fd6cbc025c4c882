"""Authorization, the API server's second gate: may this user do this.

`Authorizer.decide` asks, in order, as kube-apiserver's ``--authorization-mode=Node,RBAC``
with its built-in ``system:masters`` shortcut: members of ``system:masters`` may do
everything; the Node authorizer (``node.py``) allows a node's own identity what nodes
need; RBAC (``rbac.py``) allows what Roles and ClusterRoles bound to the user or its
groups grant. Nothing allowed is a 403 in Kubernetes' words (``attributes.forbidden_message``).
Decisions read in-memory indexes kept current by store watches, so one is a few dict
lookups (``bench/api`` measures its p99).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from master.apiserver.authn import MASTERS, UserInfo
from master.apiserver.authz.attributes import Attributes, forbidden_message
from master.apiserver.authz.node import NodeAuthorizer, NodeGraph
from master.apiserver.authz.rbac import RBACAuthorizer
from master.store import Store

current_user: ContextVar[UserInfo | None] = ContextVar("kajitori_current_user", default=None)
"""The authenticated (or impersonated) user of the request being served; None when auth is off."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)
NO_OPINION = Decision(False)


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.rbac = RBACAuthorizer(store)
        self.graph = NodeGraph(store)
        self.nodes = NodeAuthorizer(self.graph)

    def decide(self, attrs: Attributes) -> Decision:
        if MASTERS in attrs.user.groups:
            return ALLOWED
        allowed, reason = self.nodes.decide(attrs)
        if allowed or self.rbac.allows(attrs):
            return ALLOWED
        return Decision(False, reason) if reason else NO_OPINION

    def allows(self, attrs: Attributes) -> bool:
        return self.decide(attrs).allowed

    def close(self) -> None:
        self.rbac.close()
        self.graph.close()


__all__ = ["Attributes", "Authorizer", "Decision", "current_user", "forbidden_message"]

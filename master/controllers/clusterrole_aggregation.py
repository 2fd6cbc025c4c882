"""ClusterRole aggregation: a ClusterRole with an ``aggregationRule`` holds the rules of every
ClusterRole its selectors match, as Kubernetes' clusterrole-aggregation controller keeps them.

Any ClusterRole change may change any aggregated role, so every event enqueues the keys
of all aggregated ClusterRoles in the cache (a few: ``admin``, ``edit``, ``view``); each
reconcile computes the union (``master.apiserver.authz.rbac.aggregated_rules``: matching
roles by name, rules de-duplicated in order) and writes it only when it differs. The
authorizer aggregates the same way on its own, so decisions never wait for this loop; it
makes ``kubectl get clusterrole view -o yaml`` show what ``view`` allows.
"""

from __future__ import annotations

import logging

from kajitori.api.rbac import ClusterRole, PolicyRule
from kajitori.client import NotFoundError
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.apiserver.authz.rbac import aggregated_rules
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)


class ClusterRoleAggregationController:
    def __init__(self, ctx: LoopContext) -> None:
        self.ctx = ctx
        self.roles = ctx.informers.informer(ClusterRole)
        self.controller = Controller("clusterrole-aggregation", self.reconcile, informers=[self.roles])
        self.roles.add_handlers(
            lambda _role: self._enqueue_aggregated(),
            lambda _old, _new: self._enqueue_aggregated(),
            lambda _role: self._enqueue_aggregated(),
        )

    def _enqueue_aggregated(self) -> None:
        for role in self.roles.list():
            if role.aggregationRule is not None:
                self.controller.enqueue(object_key(role))

    def reconcile(self, key: str) -> None:
        role = self.roles.get(key)
        if role is None or role.aggregationRule is None:
            return
        everyone = [r.to_dict() for r in self.roles.list()]
        wanted = aggregated_rules(role.to_dict(), everyone) or []
        current = [r.to_dict() for r in role.rules or []]
        if current == wanted:
            return
        updated = role.model_copy(deep=True)
        updated.rules = [PolicyRule.model_validate(r) for r in wanted]
        try:
            self.ctx.client.update(updated)  # a Conflict raises: requeued, the next event brings the newer role
        except NotFoundError:
            return
        log.info("clusterrole %s now aggregates %d rules", key, len(wanted))

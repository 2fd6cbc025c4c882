"""The ServiceAccounts controller: every namespace that is not terminating has a ``default`` ServiceAccount.

As kube-controller-manager's ``serviceaccount-controller``: a namespace added or changed, or
a ``default`` ServiceAccount deleted, puts the namespace's name on the queue; reconcile(name)
creates ``default`` there when the cache has none. A namespace being deleted gets none (the
namespace controller is emptying it). Creating one that already exists (the cache lagged) is
not an error.
"""

from __future__ import annotations

from kajitori.api.core import Namespace, ServiceAccount
from kajitori.api.meta import ObjectMeta
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.controller import Controller
from master.controllers.context import LoopContext

DEFAULT = "default"


class ServiceAccountsController:
    def __init__(self, ctx: LoopContext, *, workers: int = 1) -> None:
        self.client = ctx.client
        self.namespaces = ctx.informers.informer(Namespace)
        self.accounts = ctx.informers.informer(ServiceAccount)
        self.controller = Controller("serviceaccount", self.reconcile, informers=[self.namespaces, self.accounts], workers=workers)
        self.namespaces.add_handlers(self._on_namespace, lambda _old, new: self._on_namespace(new))
        self.accounts.add_handlers(on_delete=self._on_account_deleted)

    def _on_namespace(self, ns: Namespace) -> None:
        self.controller.enqueue(ns.metadata.name or "")

    def _on_account_deleted(self, sa: ServiceAccount) -> None:
        if sa.metadata.name == DEFAULT:
            self.controller.enqueue(sa.metadata.namespace or "")

    def reconcile(self, name: str) -> None:
        ns = self.namespaces.get(name)
        if ns is None or ns.metadata.deletionTimestamp or (ns.status and ns.status.phase == "Terminating"):
            return
        if self.accounts.get(f"{name}/{DEFAULT}") is not None:
            return
        try:
            self.client.create(ServiceAccount(metadata=ObjectMeta(name=DEFAULT, namespace=name)), name)
        except (AlreadyExistsError, NotFoundError):
            return  # already made (the cache lagged), or the namespace went meanwhile

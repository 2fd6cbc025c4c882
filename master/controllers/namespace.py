"""The namespace controller: a Terminating namespace is emptied, then finalized.

reconcile(name) acts only on a namespace with ``deletionTimestamp``: it lists every
namespaced resource in it (live lists, not caches: it must see every kind the API
serves, including ones no informer watches) and deletes what it finds, then, when
nothing is left, removes the ``kubernetes`` spec finalizer through
``PUT /api/v1/namespaces/{name}/finalize``, after which the API server deletes the
namespace. While objects remain (pods whose agents are stopping them) it looks
again every second.
"""

from __future__ import annotations

import logging

from kajitori.api.core import Namespace
from kajitori.api.registry import RESOURCES, by_model
from kajitori.client import ApiError, NotFoundError
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

NAMESPACES = by_model(Namespace)
RECHECK_S = 1.0


class NamespaceController:
    def __init__(self, ctx: LoopContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.namespaces = ctx.informers.informer(Namespace)
        self.controller = Controller("namespace", self.reconcile, informers=[self.namespaces], workers=workers)
        self.namespaces.add_handlers(self._on_namespace, lambda _o, n: self._on_namespace(n))

    def _on_namespace(self, ns: Namespace) -> None:
        if ns.metadata.deletionTimestamp:
            self.controller.enqueue(object_key(ns))

    def reconcile(self, name: str) -> None:
        ns = self.namespaces.get(name)
        if ns is None or not ns.metadata.deletionTimestamp:
            return
        remaining = 0
        for resource in RESOURCES:
            if not resource.namespaced:
                continue
            try:
                items = self.client.list_raw(resource, name).get("items") or []
            except NotFoundError:
                continue
            for item in items:
                remaining += 1
                meta = item.get("metadata") or {}
                if meta.get("deletionTimestamp"):
                    continue
                try:
                    self.client.delete_raw(resource, meta["name"], name)
                except NotFoundError:
                    remaining -= 1
                except ApiError as exc:
                    log.warning("namespace %s: deleting %s %s: %s", name, resource.kind, meta["name"], exc.message)
        if remaining:
            raise Requeue(RECHECK_S)
        if "kubernetes" not in (ns.spec.finalizers or []):
            return
        body = ns.model_copy(deep=True)
        body.spec.finalizers = []
        try:
            self.client.request("PUT", NAMESPACES.path(None, name, "finalize"), body=body.to_dict())
        except NotFoundError:
            return
        log.info("namespace %s is empty: finalized", name)

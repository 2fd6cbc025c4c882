"""The API server's rules for v1 Namespaces: a new one is Active with the `kubernetes` finalizer.

A namespace being deleted goes only once the namespace controller has emptied it and
removed `spec.finalizers`.
"""

from __future__ import annotations

from master.apiserver.strategies.base import Obj, Strategy


class NamespaceStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {}) or {}
        obj["spec"] = spec
        spec.setdefault("finalizers", ["kubernetes"])

    def begin_deletion(self, obj: Obj) -> bool:
        """A namespace with spec.finalizers is Terminating until its controller has emptied it."""
        if not (obj.get("spec") or {}).get("finalizers"):
            return False
        obj.setdefault("status", {})["phase"] = "Terminating"
        return True

    def ready_to_delete(self, obj: Obj) -> bool:
        return super().ready_to_delete(obj) and not (obj.get("spec") or {}).get("finalizers")

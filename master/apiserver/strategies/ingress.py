"""The API server's rules for networking.k8s.io/v1 Ingress and IngressClass.

An Ingress created without ``spec.ingressClassName`` (and without the old
``kubernetes.io/ingress.class`` annotation) gets the default IngressClass's name, as
Kubernetes' DefaultIngressClass admission plugin gives it: the class annotated
``ingressclass.kubernetes.io/is-default-class: "true"``, the newest if several are. A
client may not write an Ingress's status at create (the ingress controller's, through
/status). An IngressClass's controller is immutable. The shapes (paths, pathType, hosts,
backends) are the model's rules (kajitori.api.networking), 422 naming the field.
"""

from __future__ import annotations

from kajitori.api.networking import DEFAULT_CLASS_ANNOTATION
from kajitori.api.registry import Resource, by_path
from master.apiserver.strategies.base import Obj, Strategy
from master.store import Store

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def default_class(store: Store) -> str | None:
    """The name of the default IngressClass (the newest of them), or None."""
    classes = store.list(by_path("networking.k8s.io", "v1", "ingressclasses").collection)[0]
    defaults = [
        c.obj["metadata"]
        for c in classes
        if ((c.obj["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) or "").lower() == "true"
    ]
    if not defaults:
        return None
    newest = max(defaults, key=lambda meta: (meta.get("creationTimestamp") or "", meta.get("name") or ""))
    name = newest.get("name")
    return name if isinstance(name, str) else None


class IngressStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        annotations = obj.get("metadata", {}).get("annotations") or {}
        if spec.get("ingressClassName") or LEGACY_CLASS_ANNOTATION in annotations:
            return
        name = default_class(store)
        if name is not None:
            spec["ingressClassName"] = name


class IngressClassStrategy(Strategy):
    immutable_fields = ("controller",)

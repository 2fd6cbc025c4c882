"""The API server's rules for v1 Nodes: the pod CIDR is allocated once and never changes.

A Node keeps the status it registers with (the agent creates it with its facts).
"""

from __future__ import annotations

import logging

from kajitori.api.registry import Resource
from master import allocators
from master.apiserver.strategies.base import FieldError, Obj, Strategy
from master.store import Store

log = logging.getLogger(__name__)


class NodeStrategy(Strategy):
    allocates = True

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        old_cidr = (old.get("spec") or {}).get("podCIDR")
        new_spec = new.setdefault("spec", {})
        if old_cidr and new_spec.get("podCIDR") in (None, ""):
            new_spec["podCIDR"] = old_cidr
            new_spec["podCIDRs"] = [old_cidr]
        elif old_cidr and new_spec.get("podCIDR") != old_cidr:
            raise FieldError("spec.podCIDR", "may not change once assigned")

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("podCIDR"):
            return
        taken = [n.obj.get("spec", {}).get("podCIDR") for n in store.list(resource.collection)[0]]
        try:
            cidr = allocators.allocate_pod_cidr(c for c in taken if c)
        except allocators.AllocationError as exc:
            # As Kubernetes' CIDR allocator: the node registers, it just gets no pod network.
            log.warning("node %s gets no pod CIDR: %s", obj["metadata"].get("name"), exc)
            return
        spec["podCIDR"] = cidr
        spec["podCIDRs"] = [cidr]

"""The shape of a per-kind rule set of the API server (Kubernetes' "strategy"), and its error.

The generic verbs in ``master.apiserver.resources`` call a kind's `Strategy` at fixed points
of a write; every hook of the base class does nothing, so a kind overrides only the rules
it has (what a create may not set, which fields are immutable, which numbers the server
allocates, how long a deletion is graceful). Hooks work on the object's dict, read other
objects from the store they are given, and raise `FieldError` naming the field when a rule
is broken; the verbs turn that into a 422 Invalid.

Order of the hooks in a create: prepare_for_create → model validation → validate →
after_validate_create. In an update (not of the status subresource): prepare_for_update →
model validation → immutable fields → validate → after_validate_update. A delete asks
deletion_grace and begin_deletion; an update of an object being deleted asks ready_to_delete.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from kajitori.api.registry import Resource
from master.store import Store

Obj = dict[str, Any]


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Strategy:
    """The rules of one kind; every hook is a no-op, so a kind without rules uses this class as is."""

    allocates: ClassVar[bool] = False
    """The kind's hooks pick values from what is stored (free IPs, ports, CIDRs): its writes on
    one master run one at a time (``master.apiserver.writes``), so two never pick the same; across
    masters on etcd, a create carries the kind's allocation fence (``master.store.etcd``)."""
    allocates_on_update: ClassVar[bool] = False
    """An update may pick new values too (a Service's new NodePorts): it carries the fence as well."""

    immutable_fields: ClassVar[tuple[str, ...]] = ()
    """Fields of ``spec`` an update may not change, compared with both sides defaulted ("field is immutable")."""

    def merge_subresource(self, subresource: str, new: Obj, old: Obj) -> Obj:
        """An update through ``status`` (or another status-like subresource, such as a
        CertificateSigningRequest's ``approval``): ``old`` with what the subresource may change
        taken from ``new``. The base replaces the whole status; a kind narrows it and raises
        `FieldError` for a change its subresource may not make."""
        merged = copy.deepcopy(old)
        merged["status"] = new.get("status")
        if merged["status"] is None:
            merged.pop("status")
        return merged

    def prepare_for_create(self, obj: Obj) -> None:
        """Before validation of a create: clear what a client may not set (status, most often)."""

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Before validation of a spec update: keep what the server set and a client left out."""

    def check_immutable(self, new: Obj, old: Obj) -> None:
        """After model validation of a spec update (so a manifest sent back without the server's
        defaults changes nothing): `immutable_fields` unchanged."""
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        for field in self.immutable_fields:
            if new_spec.get(field) != old_spec.get(field):
                raise FieldError(f"spec.{field}", "field is immutable")

    def validate(self, obj: Obj) -> None:
        """After model validation (defaults applied): rules the model alone cannot express."""

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        """After validation, the uid assigned: what the server allocates or derives (IPs, ports, selectors)."""

    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        """After validation of an update (both sides defaulted): allocations and rules across old and new."""

    def ready_to_delete(self, obj: Obj) -> bool:
        """After an update: is an object that is being deleted now free to go?

        Its finalizers must all be gone; kinds that also wait for something else say so.
        """
        meta = obj.get("metadata") or {}
        return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers")

    def deletion_grace(self, obj: Obj, requested: int | None) -> int | None:
        """Seconds a deletion is graceful for, or None when the object can go at once."""
        return None

    def begin_deletion(self, obj: Obj) -> bool:
        """A delete that is about to be stored: mark ``obj`` as going where its kind shows that.

        True when the kind itself holds the object beyond ``metadata.finalizers`` (so it is
        stored with a deletionTimestamp instead of removed); ready_to_delete says when it may go.
        """
        return False

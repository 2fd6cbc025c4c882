"""The verbs of the API (create, get, list, update, patch, delete, bind, evict, scale) over the store.

This is what Kubernetes calls the registry: one generic implementation for every
resource, plus the few per-kind rules of ``strategies`` (one Strategy per kind). Each verb either writes one
whole, validated object or raises an ``ApiError`` and writes nothing. It knows
nothing of HTTP: the routes in ``app`` turn requests into these calls.

Writes take a ``FieldValidation`` (the request's ``fieldValidation`` parameter): fields
the kind's model neither models nor names as an unmodelled Kubernetes field refuse a
Strict write and earn a Warn write one warning each; the object is kept as sent in
both Warn and Ignore. Internal callers pass none and are not checked.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import functools
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from pydantic import ValidationError

from kajitori.api.apps import Scale
from kajitori.api.core import Binding
from kajitori.api.meta import KubeModel, LabelSelector, Status, StatusCause, StatusDetails
from kajitori.api.registry import Resource, by_kind, by_path
from kajitori.api.selectors import FieldQuery, LabelQuery
from kajitori.clock import Clock
from master.apiserver import errors
from master.apiserver.body import BodyError, check_tree
from master.apiserver.consistent_reads import catch_up
from master.apiserver.managed_fields import ApplyPlan, Writer, track_update
from master.apiserver.patch import PatchError, apply_patch
from master.apiserver.strategies import FieldError, strategy_for
from master.store import AllocationRaced, AlreadyExists, Conflict, Fence, NotFound, Store, StoredObject

log = logging.getLogger(__name__)

NAMESPACES = by_path("", "v1", "namespaces")
PODS = by_path("", "v1", "pods")
_INT64_MAX = 2**63 - 1
ALLOCATION_TRIES = 16  # an allocating write raced by other masters' allocations this often answers 409
W = TypeVar("W", bound=Callable[..., Any])
# Called with (old or None, new) once ``new`` is validated: sets its managedFields, or refuses the write.
Track = Callable[[dict[str, Any] | None, dict[str, Any]], None]
# Metadata only the server writes; a client's update cannot change them.
_SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None  # Background | Foreground | Orphan
    precondition_uid: str | None = None
    precondition_rv: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any] | None, query: DeleteOptions) -> DeleteOptions:
        body = body or {}
        pre = body.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("preconditions must be an object")
        grace = body.get("gracePeriodSeconds", query.grace_period_seconds)
        policy = body.get("propagationPolicy", query.propagation_policy)
        if body.get("orphanDependents") is True and policy is None:
            policy = "Orphan"
        if policy is not None and policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f"propagationPolicy {policy!r} must be one of Background, Foreground, Orphan")
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= _INT64_MAX):
            raise errors.bad_request("gracePeriodSeconds must be a non-negative integer")
        uid, rv = pre.get("uid"), pre.get("resourceVersion")
        if not isinstance(uid, str | None) or not isinstance(rv, str | None):
            raise errors.bad_request("preconditions.uid and preconditions.resourceVersion must be strings")
        return cls(grace, policy, uid, rv)


FieldDirective = Literal["Ignore", "Warn", "Strict"]
FIELD_DIRECTIVES: tuple[FieldDirective, ...] = ("Ignore", "Strict", "Warn")


@dataclass
class FieldValidation:
    """What a write does with unknown fields (``?fieldValidation=``), and the warnings it earned.

    Without the parameter a write is Warn, as in kube-apiserver since 1.23, so clients
    that never send it (kubectl 1.20, the official Python client) still hear of typos.
    """

    directive: FieldDirective = "Warn"
    warnings: builtins.list[str] = dataclasses.field(default_factory=builtins.list)

    @classmethod
    def from_query(cls, value: str | None) -> FieldValidation:
        if value in (None, ""):
            return cls()
        for directive in FIELD_DIRECTIVES:
            if value == directive:
                return cls(directive)
        supported = ", ".join(f'"{d}"' for d in FIELD_DIRECTIVES)
        raise errors.ApiError(
            422,
            "Invalid",
            f'fieldValidation: Unsupported value: "{value}": supported values: {supported}',
            causes=[StatusCause(reason="FieldValueNotSupported", field="fieldValidation", message=f"Unsupported value: {value!r}")],
        )

    def check(self, resource: Resource, name: str | None, model: KubeModel, old: dict[str, Any] | None) -> None:
        """Refuse (Strict) or note (Warn) the fields of ``model`` Kubernetes does not have."""
        if self.directive == "Ignore":
            return
        unknown = model.unknown_fields()
        if unknown and old is not None:
            # Fields an earlier write kept (with a warning) are not this request's doing.
            try:
                before = set(resource.model.model_validate(old).unknown_fields())
            except ValidationError:
                before = set()
            unknown = [path for path in unknown if path not in before]
        if not unknown:
            return
        if self.directive == "Strict":
            raise errors.strict_decoding(resource, name, unknown)
        for path in unknown:
            text = errors.unknown_field(path)
            if text not in self.warnings:
                self.warnings.append(text)


def _parse_rv(value: Any) -> int | None:
    if value is None or value in ("", "0"):
        return None
    # A string of digits only: int() would also take 1.5, True, " 7" or "1_0".
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 19:
        raise errors.bad_request(f"resourceVersion {str(value)[:64]!r} is not a valid resource version")
    return int(value)


def _names(value: Any) -> set[str]:
    """The strings of a list that should hold strings (finalizers) before validation has seen it."""
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's metadata, for reading before validation: {} when absent, not an object or null."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _check_name(resource: Resource, name: str, obj: dict[str, Any]) -> None:
    """kube-apiserver's checkName for an update or a patched object: the body names the URL's object
    (no metadata, or no name, is the name "" and does not)."""
    body_name = _metadata(obj).get("name")
    if body_name != name:
        shown = body_name if isinstance(body_name, str) else ""
        raise errors.ApiError(
            400,
            "BadRequest",
            f"the name of the object ({shown}) does not match the name on the URL ({name})",
            name=name,
            resource=resource,
            causes=[StatusCause(reason="FieldValueInvalid", field="metadata.name", message=f"Invalid value: must be {name!r}")],
        )


def _strip_rv(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}


def _check_preconditions(resource: Resource, name: str, meta: dict[str, Any], options: DeleteOptions) -> None:
    if options.precondition_uid and options.precondition_uid != meta.get("uid"):
        raise errors.conflict(
            resource,
            name,
            f"Precondition failed: UID in precondition: {options.precondition_uid}, UID in object meta: {meta.get('uid')}",
        )
    if options.precondition_rv and options.precondition_rv != meta.get("resourceVersion"):
        raise errors.conflict(resource, name, "Precondition failed: resourceVersion mismatch")


def check_result(resource: Resource, name: str | None, obj: dict[str, Any]) -> None:
    """A patched object within the bounds of a body (size, depth), else 422: patches must not grow it without end."""
    try:
        check_tree(obj)
    except BodyError as exc:
        raise errors.field_invalid(resource, name, exc.field or "metadata", f"the patched object is invalid: {exc.message}") from None


def _allocating(write: W) -> W:
    """Run a write again when another master's allocation committed first (``AllocationRaced``).

    The write starts over from the request (the body is copied, the object re-read), so the
    next try allocates from a cache that holds the other master's numbers.
    """

    @functools.wraps(write)
    def run(self: ResourceAPI, resource: Resource, *args: Any, **kwargs: Any) -> Any:
        for _ in range(ALLOCATION_TRIES - 1):
            try:
                return write(self, resource, *args, **kwargs)
            except AllocationRaced:
                log.info("%s allocation raced another API server's: allocating again", resource.kind)
        try:
            return write(self, resource, *args, **kwargs)
        except AllocationRaced:
            raise errors.ApiError(
                409, "Conflict", f"{resource.plural}: other API servers kept allocating at the same time; please try again"
            ) from None

    return cast(W, run)


class ResourceAPI:
    def __init__(self, store: Store, *, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.admit: Callable[[Resource, dict[str, Any], dict[str, Any] | None], None] | None = None
        """Admission that needs the request's user (``master.apiserver.authz.admission``): after validation, before the store."""

    # -- helpers ---------------------------------------------------------------

    def _allocation_fence(self, resource: Resource, *, updating: bool) -> Fence | None:
        """The fence an allocating write carries on a store shared by several masters (read before it allocates)."""
        strategy = strategy_for(resource)
        if not strategy.allocates or (updating and not strategy.allocates_on_update):
            return None
        fence = getattr(self.store, "allocation_fence", None)
        return fence(resource.plural) if callable(fence) else None

    def key(self, resource: Resource, namespace: str | None, name: str) -> str:
        return resource.store_key(namespace, name)

    def load(self, resource: Resource, namespace: str | None, name: str) -> StoredObject:
        stored = self.store.get(self.key(resource, namespace, name))
        if stored is None:
            raise errors.not_found(resource, name)
        return stored

    def _require_namespace(self, resource: Resource, namespace: str | None, *, creating: bool) -> None:
        if not resource.namespaced:
            return
        if not namespace:
            raise errors.bad_request(f"{resource.plural} are namespaced: a namespace is required")
        ns = self.store.get(NAMESPACES.store_key(None, namespace))
        if ns is None and catch_up(self.store):
            # Made through another master a moment ago? kube-apiserver's NamespaceLifecycle
            # looks a namespace missing from its cache up in etcd; here the cache catches up.
            ns = self.store.get(NAMESPACES.store_key(None, namespace))
        if ns is None:
            raise errors.not_found(NAMESPACES, namespace)
        if creating and ns.obj.get("metadata", {}).get("deletionTimestamp"):
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{resource.plural} "..." is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
            )

    def validate(
        self,
        resource: Resource,
        obj: dict[str, Any],
        *,
        fields: FieldValidation | None = None,
        old: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Validate and default through the kind's model; the stored shape is the model's dump.

        With ``fields``, unknown fields are refused or warned about (those ``old`` already had are not).
        """
        name = _metadata(obj).get("name")
        try:
            model = resource.model.model_validate(obj)
        except ValidationError as exc:
            raise errors.from_validation_error(resource, name, exc) from None
        if fields is not None:
            fields.check(resource, name, model, old)
        return model.to_dict()

    def _prepare(self, resource: Resource, obj: dict[str, Any], hook: Callable[[], None]) -> None:
        """Run a strategy hook on the unvalidated ``obj``; if its shape breaks the hook, the model says why.

        The hooks read the dict before the model has seen it (``spec`` may be a number,
        ``containers`` a boolean); a hook that trips over such a shape is answered with
        the model's own 422 naming the field, never a 500.
        """
        try:
            hook()
        except (AttributeError, TypeError, KeyError, IndexError, ValueError):
            # Also for a FieldError: "limits.cpu: must be a quantity" says more than "spec is immutable".
            self.validate(resource, obj)  # raises the 422 that names the field
            raise  # the object is valid: the hook's own refusal, or its bug (a 500)

    def _check_kind(self, resource: Resource, body: dict[str, Any], expected_kind: str | None = None) -> None:
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        want_kind = expected_kind or resource.kind
        for field, value in (("kind", kind), ("apiVersion", api_version)):
            if value is not None and not isinstance(value, str):
                raise errors.bad_request(f"{field} must be a string, not {type(value).__name__}")
        if kind is not None and kind != want_kind:
            raise errors.bad_request(f"the kind of the provided object ({kind}) does not match the resource ({want_kind})")
        if api_version is not None and expected_kind is None and api_version != resource.api_version:
            try:
                by_kind(api_version, kind or resource.kind)
            except LookupError:
                raise errors.bad_request(
                    f'no matches for kind "{kind or resource.kind}" in version "{api_version}"'
                ) from None
            raise errors.bad_request(f"apiVersion {api_version} does not match {resource.api_version}")

    def _set_namespace(self, resource: Resource, meta: dict[str, Any], namespace: str | None) -> None:
        if resource.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)

    # -- create ----------------------------------------------------------------

    @_allocating
    def create(
        self,
        resource: Resource,
        namespace: str | None,
        body: Any,
        *,
        fields: FieldValidation | None = None,
        manager: str | None = None,
        track: Track | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON or YAML object")
        self._check_kind(resource, body)
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.field_invalid(resource, None, "metadata", "must be an object")
        self._set_namespace(resource, meta, namespace)
        self._require_namespace(resource, namespace, creating=True)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if prefix is not None and not isinstance(prefix, str):
                raise errors.field_invalid(resource, None, "metadata.generateName", "must be a string")
            if not prefix:
                raise errors.invalid(
                    resource,
                    None,
                    [errors.StatusCause(reason="FieldValueRequired", field="metadata.name", message="Required value: name or generateName is required")],
                )
            alphabet = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' alphabet: no vowels, no look-alikes
            meta["name"] = prefix + "".join(secrets.choice(alphabet) for _ in range(5))
        for field in (*_SERVER_FIELDS, "resourceVersion"):
            meta.pop(field, None)
        strategy = strategy_for(resource)
        self._prepare(resource, obj, lambda: strategy.prepare_for_create(obj))
        obj = self.validate(resource, obj, fields=fields)
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock.rfc3339()
        if resource.has_status:
            meta["generation"] = 1
        try:
            strategy.validate(obj)
            fence = self._allocation_fence(resource, updating=False)
            strategy.after_validate_create(self.store, resource, obj)
        except FieldError as exc:
            raise errors.field_invalid(resource, meta["name"], exc.field, exc.message) from None
        if self.admit is not None:
            self.admit(resource, obj, None)
        (track or self._tracker(resource, meta["name"], manager, None))(None, obj)
        try:
            stored = self.store.create(self.key(resource, namespace, meta["name"]), obj, fence=fence)
        except AlreadyExists:
            raise errors.already_exists(resource, meta["name"]) from None
        log.debug("created %s %s/%s rv=%d", resource.kind, namespace or "", meta["name"], stored.rv)
        return stored.obj

    # -- read ------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str | None, name: str) -> StoredObject:
        return self.load(resource, namespace, name)

    def list(
        self, resource: Resource, namespace: str | None, labels: LabelQuery, fields: FieldQuery
    ) -> tuple[list[StoredObject], int]:
        items, revision = self.store.list(resource.collection, namespace if resource.namespaced else None)
        if labels or fields:
            items = [
                o for o in items if labels.matches(o.obj.get("metadata", {}).get("labels")) and fields.matches(o.obj)
            ]
        items.sort(key=lambda o: o.key)
        return items, revision

    # -- update ----------------------------------------------------------------

    @_allocating
    def update(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None = None,
        *,
        fields: FieldValidation | None = None,
        manager: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON or YAML object")
        self._check_kind(resource, body)
        _check_name(resource, name, body)
        old = self.load(resource, namespace, name)
        expected = _parse_rv(_metadata(body).get("resourceVersion"))
        track = self._tracker(resource, name, manager, subresource)
        return self._write_update(resource, namespace, name, copy.deepcopy(body), old, subresource, expected, fields, track)

    @_allocating
    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        subresource: str | None = None,
        *,
        fields: FieldValidation | None = None,
        manager: str | None = None,
    ) -> dict[str, Any]:
        old = self.load(resource, namespace, name)
        try:
            patched = apply_patch(content_type, copy.deepcopy(old.obj), patch)
        except PatchError as exc:
            raise errors.ApiError(422, "Invalid", f"the patch does not apply: {exc}") from None
        # The patch was bounded as a body; what it makes of the object is bounded the same way.
        check_result(resource, name, patched)
        _check_name(resource, name, patched)
        # A patch that names a resourceVersion is a precondition; otherwise it applies to what it read.
        wanted = _metadata(patched).get("resourceVersion")
        expected = _parse_rv(wanted) if wanted != old.obj["metadata"].get("resourceVersion") else old.rv
        track = self._tracker(resource, name, manager, subresource)
        return self._write_update(resource, namespace, name, patched, old, subresource, expected, fields, track)

    @_allocating
    def apply(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        config: Any,
        subresource: str | None = None,
        *,
        manager: str,
        force: bool = False,
        fields: FieldValidation | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply (``managed_fields.ApplyPlan``): (the object, created?). Creates what does not exist."""
        if not isinstance(config, dict):
            raise errors.bad_request("the applied configuration must be a YAML or JSON object")
        for field in ("apiVersion", "kind"):
            if not isinstance(config.get(field), str) or not config[field]:
                raise errors.bad_request(f"{field}: Required value: an applied configuration names its {field}")
        self._check_kind(resource, config)
        meta = config.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.field_invalid(resource, name, "metadata", "must be an object")
        if _metadata(config).get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({_metadata(config).get('name')}) does not match the name on the URL ({name})")
        writer = Writer(manager, self.clock.rfc3339(), subresource or "", force)
        live = self.store.get(self.key(resource, namespace, name))
        if live is None:
            if subresource:
                raise errors.not_found(resource, name)
            plan = ApplyPlan.make(resource, name, None, config, writer)
            plan.merged.setdefault("metadata", {})["name"] = name
            return self.create(resource, namespace, plan.merged, fields=fields, track=plan.finish), True
        plan = ApplyPlan.make(resource, name, live.obj, config, writer)
        wanted = _metadata(config).get("resourceVersion")
        expected = _parse_rv(wanted) if wanted is not None else live.rv
        return self._write_update(resource, namespace, name, plan.merged, live, subresource, expected, fields, plan.finish), False

    def _tracker(self, resource: Resource, name: str, manager: str | None, subresource: str | None) -> Track:
        """The managedFields step of a write that is not an apply: the manager's Update entry."""
        writer = Writer(manager, self.clock.rfc3339(), subresource or "")
        return lambda old, new: track_update(resource, name, old, new, writer)

    def _write_update(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        new: dict[str, Any],
        old: StoredObject,
        subresource: str | None,
        expected_rv: int | None,
        fields: FieldValidation | None = None,
        track: Track | None = None,
    ) -> dict[str, Any]:
        if expected_rv is not None and expected_rv != old.rv:
            raise errors.conflict(resource, name)
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        if meta.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        self._set_namespace(resource, meta, namespace)
        old_obj = old.obj
        strategy = strategy_for(resource)
        # status, and approval of CertificateSigningRequests: the kind's strategy says what they change.
        status_like = subresource in ("status", "approval")
        if status_like:
            try:
                merged = strategy.merge_subresource(subresource or "", new, old_obj)
            except FieldError as exc:
                raise errors.field_invalid(resource, name, exc.field, exc.message) from None
        else:
            merged = new
            merged["apiVersion"], merged["kind"] = resource.api_version, resource.kind
            if "status" in resource.subresources:
                if "status" in old_obj:
                    merged["status"] = copy.deepcopy(old_obj["status"])
                else:
                    merged.pop("status", None)
            for field in _SERVER_FIELDS:
                if field in old_obj["metadata"]:
                    meta[field] = old_obj["metadata"][field]
                else:
                    meta.pop(field, None)
            if old_obj["metadata"].get("deletionTimestamp") and _names(meta.get("finalizers")) - _names(
                old_obj["metadata"].get("finalizers")
            ):
                raise errors.field_invalid(
                    resource, name, "metadata.finalizers", "no new finalizers can be added if the object is being deleted"
                )
        meta.pop("resourceVersion", None)
        try:
            if not status_like:

                self._prepare(resource, merged, lambda: strategy.prepare_for_update(merged, old_obj))
        except FieldError as exc:
            raise errors.field_invalid(resource, name, exc.field, exc.message) from None
        validated = self.validate(resource, merged, fields=fields, old=old_obj)
        try:
            if not status_like:
                strategy.check_immutable(validated, old_obj)
            strategy.validate(validated)
            fence = self._allocation_fence(resource, updating=True)
            strategy.after_validate_update(self.store, resource, validated, old_obj)
        except FieldError as exc:
            raise errors.field_invalid(resource, name, exc.field, exc.message) from None
        if self.admit is not None:
            self.admit(resource, validated, old_obj)
        if resource.has_status and validated.get("spec") != old_obj.get("spec"):
            validated["metadata"]["generation"] = old_obj["metadata"].get("generation", 1) + 1
        (track or self._tracker(resource, name, None, subresource))(old_obj, validated)
        key = self.key(resource, namespace, name)
        if validated == _strip_rv(old_obj) and not self.store.is_stale(key):
            # A no-op write keeps the resourceVersion, as in Kubernetes; unless the stored bytes
            # are encrypted with an older provider: then it rewrites them (key rotation).
            return old_obj
        try:
            if strategy.ready_to_delete(validated):
                # The last finalizer is gone: the object goes now.
                return self.store.delete(key, expected_rv=old.rv).obj
            return self.store.update(key, validated, expected_rv=old.rv, fence=fence).obj
        except Conflict:
            raise errors.conflict(resource, name) from None
        except NotFound:
            raise errors.not_found(resource, name) from None

    # -- delete ----------------------------------------------------------------

    def delete(
        self, resource: Resource, namespace: str | None, name: str, options: DeleteOptions
    ) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting; returns (object, gone?)."""
        old = self.load(resource, namespace, name)
        _check_preconditions(resource, name, old.obj["metadata"], options)
        obj = copy.deepcopy(old.obj)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if options.propagation_policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if options.propagation_policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        strategy = strategy_for(resource)
        grace = strategy.deletion_grace(obj, options.grace_period_seconds)
        held = strategy.begin_deletion(obj)
        key = self.key(resource, namespace, name)
        if grace or finalizers or held:
            if meta.get("deletionTimestamp"):
                current = meta.get("deletionGracePeriodSeconds")
                if current is not None and grace is not None and grace < current:
                    meta["deletionTimestamp"] = self.clock.rfc3339(grace)
                    meta["deletionGracePeriodSeconds"] = grace
                elif finalizers == list(meta.get("finalizers") or []):
                    return old.obj, False  # already going: deleting again changes nothing
            else:
                meta["deletionTimestamp"] = self.clock.rfc3339(grace or 0)
                meta["deletionGracePeriodSeconds"] = grace or 0
            meta["finalizers"] = finalizers or None
            if meta["finalizers"] is None:
                del meta["finalizers"]
            if grace == 0 and not finalizers and not held:
                return self.store.delete(key, expected_rv=old.rv).obj, True
            try:
                stored = self.store.update(key, obj, expected_rv=old.rv)
            except Conflict:
                raise errors.conflict(resource, name) from None
            log.info("deleting %s %s/%s gracefully (grace %ss, finalizers %s)", resource.kind, namespace or "", name, grace, finalizers)
            return stored.obj, False
        stored = self.store.delete(key, expected_rv=old.rv)
        log.info("deleted %s %s/%s", resource.kind, namespace or "", name)
        return stored.obj, True

    def delete_collection(
        self, resource: Resource, namespace: str | None, labels: LabelQuery, fields: FieldQuery, options: DeleteOptions
    ) -> builtins.list[dict[str, Any]]:
        items, _ = self.list(resource, namespace, labels, fields)
        deleted = []
        for item in items:
            meta = item.obj["metadata"]
            try:
                obj, _ = self.delete(resource, meta.get("namespace"), meta["name"], options)
            except errors.ApiError as exc:
                if exc.code != 404:
                    raise
                continue
            deleted.append(obj)
        return deleted

    # -- subresources ------------------------------------------------------------

    def bind(self, namespace: str, name: str, body: Any) -> Status:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a Binding object")
        body = {**body, "metadata": {**_metadata(body), "name": name, "namespace": namespace}}
        try:
            binding = Binding.model_validate(body)
        except ValidationError as exc:
            raise errors.from_validation_error(PODS, name, exc) from None
        target = binding.target
        if target.kind not in (None, "Node") or not target.name:
            raise errors.field_invalid(PODS, name, "target", "must name a Node: target.kind Node and target.name")
        old = self.load(PODS, namespace, name)
        wanted_uid = binding.metadata.uid
        if wanted_uid and wanted_uid != old.obj["metadata"].get("uid"):
            raise errors.conflict(PODS, name, "the UID of the binding does not match the pod")
        spec = old.obj.get("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict(PODS, name, f"pod {name} is already assigned to node \"{spec['nodeName']}\"")
        if old.obj["metadata"].get("deletionTimestamp"):
            raise errors.conflict(PODS, name, f"pod {name} is being deleted, cannot be assigned to a host")
        obj = copy.deepcopy(old.obj)
        obj["spec"]["nodeName"] = target.name
        status = obj.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": self.clock.rfc3339()})
        status["conditions"] = conditions
        try:
            self.store.update(self.key(PODS, namespace, name), obj, expected_rv=old.rv)
        except Conflict:
            raise errors.conflict(PODS, name) from None
        return Status(status="Success", code=201, details=StatusDetails(name=name, kind="pods"))

    def evict(self, namespace: str, name: str, body: Any) -> Status:
        """``POST pods/NAME/eviction`` with a policy/v1 Eviction: a graceful delete honouring its deleteOptions.

        PodDisruptionBudgets are not modelled, so an eviction is never refused with
        429 TooManyRequests; it only marks the pod ``DisruptionTarget`` (as Kubernetes
        >= 1.26 does) and deletes it. A pod already being deleted is left as it is.
        """
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be an Eviction object")
        if body.get("kind") not in (None, "Eviction"):
            raise errors.bad_request(f"the kind of the provided object ({body.get('kind')}) does not match the resource (Eviction)")
        if body.get("apiVersion") not in (None, "policy/v1", "policy/v1beta1"):
            raise errors.bad_request(f'no matches for kind "Eviction" in version "{body.get("apiVersion")}"')
        if _metadata(body).get("name") not in (None, "", name):
            raise errors.bad_request("name in URL does not match name in Eviction object")
        raw_options = body.get("deleteOptions")
        options = DeleteOptions.from_body(raw_options if isinstance(raw_options, dict) else None, DeleteOptions())
        old = self.load(PODS, namespace, name)
        if old.obj["metadata"].get("deletionTimestamp"):
            return Status(status="Success", code=201)
        # Refused before the condition is written: nothing is stored for an eviction answered 409.
        _check_preconditions(PODS, name, old.obj["metadata"], options)
        obj = copy.deepcopy(old.obj)
        status = obj.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                           "message": "Eviction API: evicting", "lastTransitionTime": self.clock.rfc3339()})  # fmt: skip
        status["conditions"] = conditions
        try:
            self.store.update(self.key(PODS, namespace, name), obj, expected_rv=old.rv)
        except Conflict:
            raise errors.conflict(PODS, name) from None
        self.delete(PODS, namespace, name, options)
        log.info("evicted pod %s/%s", namespace, name)
        return Status(status="Success", code=201)

    def get_scale(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        obj = self.load(resource, namespace, name).obj
        meta = obj["metadata"]
        raw = obj["spec"].get("selector") or {}
        # A ReplicationController's selector is a plain map of labels.
        sel = LabelSelector.model_validate({"matchLabels": raw} if resource.kind == "ReplicationController" else raw)
        scale = Scale.model_validate(
            {
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
                "spec": {"replicas": obj["spec"].get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": sel.to_query()},
            }
        )
        return scale.to_dict()

    def update_scale(self, resource: Resource, namespace: str, name: str, body: Any, *, manager: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a Scale object")
        self._check_kind(resource, body, expected_kind="Scale")
        try:
            scale = Scale.model_validate(body)
        except ValidationError as exc:
            raise errors.from_validation_error(resource, name, exc) from None
        old = self.load(resource, namespace, name)
        expected = _parse_rv(scale.metadata.resourceVersion)
        new = copy.deepcopy(old.obj)
        new["spec"]["replicas"] = scale.spec.replicas
        self._write_update(resource, namespace, name, new, old, None, expected, track=self._tracker(resource, name, manager, "scale"))
        return self.get_scale(resource, namespace, name)

    def patch_scale(
        self, resource: Resource, namespace: str, name: str, content_type: str, patch: Any, *, manager: str | None = None
    ) -> dict[str, Any]:
        current = self.get_scale(resource, namespace, name)
        try:
            patched = apply_patch(content_type, current, patch)
        except PatchError as exc:
            raise errors.ApiError(422, "Invalid", f"the patch does not apply: {exc}") from None
        return self.update_scale(resource, namespace, name, patched, manager=manager)


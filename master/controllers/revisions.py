"""ControllerRevisions of a StatefulSet or DaemonSet: one per pod template, numbered, pruned.

``ensure_revision`` finds or makes the revision ``name`` of ``owner`` (its controlling owner
reference, the template's labels so ``kubectl rollout history`` finds it by the selector, and
Kubernetes' ``data``: the patch that puts the template back). A new one is numbered one past
the highest; a template that comes back (``kubectl rollout undo``) takes its old revision with
a new number, as Kubernetes does. ``prune_revisions`` keeps ``revisionHistoryLimit`` old ones
besides those in use.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kajitori.api.apps import ControllerRevision
from kajitori.api.meta import ObjectMeta, TypedObject
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.seams import ApiWriter, Cache
from master.controllers.pod_state import owner_reference


def revision_data(template: dict[str, Any]) -> dict[str, Any]:
    """A ControllerRevision's ``data``: the patch that puts this template back, as Kubernetes stores it."""
    return {"spec": {"template": {**template, "$patch": "replace"}}}


def template_of(data: dict[str, Any] | None) -> dict[str, Any]:
    template = dict(((data or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def owned_revisions(cache: Cache[ControllerRevision], owner: TypedObject) -> list[ControllerRevision]:
    return cache.by_index("controller-uid", owner.metadata.uid or "")


def ensure_revision(
    client: ApiWriter,
    cache: Cache[ControllerRevision],
    owner: TypedObject,
    name: str,
    template: dict[str, Any],
    *,
    labels: dict[str, str] | None,
    newest: bool,
) -> None:
    """The revision `name` of `owner` exists; with `newest`, a returning one is renumbered past the others."""
    owned = owned_revisions(cache, owner)
    highest = max((r.revision for r in owned), default=0)
    existing = next((r for r in owned if r.metadata.name == name), None)
    if existing is not None:
        if newest and existing.revision != highest:
            updated = existing.model_copy(deep=True)
            updated.revision = highest + 1
            try:
                client.update(updated)
            except NotFoundError:
                pass
        return
    body = ControllerRevision(
        metadata=ObjectMeta(
            name=name, namespace=owner.metadata.namespace, labels=dict(labels or {}) or None, ownerReferences=[owner_reference(owner)]
        ),
        data=revision_data(template),
        revision=highest + 1,
    )
    try:
        client.create(body, owner.metadata.namespace)
    except AlreadyExistsError:
        pass


def prune_revisions(
    client: ApiWriter, cache: Cache[ControllerRevision], owner: TypedObject, *, keep: int, in_use: Collection[str]
) -> None:
    """Delete the oldest revisions not in use beyond `keep` of them."""
    old = sorted((r for r in owned_revisions(cache, owner) if r.metadata.name not in in_use), key=lambda r: r.revision)
    for revision in old[: max(0, len(old) - keep)]:
        try:
            client.delete(ControllerRevision, revision.metadata.name or "", revision.metadata.namespace)
        except NotFoundError:
            pass

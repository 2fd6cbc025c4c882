"""What the controllers that own pods share: pod events turned into their owners' keys,
claiming pods (adopt and release, client-go's ControllerRefManager), and the requeue
at minReadySeconds.

`OwnedPodEvents` (ReplicaSet, DaemonSet, Job): a pod with a controller reference of
`kind` wakes that owner and counts toward its expected creations and deletions; a pod
without one (an orphan) is handed to `on_orphan`, so controllers that adopt can wake
the owners whose selector matches.

`claim_pods` (ReplicaSet, DaemonSet): an owner's pods are those with its controller
reference that its selector still matches; one that no longer matches is released
(its reference removed), and a matching orphan the owner may take is adopted (a patch
conditioned on the pod's resourceVersion, so a pod changed meanwhile is left alone).
An owner being deleted adopts nothing.

`requeue_at_min_ready`: a pod ready but not yet for minReadySeconds becomes available
later without any event; the owner looks again when the first of them does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from kajitori.api.core import Pod
from kajitori.api.meta import LabelSelector, TypedObject
from kajitori.client import ApiError, NotFoundError
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from kajitori.seams import ApiWriter, Cache, ObjectKey
from master.controllers.expectations import Expectations
from master.controllers.pod_state import controller_ref, is_available, owner_reference, ready_since

log = logging.getLogger(__name__)


class OwnedPodEvents:
    def __init__(
        self,
        kind: str,
        controller: Controller,
        expectations: Expectations,
        *,
        on_orphan: Callable[[Pod], None] | None = None,
        on_deleted: Callable[[Pod], None] | None = None,
    ) -> None:
        self.kind = kind
        self.controller = controller
        self.expectations = expectations
        self.on_orphan = on_orphan
        self.on_deleted = on_deleted

    def watch(self, pods: Cache[Pod]) -> None:
        pods.add_handlers(self.on_add, self.on_update, self.on_delete)

    def owner_key(self, pod: Pod) -> ObjectKey | None:
        ref = controller_ref(pod)
        if ref is None or ref.kind != self.kind:
            return None
        return ObjectKey(f"{pod.metadata.namespace}/{ref.name}")

    def on_add(self, pod: Pod) -> None:
        key = self.owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
            self.controller.enqueue(key)
        elif self.on_orphan is not None:
            self.on_orphan(pod)

    def on_update(self, old: Pod, new: Pod) -> None:
        key = self.owner_key(new)
        if key:
            if new.metadata.deletionTimestamp and not old.metadata.deletionTimestamp:
                self.expectations.deletion_observed(key, new.metadata.uid or "")
            self.controller.enqueue(key)
        old_key = self.owner_key(old)
        if old_key and old_key != key:
            self.controller.enqueue(old_key)  # released: the former owner may need a replacement
        if key is None and self.on_orphan is not None and old.metadata.labels != new.metadata.labels:
            self.on_orphan(new)

    def on_delete(self, pod: Pod) -> None:
        key = self.owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, pod.metadata.uid or "")
            if self.on_deleted is not None:
                self.on_deleted(pod)
            self.controller.enqueue(key)


def claim_pods(
    client: ApiWriter,
    pods: Cache[Pod],
    owner: TypedObject,
    selector: LabelSelector,
    *,
    adoptable: Callable[[Pod], bool],
) -> list[Pod]:
    """The pods `owner` controls, after adopting matching orphans that are `adoptable` and releasing strays."""
    uid = owner.metadata.uid or ""
    owned: list[Pod] = []
    for pod in pods.by_index("controller-uid", uid):
        if selector.matches(pod.metadata.labels):
            owned.append(pod)
        elif pod.metadata.deletionTimestamp is None:
            _release(client, owner, pod)
    if owner.metadata.deletionTimestamp is not None:
        return owned
    for pod in pods.by_index("namespace", owner.metadata.namespace or ""):
        if controller_ref(pod) is None and adoptable(pod) and selector.matches(pod.metadata.labels):
            adopted = _adopt(client, owner, pod)
            if adopted is not None:
                owned.append(adopted)
    return owned


def _adopt(client: ApiWriter, owner: TypedObject, pod: Pod) -> Pod | None:
    refs = [r.to_dict() for r in pod.metadata.ownerReferences or []]
    refs.append(owner_reference(owner).to_dict())
    patch = {"metadata": {"ownerReferences": refs, "resourceVersion": pod.metadata.resourceVersion}}
    try:
        return client.patch(Pod, pod.metadata.name or "", patch, pod.metadata.namespace)
    except ApiError as exc:
        log.debug("could not adopt %s: %s", object_key(pod), exc)
        return None


def _release(client: ApiWriter, owner: TypedObject, pod: Pod) -> None:
    refs = [r.to_dict() for r in pod.metadata.ownerReferences or [] if r.uid != owner.metadata.uid]
    try:
        client.patch(Pod, pod.metadata.name or "", {"metadata": {"ownerReferences": refs or None}}, pod.metadata.namespace)
    except NotFoundError:
        pass


def requeue_at_min_ready(pods: Iterable[Pod], min_ready_seconds: int, now: float) -> None:
    """Raise `Requeue` for when the first pod ready but not yet for `min_ready_seconds` becomes available."""
    if min_ready_seconds <= 0:
        return
    waits = [
        since + min_ready_seconds - now
        for p in pods
        if (since := ready_since(p)) is not None and not is_available(p, min_ready_seconds, now)
    ]
    if waits:
        raise Requeue(max(0.1, min(waits)))

"""Pod events turned into the keys of their controlling owners, with the owner's
expectations kept (client-go's pattern, shared by the ReplicaSet, DaemonSet and Job
controllers).

A pod with a controller reference of `kind` wakes that owner and counts toward its
expected creations and deletions; a pod without one (an orphan) is handed to
`on_orphan`, so controllers that adopt can wake the owners whose selector matches.
"""

from __future__ import annotations

from collections.abc import Callable

from kajitori.api.core import Pod
from kajitori.controller import Controller
from kajitori.seams import Cache, ObjectKey
from master.controllers.expectations import Expectations
from master.controllers.pod_state import controller_ref


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

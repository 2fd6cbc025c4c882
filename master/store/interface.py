"""What the API server needs from a state store, whatever keeps the bytes.

Contract (the same one etcd gives Kubernetes):
- one global revision counter; every successful write gets the next revision, which
  becomes the object's ``metadata.resourceVersion``;
- ``update``/``delete`` with ``expected_rv`` are compare-and-swap on that revision;
- a write that allocates (a ClusterIP, a NodePort, a pod CIDR picked from what is stored)
  may carry a ``Fence``: a store shared by several masters commits it only if no other
  write with the same fence committed since the fence was read (else ``AllocationRaced``,
  and the caller allocates again); a store of one master serializes those writes itself
  and ignores it;
- a write is durable before the call returns (it survives ``kill -9``);
- ``watch(collection, from_rv)`` delivers every change after ``from_rv`` in revision
  order, or raises ``TooOld`` when those changes are no longer kept; ``events_since``
  returns the kept ones without subscribing. The callback runs inside the write, so it
  must be cheap: the API server gives each collection one callback that only queues.
Objects handed out are immutable snapshots: callers copy before changing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol


class StoreError(Exception):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or has no quorum now; the caller may retry later."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The object changed since the revision the caller read (compare-and-swap failed)."""


class AllocationRaced(StoreError):
    """Another master committed an allocation after this write's fence was read: allocate again."""


class TooOld(StoreError):
    """The requested revision is older than the kept history: relist, then watch."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    rv: int
    obj: dict[str, Any]
    raw: bytes  # the JSON encoding of obj, made once and shared by every reader and watcher


@dataclass(frozen=True, slots=True)
class Fence:
    """What an allocating write read before it allocated: the revision of the last allocation of ``name``."""

    name: str  # one per range of numbers: "services", "nodes"
    revision: int


EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True, slots=True)
class StoreEvent:
    type: EventType
    rv: int
    collection: str
    current: StoredObject  # for DELETED: the last state, stamped with the deletion revision
    previous: StoredObject | None


HISTORY_EVENTS = 20_000
HISTORY_BYTES = 64 * 1024 * 1024
EVENT_OVERHEAD = (
    200  # bytes an event costs beyond its objects' JSON (the event, the dicts' share is not counted)
)


def event_bytes(event: StoreEvent) -> int:
    """What keeping ``event`` in a watch history costs, as the stores count it against ``HISTORY_BYTES``."""
    previous = len(event.previous.raw) if event.previous is not None else 0
    return len(event.current.raw) + previous + EVENT_OVERHEAD


class Subscription(Protocol):
    def cancel(self) -> None: ...


class Store(Protocol):
    @property
    def revision(self) -> int: ...

    def get(self, key: str) -> StoredObject | None: ...

    def list(self, collection: str, namespace: str | None = None) -> tuple[list[StoredObject], int]: ...

    def is_stale(self, key: str) -> bool: ...

    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> StoredObject: ...

    def update(
        self, key: str, obj: dict[str, Any], *, expected_rv: int | None = None, fence: Fence | None = None
    ) -> StoredObject: ...

    def delete(self, key: str, *, expected_rv: int | None = None) -> StoredObject: ...

    def events_since(self, collection: str, from_rv: int) -> Sequence[StoreEvent]: ...

    def watch(
        self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]
    ) -> Subscription: ...

    def close(self) -> None: ...

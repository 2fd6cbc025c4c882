"""The narrow seams a control loop is written against, as Protocols, and the key type of its queue.

A reconciler reads from a `Cache` (an informer's, or a filled fake in unit tests), writes
through an `ApiWriter` (``kajitori.client.ApiClient``, or a recording fake) and reports
through a `Recorder` (``kajitori.events.EventRecorder``, or a recording fake). Each
Protocol holds only the methods the loops call, so mypy checks the real implementation
and every fake against the same few signatures.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, NewType, Protocol, TypeVar

from kajitori.api.meta import TypedObject
from kajitori.api.registry import Resource

ObjectKey = NewType("ObjectKey", str)
"""``namespace/name``, or ``name`` for a cluster-scoped object (client-go's MetaNamespaceKey)."""

T = TypeVar("T", bound=TypedObject)


class Synced(Protocol):
    def wait_synced(self, timeout: float | None = None) -> bool:
        """True once the first full LIST is in the cache (waits at most `timeout` seconds)."""
        ...


class Cache(Synced, Protocol[T]):
    """An informer's cache of one kind: reads, indices, and handlers that turn changes into keys."""

    def get(self, key: str) -> T | None: ...

    def list(self) -> builtins.list[T]: ...

    def by_index(self, name: str, value: str) -> builtins.list[T]: ...

    def add_index(self, name: str, func: Callable[[T], builtins.list[str]]) -> None: ...

    def add_handlers(
        self,
        on_add: Callable[[T], None] | None = None,
        on_update: Callable[[T, T], None] | None = None,
        on_delete: Callable[[T], None] | None = None,
    ) -> None: ...


class InformerSource(Protocol):
    """Shared informers: one cache per kind, whoever asks for it first makes it."""

    def informer(self, model: type[T]) -> Cache[T]: ...


class ApiWriter(Protocol):
    """The API calls a control loop makes (writes, and the few live reads a cache cannot answer)."""

    def create(self, obj: T, namespace: str | None = None) -> T: ...

    def update(self, obj: T) -> T: ...

    def update_status(self, obj: T) -> T: ...

    def patch(self, model: type[T], name: str, patch: Any, namespace: str | None = None) -> T: ...

    def delete(
        self,
        model: type[T],
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> None: ...

    def get_raw(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    def list_raw(self, resource: Resource, namespace: str | None = None) -> dict[str, Any]: ...

    def delete_raw(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    def request(self, method: str, path: str, *, body: Any = None) -> Any: ...

    def bind(self, namespace: str, name: str, node_name: str, *, uid: str | None = None) -> None:
        """pods/NAME/binding (the scheduler's one write)."""
        ...


class Recorder(Protocol):
    """Events about an object, as `kubectl describe` shows them."""

    def normal(self, obj: TypedObject, reason: str, message: str) -> None: ...

    def warning(self, obj: TypedObject, reason: str, message: str) -> None: ...

"""One shared informer per kind for every loop of the master (client-go's SharedInformerFactory).

The scheduler and all controllers ask the factory for ``informer(Pod)`` and get the
same cache, so each kind is listed and watched once however many loops read it. The
indices every loop relies on are registered here, before the informers start:

- ``namespace``: objects of one namespace;
- ``uid``: an object by its uid (owner lookups);
- ``owner-uid``: objects by the uid of any of their owners (dependents);
- ``controller-uid``: objects by the uid of their controlling owner;
- ``node`` (pods only): pods bound to one node.

Controllers only call ``get``, ``list``, ``by_index``, ``add_handlers`` and
``wait_synced`` on what ``informer()`` returns, so unit tests hand them a filled
in-memory cache with the same methods instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from kajitori.api.core import Pod
from kajitori.api.meta import TypedObject
from kajitori.client import ApiClient
from kajitori.informer import Informer

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)


def index_namespace(obj: TypedObject) -> list[str]:
    return [obj.metadata.namespace or ""]


def index_uid(obj: TypedObject) -> list[str]:
    return [obj.metadata.uid] if obj.metadata.uid else []


def index_owner_uids(obj: TypedObject) -> list[str]:
    return [ref.uid for ref in obj.metadata.ownerReferences or []]


def index_controller_uid(obj: TypedObject) -> list[str]:
    return [ref.uid for ref in obj.metadata.ownerReferences or [] if ref.controller]


def index_pod_node(obj: TypedObject) -> list[str]:
    node = obj.spec.nodeName if isinstance(obj, Pod) else None
    return [node] if node else []


STANDARD_INDICES: dict[str, Callable[[TypedObject], list[str]]] = {
    "namespace": index_namespace,
    "uid": index_uid,
    "owner-uid": index_owner_uids,
    "controller-uid": index_controller_uid,
}


class InformerFactory:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._informers: dict[type[TypedObject], Informer[Any]] = {}
        self._started = False

    def informer(self, model: type[T]) -> Informer[T]:
        """The shared informer of a kind (made on first request; started by ``start``)."""
        informer = self._informers.get(model)
        if informer is None:
            informer = Informer(self.client, model)
            for name, func in STANDARD_INDICES.items():
                informer.add_index(name, func)
            if model is Pod:
                informer.add_index("node", index_pod_node)
            self._informers[model] = informer
            if self._started:
                informer.start()
        return informer

    def start(self) -> None:
        self._started = True
        for informer in self._informers.values():
            informer.start()

    def wait_synced(self, timeout: float) -> bool:
        return all(i.wait_synced(timeout) for i in self._informers.values())

    def stop(self) -> None:
        for informer in self._informers.values():
            informer.stop()

"""In-memory stand-ins for the controllers' seams: filled caches, a recording client, a recording recorder."""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kajitori.api.core import Pod
from kajitori.api.meta import TypedObject
from kajitori.api.registry import Resource
from kajitori.client import NotFoundError
from kajitori.informer import object_key
from kajitori.seams import ApiWriter, InformerSource, Recorder
from master.controllers.informers import STANDARD_INDICES, index_pod_node


class FakeCache:
    """A filled informer cache: get, list, by_index, handlers recorded but never called."""

    def __init__(self, model: type[TypedObject]) -> None:
        self.model = model
        self.objects: dict[str, Any] = {}
        self.indexers: dict[str, Callable[[Any], list[str]]] = dict(STANDARD_INDICES)
        if model is Pod:
            self.indexers["node"] = index_pod_node

    def add(self, *objs: TypedObject) -> None:
        for obj in objs:
            self.objects[object_key(obj)] = obj

    def get(self, key: str) -> Any:
        return self.objects.get(key)

    def list(self) -> list[Any]:
        return list(self.objects.values())

    def by_index(self, name: str, value: str) -> builtins.list[Any]:
        return [o for o in self.objects.values() if value in self.indexers[name](o)]

    def add_handlers(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> None:
        pass

    def add_index(self, name: str, func: Callable[[Any], builtins.list[str]]) -> None:
        self.indexers[name] = func

    def wait_synced(self, timeout: float | None = None) -> bool:
        return True


def fake(cache: object) -> FakeCache:
    """The FakeCache behind a controller's cache attribute (typed as the real Cache), to fill it."""
    assert isinstance(cache, FakeCache)
    return cache


class FakeInformers:
    def __init__(self) -> None:
        self.caches: dict[type[TypedObject], FakeCache] = {}

    def informer(self, model: type[TypedObject]) -> FakeCache:
        return self.caches.setdefault(model, FakeCache(model))


class RecordingClient:
    """Records every write as (verb, kind, name, payload); reads of ``get_raw`` answer from ``live``."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, str, Any]] = []
        self.live: dict[tuple[str, str], dict[str, Any]] = {}
        self._names = itertools.count(1)

    def create(self, obj: TypedObject, namespace: str | None = None) -> Any:
        created = obj.model_copy(deep=True)
        if not created.metadata.name:
            created.metadata.name = f"{created.metadata.generateName}{next(self._names)}"
        created.metadata.uid = f"uid-{created.metadata.name}"
        self.writes.append(("create", obj.kind or "", obj.metadata.name or obj.metadata.generateName or "", obj))
        return created

    def update(self, obj: TypedObject) -> Any:
        self.writes.append(("update", obj.kind or "", obj.metadata.name or "", obj))
        return obj

    def update_status(self, obj: TypedObject) -> Any:
        self.writes.append(("update_status", obj.kind or "", obj.metadata.name or "", obj))
        return obj

    def patch(self, model: type[TypedObject], name: str, patch: Any, namespace: str | None = None, **kwargs: Any) -> Any:
        self.writes.append(("patch", model.__name__, name, patch))
        return None

    def delete(self, model: type[TypedObject], name: str, namespace: str | None = None, **kwargs: Any) -> None:
        self.writes.append(("delete", model.__name__, name, kwargs))

    def get_raw(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        try:
            return self.live[(resource.kind, name)]
        except KeyError:
            raise NotFoundError(404, {"reason": "NotFound", "message": f"{name} not found"}) from None

    def list_raw(self, resource: Resource, namespace: str | None = None) -> dict[str, Any]:
        return {"items": [o for (kind, _), o in self.live.items() if kind == resource.kind]}

    def delete_raw(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.writes.append(("delete", resource.kind, name, {}))
        return {}

    def request(self, method: str, path: str, *, body: Any = None) -> Any:
        self.writes.append((method, "", path, body))
        return body

    def bind(self, namespace: str, name: str, node_name: str, *, uid: str | None = None) -> None:
        self.writes.append(("bind", "Pod", name, node_name))

    def verbs(self) -> list[tuple[str, str, str]]:
        return [(verb, kind, name) for verb, kind, name, _ in self.writes]


class RecordingRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []  # (type, object name, reason, message)

    def normal(self, obj: TypedObject, reason: str, message: str) -> None:
        self.events.append(("Normal", obj.metadata.name or "", reason, message))

    def warning(self, obj: TypedObject, reason: str, message: str) -> None:
        self.events.append(("Warning", obj.metadata.name or "", reason, message))


if TYPE_CHECKING:  # mypy checks each fake against the seam it stands in for (kajitori/seams.py)
    _client: ApiWriter = RecordingClient()
    _informers: InformerSource = FakeInformers()
    _recorder: Recorder = RecordingRecorder()

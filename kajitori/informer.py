"""List+watch informers: a local cache of one kind kept current by a watch, with handlers.

One thread per informer runs: LIST (fill the cache, tell handlers what changed since
the last cache), then WATCH from the list's resourceVersion, applying each event to the
cache before calling handlers. A broken watch resumes from the last version seen; a
410 Gone relists; an unreachable master is retried with backoff while the cache keeps
serving what it last knew. Handlers run on the informer's thread and must be quick:
controllers only turn objects into keys there (see ``kajitori.controller``).

Objects in the cache are shared: copy (``model_copy(deep=True)``) before changing one.
"""

from __future__ import annotations

import builtins
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from kajitori.api.meta import TypedObject
from kajitori.api.registry import by_model
from kajitori.client import ApiClient, ApiError, GoneError, ServerUnavailable
from kajitori.seams import ObjectKey

log = logging.getLogger(__name__)

T = TypeVar("T", bound=TypedObject)
AddHandler = Callable[[T], None]
UpdateHandler = Callable[[T, T], None]
DeleteHandler = Callable[[T], None]
IndexFunc = Callable[[T], list[str]]


def object_key(obj: TypedObject) -> ObjectKey:
    """``namespace/name``, or ``name`` for cluster-scoped objects (client-go's MetaNamespaceKey)."""
    meta = obj.metadata
    return ObjectKey(f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name))


def split_key(key: str) -> tuple[str | None, str]:
    namespace, sep, name = key.rpartition("/")
    return (namespace if sep else None), name


class Informer(Generic[T]):
    def __init__(
        self,
        client: ApiClient,
        model: type[T],
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resync_s: float = 0.0,
        watch_timeout_s: int = 300,
    ) -> None:
        self.client = client
        self.model = model
        self.resource = by_model(model)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_s = resync_s
        self.watch_timeout_s = watch_timeout_s
        self._cache: dict[str, T] = {}
        self._indexers: dict[str, IndexFunc[T]] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._lock = threading.RLock()
        self._adds: list[AddHandler[T]] = []
        self._updates: list[UpdateHandler[T]] = []
        self._deletes: list[DeleteHandler[T]] = []
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.resource_version = ""

    # -- set-up ---------------------------------------------------------------------

    def add_handlers(
        self,
        on_add: AddHandler[T] | None = None,
        on_update: UpdateHandler[T] | None = None,
        on_delete: DeleteHandler[T] | None = None,
    ) -> None:
        """Register handlers; a handler added after the sync is told about every cached object."""
        with self._lock:
            if on_add:
                self._adds.append(on_add)
            if on_update:
                self._updates.append(on_update)
            if on_delete:
                self._deletes.append(on_delete)
            existing = list(self._cache.values()) if self._synced.is_set() else []
        for obj in existing:
            if on_add:
                on_add(obj)

    def add_index(self, name: str, func: IndexFunc[T]) -> None:
        with self._lock:
            self._indexers[name] = func
            index: dict[str, set[str]] = {}
            for key, obj in self._cache.items():
                for value in func(obj):
                    index.setdefault(value, set()).add(key)
            self._indices[name] = index

    def start(self) -> Informer[T]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"informer-{self.resource.plural}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    # -- reads ----------------------------------------------------------------------

    def get(self, key: str) -> T | None:
        with self._lock:
            return self._cache.get(key)

    def list(self) -> list[T]:
        with self._lock:
            return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._cache)

    def by_index(self, name: str, value: str) -> builtins.list[T]:
        with self._lock:
            return [self._cache[k] for k in self._indices.get(name, {}).get(value, ()) if k in self._cache]

    # -- the loop -------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.2
        need_list = True
        last_resync = 0.0
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list = False
                    last_resync = _now()
                self._watch()
                backoff = 0.2
            except GoneError:
                log.info("%s watch too old at %s; relisting", self.resource.plural, self.resource_version)
                need_list = True
            except ServerUnavailable as exc:
                log.warning("%s informer: %s; retrying in %.1fs", self.resource.plural, exc.message, backoff)
                self._stop.wait(backoff + random.random() * backoff / 2)
                backoff = min(backoff * 2, 5.0)
            except ApiError as exc:
                log.warning("%s informer: %s (%s); relisting in %.1fs", self.resource.plural, exc.message, exc.code, backoff)
                need_list = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("%s informer failed; relisting", self.resource.plural)
                need_list = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            if self.resync_s and _now() - last_resync >= self.resync_s:
                self._resync()
                last_resync = _now()

    def _list(self) -> None:
        result = self.client.list(
            self.model, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        fresh: dict[str, T] = {object_key(o): o for o in result.items}
        with self._lock:
            old = self._cache
            self._cache = fresh
            self._rebuild_indices()
            self.resource_version = result.resource_version
        # Level-triggered: tell handlers the difference between what we had and what is.
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._fire_add(obj)
            elif before.metadata.resourceVersion != obj.metadata.resourceVersion:
                self._fire_update(before, obj)
        for key, obj in old.items():
            if key not in fresh:
                self._fire_delete(obj)
        if not self._synced.is_set():
            log.info("%s informer synced: %d objects at %s", self.resource.plural, len(fresh), self.resource_version)
        self._synced.set()

    def _watch(self) -> None:
        # With a resync period the watch ends at each period, so the loop can resync between watches.
        timeout = self.watch_timeout_s
        if self.resync_s:
            timeout = max(1, min(timeout, int(self.resync_s)))
        for event in self.client.watch(
            self.model,
            self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=timeout,
        ):
            if self._stop.is_set():
                return
            if event.resource_version:
                self.resource_version = event.resource_version
            obj = event.object
            if obj is None:  # BOOKMARK
                continue
            key = object_key(obj)
            with self._lock:
                before = self._cache.get(key)
                if event.type == "DELETED":
                    self._cache.pop(key, None)
                else:
                    self._cache[key] = obj
                self._update_indices(key, before, None if event.type == "DELETED" else obj)
            if event.type == "DELETED":
                self._fire_delete(obj)
            elif before is None:
                self._fire_add(obj)
            else:
                self._fire_update(before, obj)

    def _resync(self) -> None:
        for obj in self.list():
            self._fire_update(obj, obj)

    # -- indices and handlers ----------------------------------------------------------

    def _rebuild_indices(self) -> None:
        for name, func in self._indexers.items():
            index: dict[str, set[str]] = {}
            for key, obj in self._cache.items():
                for value in func(obj):
                    index.setdefault(value, set()).add(key)
            self._indices[name] = index

    def _update_indices(self, key: str, before: T | None, after: T | None) -> None:
        for name, func in self._indexers.items():
            index = self._indices.setdefault(name, {})
            if before is not None:
                for value in func(before):
                    index.get(value, set()).discard(key)
            if after is not None:
                for value in func(after):
                    index.setdefault(value, set()).add(key)

    def _fire_add(self, obj: T) -> None:
        for handler in list(self._adds):
            _call(handler, obj)

    def _fire_update(self, old: T, new: T) -> None:
        for handler in list(self._updates):
            _call(handler, old, new)

    def _fire_delete(self, obj: T) -> None:
        for handler in list(self._deletes):
            _call(handler, obj)


def _call(handler: Callable[..., None], *args: object) -> None:
    try:
        handler(*args)
    except Exception:
        log.exception("informer handler %s failed", getattr(handler, "__qualname__", handler))


def _now() -> float:
    return time.monotonic()

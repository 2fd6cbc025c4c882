"""Lists as kube-apiserver serves them: ``limit``/``continue`` pages and ``resourceVersionMatch``.

A paged list is a snapshot. The first page is cut from the current objects at the
store's revision R; its continue token carries R and the last key served, and every
later page shows the objects as they were at R, whatever changed since — what etcd
gives Kubernetes. The store keeps no old versions of objects, but its watch history
holds every change after a revision with the state before it (``StoreEvent.previous``),
so a page at R is the current objects with the changes after R undone. When the
history no longer reaches back to R (the store's equivalent of etcd's compaction) the
token has expired: 410 Expired with Kubernetes' message, and a token in the Status's
``metadata.continue`` that continues from the current state (inconsistently), as
kube-apiserver offers.

The same reconstruction serves ``resourceVersionMatch=Exact`` (and a paged list with a
``resourceVersion``, which Kubernetes treats as Exact). ``NotOlderThan`` is served from
the current state, which is never older than any revision the store has given out.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import builtins
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from kajitori.api.registry import Resource
from kajitori.api.selectors import FieldQuery, LabelQuery
from master.apiserver import errors
from master.apiserver.query import ListOptions
from master.store import StoredObject, StoreEvent, Subscription, TooOld

EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)
_TOKEN_VERSION = "meta.k8s.io/v1"
_KEY = operator.attrgetter("key")  # pages follow the store's key order: namespace, then name, as etcd's


@dataclass(frozen=True)
class Page:
    items: builtins.list[StoredObject]
    revision: int
    continue_token: str = ""
    remaining: int | None = None  # metadata.remainingItemCount: only for unfiltered lists, as Kubernetes


class ExpiredContinue(errors.ApiError):
    """410 Expired whose Status carries a fresh (inconsistent) continue token."""

    def __init__(self, token: str) -> None:
        super().__init__(410, "Expired", EXPIRED_CONTINUE)
        self.token = token

    def body(self) -> dict[str, object]:
        return {**super().body(), "metadata": {"continue": self.token}}


def encode_continue(revision: int, last_key: str) -> str:
    """Kubernetes' token shape: base64 JSON of the revision and the key to start after."""
    data = {"v": _TOKEN_VERSION, "rv": revision, "start": last_key + "\x00"}
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(revision, key to start after); a token this server did not make is a 400, as in Kubernetes."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        revision, start = data["rv"], data["start"]
        if data.get("v") != _TOKEN_VERSION or not isinstance(revision, int) or not isinstance(start, str):
            raise ValueError(token)
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise errors.bad_request("continue key is not valid: the continue parameter was not made by this server") from None
    return revision, start.removesuffix("\x00")


class Readable(Protocol):
    """What a list reads: the store, or etcd itself when the cache is late (``consistent_reads``)."""

    @property
    def revision(self) -> int: ...

    def list(self, collection: str, namespace: str | None = None) -> tuple[builtins.list[StoredObject], int]: ...

    def watch(self, collection: str, from_rv: int, callback: Callable[[StoreEvent], None]) -> Subscription: ...


def objects_at(store: Readable, resource: Resource, namespace: str | None, revision: int) -> builtins.list[StoredObject]:
    """The collection as it was at ``revision``; raises ``TooOld`` when history no longer covers it.

    List first, then replay the history after ``revision``: a write that lands between
    the two is in the replay, and only a key's earliest change after ``revision`` counts.
    """
    ns = namespace if resource.namespaced else None
    items, _current = store.list(resource.collection, ns)
    replayed: builtins.list[StoreEvent] = []
    store.watch(resource.collection, revision, replayed.append).cancel()
    state = {o.key: o for o in items}
    undone: set[str] = set()
    for event in replayed:
        key = event.current.key
        if key in undone or event.rv <= revision:
            continue
        undone.add(key)
        before = event.previous if event.type != "ADDED" else None
        if before is None:
            state.pop(key, None)
        elif ns is None or (before.obj.get("metadata") or {}).get("namespace") == ns:
            state[key] = before
    return builtins.list(state.values())


def list_objects(
    store: Readable, resource: Resource, namespace: str | None, labels: LabelQuery, fields: FieldQuery, options: ListOptions
) -> Page:
    """One list request: the whole list, or one page of it, at the revision the options ask for."""
    current = store.revision
    start_after = ""
    revision = current
    if options.continue_token:
        revision, start_after = decode_continue(options.continue_token)
        if revision <= 0:  # the token of an expired answer: go on from now
            revision = current
        elif revision > current:  # made by a master whose cache is ahead of this one's
            raise errors.too_large_resource_version(revision, current)
    elif options.resource_version not in ("", "0"):
        wanted = int(options.resource_version)
        if wanted > current:
            raise errors.too_large_resource_version(wanted, current)
        exact = options.match == "Exact" or (options.match == "" and options.limit > 0)
        revision = wanted if exact else current
    if revision == current:
        ns = namespace if resource.namespaced else None
        items, revision = store.list(resource.collection, ns)
    else:
        try:
            items = objects_at(store, resource, namespace, revision)
        except TooOld:
            if options.continue_token:
                raise ExpiredContinue(encode_continue(-1, start_after)) from None
            raise errors.gone(f"The resourceVersion for the provided list is too old: {revision}") from None
    if labels or fields:
        items = [o for o in items if labels.matches(o.obj.get("metadata", {}).get("labels")) and fields.matches(o.obj)]
    items.sort(key=_KEY)
    if start_after:
        items = items[bisect.bisect_right(items, start_after, key=_KEY) :]
    if not options.limit or len(items) <= options.limit:
        return Page(items, revision)
    page = items[: options.limit]
    remaining = None if (labels or fields) else len(items) - len(page)
    return Page(page, revision, encode_continue(revision, page[-1].key), remaining)

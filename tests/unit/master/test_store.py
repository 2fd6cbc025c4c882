"""The store contract, run against both stores: SQLite on a real file and etcd on a real
etcd process (started here on free ports). CAS, revisions, watch replay and 410, reopening.

Revisions are counted from where a test began: the etcd process is shared by the module
(each test has its own key prefix), so its revision does not start at 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from master.store import AlreadyExists, Conflict, NotFound, SQLiteStore, Store, StoreEvent, TooOld
from master.store.etcd import EtcdStore
from master.store.timed import TimedStore
from tests.support.etcd_process import EtcdProcess

K = "/core/pods/default/"
MakeStore = Callable[..., Store]


def obj(name: str, **extra: object) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"}, **extra}


@pytest.fixture(params=["sqlite", "etcd"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens the test's store (again, on the same file or key prefix, when called twice)."""
    opened: list[Store] = []
    prefix = f"/test-{uuid.uuid4().hex[:8]}/registry"

    def make(**kwargs: Any) -> Store:
        store: Store
        if request.param == "sqlite":
            store = SQLiteStore(tmp_path / "s.db", **kwargs)
        else:
            etcd: EtcdProcess = request.getfixturevalue("etcd")
            store = EtcdStore([etcd.url], prefix=prefix, compaction_interval_s=0, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_revisions_and_compare_and_swap(make_store: MakeStore) -> None:
    store = make_store()
    base = store.revision
    a = store.create(K + "a", obj("a"))
    assert a.rv == base + 1 and a.obj["metadata"]["resourceVersion"] == str(base + 1)
    assert store.get(K + "a") == a  # read-your-writes: the acknowledged write is in the cache
    with pytest.raises(AlreadyExists):
        store.create(K + "a", obj("a"))
    b = store.update(K + "a", obj("a", spec={"x": 1}), expected_rv=a.rv)
    assert b.rv == base + 2 and store.get(K + "a") == b
    with pytest.raises(Conflict):
        store.update(K + "a", obj("a", spec={"x": 2}), expected_rv=a.rv)
    with pytest.raises(NotFound):
        store.update(K + "nope", obj("nope"))
    gone = store.delete(K + "a")
    assert gone.rv == base + 3 and store.get(K + "a") is None
    assert gone.obj["spec"] == {"x": 1}  # the last state, stamped with the deletion revision
    assert store.revision == base + 3


def test_delete_preconditions(make_store: MakeStore) -> None:
    store = make_store()
    a = store.create(K + "a", obj("a"))
    store.update(K + "a", obj("a", spec={"x": 1}), expected_rv=a.rv)
    with pytest.raises(Conflict):
        store.delete(K + "a", expected_rv=a.rv)
    with pytest.raises(NotFound):
        store.delete(K + "nope", expected_rv=a.rv)
    current = store.get(K + "a")
    assert current is not None
    assert store.delete(K + "a", expected_rv=current.rv).rv == current.rv + 1


def test_stored_bytes_are_the_object(make_store: MakeStore) -> None:
    import orjson

    store = make_store()
    created = store.create(K + "a", obj("a", spec={"containers": [{"name": "c"}]}))
    items, _ = store.list("/core/pods", "default")
    assert [orjson.loads(o.raw) for o in items] == [created.obj]
    assert store.list("/core/pods", "other")[0] == []


def test_reopen_keeps_objects_and_revision(make_store: MakeStore) -> None:
    store = make_store()
    base = store.revision
    for n in range(5):
        store.create(K + f"p{n}", obj(f"p{n}"))
    store.delete(K + "p0")
    store.close()
    again = make_store()
    items, rev = again.list("/core/pods", "default")
    assert sorted(o.obj["metadata"]["name"] for o in items) == ["p1", "p2", "p3", "p4"]
    assert rev == base + 6
    assert all(o.obj["metadata"]["resourceVersion"] == str(o.rv) for o in items)
    assert again.create(K + "p9", obj("p9")).rv == base + 7  # the counter never goes back


def test_watch_replays_history_then_follows(make_store: MakeStore) -> None:
    store = make_store(history=3)
    base = store.revision
    for n in range(5):
        store.create(K + f"p{n}", obj(f"p{n}"))
    seen: list[StoreEvent] = []
    sub = store.watch("/core/pods", base + 3, seen.append)
    assert [e.rv - base for e in seen] == [4, 5]
    store.update(K + "p1", obj("p1", spec={}))
    assert [e.type for e in seen] == ["ADDED", "ADDED", "MODIFIED"]
    assert seen[-1].previous is not None and seen[-1].previous.rv == base + 2
    sub.cancel()
    store.delete(K + "p2")
    assert len(seen) == 3
    with pytest.raises(TooOld):
        store.watch("/core/pods", base + 1, seen.append)  # history keeps 3 events: rv base+1 is gone


def test_watch_sees_only_its_collection(make_store: MakeStore) -> None:
    store = make_store()
    seen: list[StoreEvent] = []
    store.watch("/core/services", store.revision, seen.append)
    store.create(K + "a", obj("a"))
    svc = store.create("/core/services/default/s", obj("s"))
    gone = store.delete("/core/services/default/s")
    assert [(e.type, e.rv) for e in seen] == [("ADDED", svc.rv), ("DELETED", gone.rv)]


def test_timed_store_answers_as_its_store_and_times_each_operation_by_type(make_store: MakeStore) -> None:
    store = TimedStore(make_store())
    a = store.create(K + "a", obj("a"))
    assert store.get(K + "a") == a and store.revision == a.rv
    store.update(K + "a", obj("a", spec={"x": 1}), expected_rv=a.rv)
    with pytest.raises(Conflict):
        store.delete(K + "a", expected_rv=a.rv)  # a failed call is timed too
    store.delete(K + "a")
    store.list("/apps/deployments")
    counts = {labels: int(sum(c[:-1])) for labels, c in store.snapshot().items()}
    assert counts == {("create", "pods"): 1, ("get", "pods"): 1, ("update", "pods"): 1, ("delete", "pods"): 2, ("list", "deployments.apps"): 1}

"""The SQLite store on a real file: CAS, revisions, watch replay and 410, reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.store import AlreadyExists, Conflict, NotFound, SQLiteStore, StoreEvent, TooOld

K = "/core/pods/default/"


def obj(name: str, **extra: object) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"}, **extra}


def test_revisions_and_compare_and_swap(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    a = store.create(K + "a", obj("a"))
    assert a.rv == 1 and a.obj["metadata"]["resourceVersion"] == "1"
    with pytest.raises(AlreadyExists):
        store.create(K + "a", obj("a"))
    b = store.update(K + "a", obj("a", spec={"x": 1}), expected_rv=1)
    assert b.rv == 2
    with pytest.raises(Conflict):
        store.update(K + "a", obj("a", spec={"x": 2}), expected_rv=1)
    with pytest.raises(NotFound):
        store.update(K + "nope", obj("nope"))
    gone = store.delete(K + "a")
    assert gone.rv == 3 and store.get(K + "a") is None
    assert store.revision == 3


def test_reopen_keeps_objects_and_revision(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    for n in range(5):
        store.create(K + f"p{n}", obj(f"p{n}"))
    store.delete(K + "p0")
    store.close()
    again = SQLiteStore(tmp_path / "s.db")
    items, rev = again.list("/core/pods", "default")
    assert sorted(o.obj["metadata"]["name"] for o in items) == ["p1", "p2", "p3", "p4"]
    assert rev == 6
    assert again.create(K + "p9", obj("p9")).rv == 7  # the counter never goes back


def test_watch_replays_history_then_follows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", history=3)
    for n in range(5):
        store.create(K + f"p{n}", obj(f"p{n}"))
    seen: list[StoreEvent] = []
    sub = store.watch("/core/pods", 3, seen.append)
    assert [e.rv for e in seen] == [4, 5]
    store.update(K + "p1", obj("p1", spec={}))
    assert [e.type for e in seen] == ["ADDED", "ADDED", "MODIFIED"]
    assert seen[-1].previous is not None and seen[-1].previous.rv == 2
    sub.cancel()
    store.delete(K + "p2")
    assert len(seen) == 3
    with pytest.raises(TooOld):
        store.watch("/core/pods", 1, seen.append)  # history keeps 3 events: rv 1 is gone

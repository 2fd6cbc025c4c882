"""What only the etcd store has: two masters on one etcd, compaction, its cache's relist,
and delivery to subscribers on their own event loop."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from master.store import AllocationRaced, Conflict, StoreError, StoreEvent, StoreUnavailable, TooOld
from master.store.etcd import EtcdStore
from master.store.etcd_client import EtcdClient, EtcdCompacted
from tests.support.etcd_process import EtcdProcess
from tests.support.pki import make_pki

K = "/core/pods/default/"


def obj(name: str, **extra: object) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"}, **extra}


@pytest.fixture
def masters(etcd: EtcdProcess) -> Iterator[Callable[..., EtcdStore]]:
    """Opens stores ("masters") on one etcd and one key prefix."""
    prefix = f"/test-{uuid.uuid4().hex[:8]}/registry"
    opened: list[EtcdStore] = []

    def make(**kwargs: Any) -> EtcdStore:
        store = EtcdStore([etcd.url], prefix=prefix, compaction_interval_s=0, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def wait_until(check: Callable[[], object], what: str, *, limit_s: float = 30.0) -> None:
    """Polls `check`; the limit only keeps a broken run from hanging (a loaded machine fits in it)."""
    give_up = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_write_through_one_master_is_seen_by_the_other(masters: Callable[..., EtcdStore]) -> None:
    a, b = masters(), masters()
    seen: list[StoreEvent] = []
    b.watch("/core/pods", b.revision, seen.append)
    created = a.create(K + "x", obj("x", spec={"v": 1}))
    wait_until(lambda: b.get(K + "x") is not None, "b's cache to hold x")
    assert b.get(K + "x") == created
    assert b.list("/core/pods", "default")[0] == [created]
    assert [(e.type, e.rv) for e in seen] == [("ADDED", created.rv)]
    # b writes on top of what it saw; a sees that, and a's stale compare-and-swap fails.
    updated = b.update(K + "x", obj("x", spec={"v": 2}), expected_rv=created.rv)
    with pytest.raises(Conflict):
        a.update(K + "x", obj("x", spec={"v": 3}), expected_rv=created.rv)
    wait_until(lambda: a.get(K + "x") == updated, "a's cache to hold b's update")


def test_concurrent_increments_from_two_masters_end_exactly_right(masters: Callable[..., EtcdStore]) -> None:
    a, b = masters(), masters()
    a.create(K + "counter", obj("counter", n=0))
    per_master = 40
    conflicts = [0, 0]

    def increment(store: EtcdStore, index: int) -> None:
        done = 0
        while done < per_master:
            current = store.get(K + "counter")
            if current is None:  # not in this master's cache yet
                continue
            try:
                store.update(K + "counter", obj("counter", n=current.obj["n"] + 1), expected_rv=current.rv)
                done += 1
            except Conflict:
                conflicts[index] += 1

    threads = [threading.Thread(target=increment, args=(s, i)) for i, s in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for t in threads:
        assert not t.is_alive(), "an incrementer did not finish"
    # Each master reads its own acknowledged writes at once, the other's only once its etcd
    # watch brings them (as Kubernetes' watch cache): b's last increment may still be on
    # its way to a's cache, so both are waited for rather than a read at once.
    wanted = 2 * per_master
    wait_until(lambda: (c := a.get(K + "counter")) is not None and c.obj["n"] == wanted, "a to hold the final count")
    final = a.get(K + "counter")
    wait_until(lambda: b.get(K + "counter") == final, "b to hold the final count")


def test_compaction_makes_older_revisions_too_old(masters: Callable[..., EtcdStore], etcd: EtcdProcess) -> None:
    store = masters()
    first = store.create(K + "a", obj("a"))
    version, seen = store.compact_once(0, 0)  # the first turn only notes the revision
    store.watch("/core/pods", first.rv - 1, lambda e: None)  # nothing compacted yet
    store.update(K + "a", obj("a", spec={}))
    store.compact_once(version, seen)  # compacts at the revision of the previous turn
    with pytest.raises(TooOld):
        store.watch("/core/pods", first.rv - 1, lambda e: None)
    store.watch("/core/pods", seen, lambda e: None)
    # etcd itself forgot it too.
    client = EtcdClient([etcd.url])
    with pytest.raises(EtcdCompacted):
        next(client.watch_prefix(b"/", first.rv - 1))
    client.close()


def test_the_cache_relists_when_its_watch_falls_behind_compaction(
    masters: Callable[..., EtcdStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = masters(), masters()
    keep = a.create(K + "keep", obj("keep"))
    drop = a.create(K + "drop", obj("drop"))
    wait_until(lambda: b.get(K + "drop") is not None, "b to see drop")
    seen: list[StoreEvent] = []
    b.watch("/core/pods", b.revision, seen.append)
    # b's watch goes away (as when its etcd is unreachable) and comes back too late.
    release = threading.Event()
    real_watch = b._client.watch_prefix

    def late_watch(prefix: bytes, start_revision: int) -> Iterator[list[Any]]:
        monkeypatch.setattr(b._client, "watch_prefix", real_watch)
        release.wait(30)
        raise EtcdCompacted(start_revision + 10)
        yield []

    monkeypatch.setattr(b._client, "watch_prefix", late_watch)
    b._client.stop_watch()
    wait_until(lambda: b._client.watch_prefix is real_watch, "b's watch to restart")
    changed = a.update(K + "keep", obj("keep", spec={"v": 2}), expected_rv=keep.rv)
    a.delete(K + "drop", expected_rv=drop.rv)
    added = a.create(K + "new", obj("new"))
    release.set()
    wait_until(lambda: b.get(K + "new") is not None and b.get(K + "drop") is None, "b to relist")
    assert b.get(K + "keep") == changed and b.get(K + "new") == added
    assert sorted((e.type, e.current.key) for e in seen) == [
        ("ADDED", K + "new"), ("DELETED", K + "drop"), ("MODIFIED", K + "keep"),
    ]  # fmt: skip
    with pytest.raises(TooOld):  # the events in between are not kept
        b.watch("/core/pods", keep.rv, lambda e: None)


def test_subscribers_on_an_event_loop_are_called_on_it(masters: Callable[..., EtcdStore]) -> None:
    a, b = masters(), masters()

    async def scenario() -> list[tuple[str, bool]]:
        loop_thread = threading.get_ident()
        got: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        b.watch("/core/pods", b.revision, lambda e: got.put_nowait((e.type, threading.get_ident() == loop_thread)))
        await asyncio.to_thread(a.create, K + "x", obj("x"))
        return [await asyncio.wait_for(got.get(), 30)]

    assert asyncio.run(scenario()) == [("ADDED", True)]


def test_over_tls_with_a_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    etcd = EtcdProcess(tmp_path / "etcd", pki=pki).start()
    try:
        with pytest.raises(StoreError):  # no client certificate: etcd refuses the connection
            EtcdStore([etcd.url], cafile=str(pki.ca), compaction_interval_s=0)
        store = EtcdStore(
            [etcd.url], cafile=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key),
            compaction_interval_s=0,
        )  # fmt: skip
        try:
            created = store.create(K + "a", obj("a"))
            assert store.get(K + "a") == created  # the watch runs over TLS too
        finally:
            store.close()
    finally:
        etcd.stop()


def test_the_cache_resumes_its_watch_when_etcd_comes_back(tmp_path: Path) -> None:
    etcd = EtcdProcess(tmp_path / "etcd").start()
    try:
        a = EtcdStore([etcd.url], compaction_interval_s=0)
        seen: list[StoreEvent] = []
        a.watch("/core/pods", a.revision, seen.append)
        before = a.create(K + "before", obj("before"))
        etcd.kill()  # kill -9: a's watch breaks
        with pytest.raises(StoreUnavailable):
            a.create(K + "while-down", obj("while-down"))
        etcd.start()  # same data dir and ports
        b = EtcdStore([etcd.url], compaction_interval_s=0)
        after = b.create(K + "after", obj("after"))  # written by another master
        wait_until(lambda: a.get(K + "after") is not None, "a's cache to resume")
        assert a.get(K + "after") == after and a.get(K + "before") == before
        assert [e.current.key for e in seen] == [K + "before", K + "after"]
        assert a.create(K + "again", obj("again")).rv > after.rv
        a.close()
        b.close()
    finally:
        etcd.stop()


def test_a_starting_master_waits_for_etcd(tmp_path: Path) -> None:
    etcd = EtcdProcess(tmp_path / "etcd")  # its ports are chosen; it is not running yet
    opened: list[EtcdStore] = []
    opener = threading.Thread(target=lambda: opened.append(EtcdStore([etcd.url], compaction_interval_s=0, startup_timeout_s=60)))
    opener.start()
    try:
        etcd.start()
        opener.join(60)
        assert len(opened) == 1 and opened[0].create(K + "a", obj("a")).rv > 0
        opened[0].close()
    finally:
        etcd.stop()


def test_an_allocating_write_fails_its_fence_when_another_master_allocated_since(masters: Callable[..., EtcdStore]) -> None:
    a, b = masters(), masters()
    seen_by_a = a.allocation_fence("services")
    seen_by_b = b.allocation_fence("services")
    assert seen_by_a == seen_by_b
    b.create(K + "by-b", obj("by-b"), fence=seen_by_b)
    # a allocated from a cache that did not hold b's write yet: its write must not commit.
    with pytest.raises(AllocationRaced):
        a.create(K + "by-a", obj("by-a"), fence=seen_by_a)
    assert a.get(K + "by-a") is None
    # A fence read again waits until a's cache holds every earlier allocation, then commits.
    fresh = a.allocation_fence("services")
    assert a.get(K + "by-b") is not None and fresh.revision > seen_by_a.revision
    made = a.create(K + "by-a", obj("by-a"), fence=fresh)
    # An update carrying a stale fence fails the same way; other ranges are not held up.
    with pytest.raises(AllocationRaced):
        b.update(K + "by-a", obj("by-a", spec={"v": 2}), expected_rv=made.rv, fence=seen_by_b)
    b.create(K + "node", obj("node"), fence=b.allocation_fence("nodes"))
    wait_until(lambda: b.get(K + "by-a") is not None, "b's cache to hold by-a")
    b.update(K + "by-a", obj("by-a", spec={"v": 2}), expected_rv=made.rv, fence=b.allocation_fence("services"))

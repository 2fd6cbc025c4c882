"""The etcd store on a real three-member cluster whose members hang: a member SIGSTOPped keeps
its TCP connections open and answers nothing, which is what a frozen or cut-off machine does.

Writes must go on through the other two members within a bounded time, and the cache's own
watch must leave a silent member and resume elsewhere from the revision it had reached.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from master.store import StoredObject, StoreUnavailable
from master.store.etcd import EtcdStore
from tests.support.cluster import wait_for
from tests.support.etcd_cluster import EtcdCluster

pytestmark = pytest.mark.integration

K = "/core/configmaps/default/"
REQUEST_TIMEOUT_S = 2.0
WRITES = 10


def doc(name: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())}, "data": {"k": name}}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    etcd = EtcdCluster(tmp_path).start()
    try:
        yield etcd
    finally:
        etcd.stop()  # SIGCONTs a paused member first, then ends each member by its PID


def raft_leader(cluster: EtcdCluster) -> int:
    """The index of the member that leads the raft group (asked of every member, first answer wins)."""
    ids: dict[str, int] = {}
    leader = ""
    for index, url in enumerate(cluster.urls):
        status = httpx.post(url + "/v3/maintenance/status", content=b"{}", timeout=5.0).json()
        ids[status["header"]["member_id"]] = index
        leader = leader or status["leader"]
    return ids[leader]


@pytest.mark.parametrize("role", ["leader", "follower"])
def test_writes_go_on_when_the_member_in_use_hangs(cluster: EtcdCluster, role: str) -> None:
    leader = raft_leader(cluster)
    hung = leader if role == "leader" else (leader + 1) % 3
    # The hung member first: the client starts on it, and its cache's watch reads from it.
    urls = [cluster.urls[hung]] + [u for i, u in enumerate(cluster.urls) if i != hung]
    prefix = f"/t-{uuid.uuid4().hex[:8]}/registry"
    store = EtcdStore(urls, prefix=prefix, compaction_interval_s=0, request_timeout_s=REQUEST_TIMEOUT_S)
    other = EtcdStore(urls[1:], prefix=prefix, compaction_interval_s=0)
    try:
        store.create(K + "before", doc("before"))
        cluster.pause(hung)
        started = time.monotonic()
        refused = 0
        written: list[StoredObject] = []
        # Bounded: every write is acknowledged (this master's cache has it) well before the
        # old client would have given up on even one (it stayed on the hung member forever).
        deadline = started + 8 * REQUEST_TIMEOUT_S + 15
        for i in range(WRITES):
            while True:
                assert time.monotonic() < deadline, f"only {len(written)} of {WRITES} writes in {deadline - started:.0f} s ({refused} refused)"
                try:
                    written.append(store.create(K + f"w{i}", doc(f"w{i}")))
                    break
                except StoreUnavailable:
                    refused += 1  # the raft group may be electing a new leader
        took = time.monotonic() - started
        print(f"{WRITES} writes with the {role} hung: {took:.1f} s, {refused} refused")
        # Read back through the other members: every acknowledged write is in etcd.
        for stored in written:
            wait_for(partial(other.get, stored.key), what=f"{stored.key} through the other members")
            assert other.get(stored.key) == stored
    finally:
        cluster.resume(hung)
        store.close()
        other.close()


def test_the_cache_leaves_a_watch_gone_silent_and_resumes_from_its_revision(
    cluster: EtcdCluster, caplog: pytest.LogCaptureFixture
) -> None:
    # This master only watches (no writes of its own): nothing but the silence deadline can
    # tell it that the member its watch reads from hangs.
    prefix = f"/t-{uuid.uuid4().hex[:8]}/registry"
    watcher = EtcdStore(cluster.urls, prefix=prefix, compaction_interval_s=0, watch_deadline_s=3.0)
    writer = EtcdStore(cluster.urls[1:], prefix=prefix, compaction_interval_s=0)
    try:
        first = writer.create(K + "before", doc("before"))
        wait_for(lambda: watcher.get(K + "before"), what="the watcher's cache to hold 'before'")
        # Idle but live, the watch is kept: etcd's progress notifications (every 1 s here) break the silence.
        caplog.set_level(logging.WARNING, logger="master.store.etcd")
        threading.Event().wait(2 * 3.0 + 1)
        assert "silent" not in caplog.text
        cluster.pause(0)
        written = [writer.create(K + f"after-{i}", doc(f"after-{i}")) for i in range(3)]
        for stored in written:
            wait_for(partial(watcher.get, stored.key), timeout=60, what=f"{stored.key} in the watcher's cache")
            assert watcher.get(stored.key) == stored
        # Resumed from its last revision: nothing in between was lost or repeated.
        assert watcher.get(first.key) == first
        assert watcher.revision >= written[-1].rv
    finally:
        cluster.resume(0)
        watcher.close()
        writer.close()

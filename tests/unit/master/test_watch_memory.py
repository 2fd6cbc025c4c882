"""Watch memory is bounded in bytes, and fan-out happens after the write, not inside it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from kajitori.api.registry import by_name
from kajitori.api.selectors import parse_field_selector, parse_label_selector
from master.apiserver.watch import QUEUE_BYTES, WatchStream
from master.apiserver.watch_hub import DISPATCH_SLICE, WatchHub
from master.store import SQLiteStore, StoreEvent, TooOld

CM = "/core/configmaps/"
BLOB = "x" * 200_000


def cm(name: str, namespace: str = "default", blob: str = "") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "data": {"blob": blob}}


def stream_of(hub: WatchHub, namespace: str | None = "default") -> WatchStream:
    return WatchStream(
        hub, by_name("configmaps"), namespace, parse_label_selector(None), parse_field_selector(None),
        bookmarks=False, timeout_s=60,
    )  # fmt: skip


async def read_events(stream: WatchStream, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async for chunk in stream.stream():
        events += [orjson.loads(line) for line in chunk.splitlines()]
        if len(events) >= count:
            break
    return events


def names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", e["object"].get("reason", ""))) for e in events]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SQLiteStore(tmp_path / "s.db")
    yield s
    s.close()


def test_history_is_bounded_in_bytes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", history_bytes=2 * 1024 * 1024)
    for n in range(40):  # 40 x 200 KB = 8 MB of events, far under the 20,000-event bound
        store.create(CM + f"default/c{n}", cm(f"c{n}", blob=BLOB))
    assert store.history_bytes <= 2 * 1024 * 1024
    with pytest.raises(TooOld):
        store.events_since("/core/configmaps", 1)
    assert [e.rv for e in store.events_since("/core/configmaps", 38)] == [39, 40]


def test_a_write_returns_before_any_watcher_is_told(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        streams = [stream_of(hub) for _ in range(1000)]
        for s in streams:
            s.start(None)
        calls: list[StoreEvent] = []
        store.watch("/core/configmaps", store.revision, calls.append)  # beside the hub's one
        store.create(CM + "default/a", cm("a"))
        assert len(calls) == 1
        assert all(s.queued_bytes == 0 for s in streams)  # nobody was told inside the write
        await asyncio.sleep(0)  # the loop's next turn hands it to the first slice of them
        told = sum(s.queued_bytes > 0 for s in streams)
        assert 0 < told <= DISPATCH_SLICE  # and lets the loop read its sockets before the next slice
        for _ in range(len(streams)):
            if all(s.queued_bytes > 0 for s in streams):
                break
            await asyncio.sleep(0)
        assert all(s.queued_bytes > 0 for s in streams)
        assert names(await read_events(streams[0], 1)) == [("ADDED", "a")]
        assert streams[0].queued_bytes == 0 and hub.queued_bytes == 999 * streams[1].queued_bytes

    asyncio.run(scenario())


def test_a_reader_too_far_behind_in_bytes_gets_410(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        slow, other_ns = stream_of(hub), stream_of(hub, "elsewhere")
        slow.start(None)
        other_ns.start(None)
        # Far fewer events than any count bound, but more bytes than a watcher may hold.
        for n in range(QUEUE_BYTES // len(BLOB) + 2):
            store.create(CM + f"default/c{n}", cm(f"c{n}", blob=BLOB))
            await asyncio.sleep(0)
        events = await read_events(slow, 1)
        assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
        assert slow.queued_bytes == 0 and hub.queued_bytes == 0 and hub.watchers() == 1

    asyncio.run(scenario())


def test_past_the_total_the_watcher_furthest_behind_ends(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store, total_bytes=3 * len(BLOB))
        behind, fresh = stream_of(hub), stream_of(hub)
        behind.start(None)
        store.create(CM + "default/c0", cm("c0", blob=BLOB))
        store.create(CM + "default/c1", cm("c1", blob=BLOB))
        await asyncio.sleep(0)
        fresh.start(None)  # lists c0 and c1 (not counted), then hears c2 like `behind`
        store.create(CM + "default/c2", cm("c2", blob=BLOB))
        await asyncio.sleep(0)
        assert names(await read_events(behind, 1))[0][0] == "ERROR"
        assert names(await read_events(fresh, 3)) == [("ADDED", "c0"), ("ADDED", "c1"), ("ADDED", "c2")]

    asyncio.run(scenario())


def test_a_resume_gets_each_kept_event_once_in_order(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        first = stream_of(hub)
        first.start(None)
        store.create(CM + "default/a", cm("a"))
        store.create(CM + "default/b", cm("b"))
        # Not dispatched yet: a watcher resuming now replays a and b from the history and
        # must not get them again when the dispatch runs.
        resumed = stream_of(hub)
        resumed.start(str(store.revision - 2))
        store.update(CM + "default/a", cm("a", blob="2"))
        await asyncio.sleep(0)
        expected = [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a")]
        assert names(await read_events(resumed, 3)) == expected
        assert names(await read_events(first, 3)) == expected

    asyncio.run(scenario())


def test_a_bookmark_never_goes_back_nor_past_an_event_not_yet_handed_out(store: SQLiteStore) -> None:
    """Bookmarks of a quiet collection while another watched one is written: each claims at
    least what the one before did (it went back to the watch's start whenever a dispatch was
    pending, so an informer resumed from there and, past the history, relisted), and none
    claims an event that has not reached the watcher yet."""

    async def scenario() -> None:
        hub = WatchHub(store)
        quiet = WatchStream(hub, by_name("configmaps"), "default", parse_label_selector(None), parse_field_selector(None),
                            bookmarks=True, timeout_s=60)  # fmt: skip
        busy = WatchStream(hub, by_name("secrets"), "default", parse_label_selector(None), parse_field_selector(None),
                           bookmarks=False, timeout_s=60)  # fmt: skip
        quiet.start(None)
        busy.start(None)
        start = store.revision
        claimed: list[int] = []
        for n in range(5):
            store.create(f"/core/secrets/default/s{n}", cm(f"s{n}"))
            pending = store.revision  # committed, not yet handed out by the hub
            claimed.append(orjson.loads(quiet._bookmark())["object"]["metadata"]["resourceVersion"])
            assert int(claimed[-1]) < pending
            await asyncio.sleep(0)  # the hub hands it out
            claimed.append(orjson.loads(quiet._bookmark())["object"]["metadata"]["resourceVersion"])
            assert int(claimed[-1]) == pending
        assert [int(c) for c in claimed] == sorted(int(c) for c in claimed)
        assert int(claimed[-1]) == start + 5
        # A configmap written after them still reaches the quiet watcher, after its bookmarks.
        store.create(CM + "default/late", cm("late"))
        await asyncio.sleep(0)
        assert names(await read_events(quiet, 1)) == [("ADDED", "late")]

    asyncio.run(scenario())

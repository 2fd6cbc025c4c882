"""An idle watcher's events are written to its connection at once, encoded once for all, in order.

The connection is the layer tested around here: ``write_now`` stands for
``master.apiserver.http_protocol.BoundedHttpToolsProtocol.write_now``: it takes a chunk
of the chunked response, checks its framing and appends its body to a list that plays
the socket, which the stream's own chunks (what Starlette would send) go to as well; so
the list is the order a client reads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest

from kajitori.api.registry import by_name
from kajitori.api.selectors import parse_field_selector, parse_label_selector
from master.apiserver import watch as watch_module
from master.apiserver.watch import WatchStream
from master.apiserver.watch_hub import WatchHub
from master.store import SQLiteStore, StoredObject

CM = "/core/configmaps/"


def unchunk(chunks: bytes) -> list[bytes]:
    """The bodies of one or more chunks of a chunked HTTP/1.1 response, each checked to be framed right."""
    bodies = []
    while chunks:
        size, rest = chunks.split(b"\r\n", 1)
        end = int(size, 16)
        assert rest[end : end + 2] == b"\r\n", chunks
        bodies.append(rest[:end])
        chunks = rest[end + 2 :]
    return bodies


class Connection:
    """What a client would read, in order; ``full`` makes it refuse writes as a socket past its high-water mark."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []
        self.written_now: list[bytes] = []
        self.full = False

    def write_now(self, chunks: bytes) -> bool:
        if self.full:
            return False
        self.wire += unchunk(chunks)
        self.written_now.append(chunks)
        return True

    def lines_written_now(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for chunks in self.written_now for body in unchunk(chunks)]

    def events(self) -> list[tuple[str, str]]:
        lines = b"".join(self.wire).splitlines()
        return [(e["type"], e["object"]["metadata"]["name"]) for e in map(orjson.loads, lines)]


def watch(hub: WatchHub, connection: Connection, labels: str | None = None) -> WatchStream:
    return WatchStream(
        hub, by_name("configmaps"), "default", parse_label_selector(labels), parse_field_selector(None),
        bookmarks=False, timeout_s=60, write_now=connection.write_now,
    )  # fmt: skip


async def serve(stream: WatchStream, connection: Connection) -> None:
    """What the response does with the stream: every chunk it yields goes on the wire."""
    async for chunk in stream.stream():
        connection.wire.append(chunk)


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not met after 1000 turns of the loop")


def cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels or {}}, "data": {"k": "v"}}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SQLiteStore(tmp_path / "s.db")
    yield s
    s.close()


def test_idle_watchers_get_the_event_written_at_once_the_same_bytes_for_all(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        connections = [Connection() for _ in range(3)]
        streams = [watch(hub, c) for c in connections]
        tasks = []
        for stream, connection in zip(streams, connections, strict=True):
            stream.start(None)
            tasks.append(asyncio.create_task(serve(stream, connection)))
        await asyncio.sleep(0)  # each stream's task runs once and waits on its empty queue
        store.create(CM + "default/a", cm("a"))
        await until(lambda: all(c.wire for c in connections))
        lines = [c.written_now for c in connections]
        assert all(len(written) == 1 for written in lines)  # no task woke to send it
        assert lines[0][0] is lines[1][0] is lines[2][0]  # encoded once
        assert all(c.events() == [("ADDED", "a")] for c in connections)
        assert hub.queued_bytes == 0  # nothing was queued
        for task in tasks:
            task.cancel()

    asyncio.run(scenario())


def test_past_a_full_connection_events_keep_their_order_and_then_are_written_at_once_again(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        connection = Connection()
        stream = watch(hub, connection)
        stream.start(None)
        task = asyncio.create_task(serve(stream, connection))
        await asyncio.sleep(0)
        store.create(CM + "default/a", cm("a"))
        await until(lambda: connection.wire)
        connection.full = True  # b is refused and queued; c must not overtake it
        store.create(CM + "default/b", cm("b"))
        store.create(CM + "default/c", cm("c"))
        await until(lambda: len(connection.events()) == 3)
        connection.full = False
        await asyncio.sleep(0)  # the stream waits on its empty queue again
        store.update(CM + "default/a", cm("a", {"x": "1"}))
        await until(lambda: len(connection.events()) == 4)
        assert connection.events() == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("MODIFIED", "a")]
        assert [line["object"]["metadata"]["name"] for line in connection.lines_written_now()] == ["a", "a"]
        task.cancel()

    asyncio.run(scenario())


def test_selectors_still_apply_to_what_is_written_at_once(store: SQLiteStore) -> None:
    async def scenario() -> None:
        hub = WatchHub(store)
        connection = Connection()
        stream = watch(hub, connection, "app=web")
        stream.start(None)
        task = asyncio.create_task(serve(stream, connection))
        await asyncio.sleep(0)
        store.create(CM + "default/other", cm("other"))
        store.create(CM + "default/web", cm("web", {"app": "web"}))
        store.update(CM + "default/web", cm("web", {"app": "db"}))  # stops matching: DELETED
        await until(lambda: len(connection.events()) == 2)
        assert connection.events() == [("ADDED", "web"), ("DELETED", "web")]
        task.cancel()

    asyncio.run(scenario())


def test_events_written_meanwhile_reach_each_idle_watcher_in_one_write_each_as_its_watch_shows_them(
    store: SQLiteStore,
) -> None:
    """Four writes before the hub's first turn: every idle watcher gets all it shows of them
    in one write (one TLS record, one send), in revision order, with its own kinds (a
    selector's ADDED and DELETED) and its own encoding, and nothing a second time when the
    hub's turns reach the later events."""

    def table_row(stored: StoredObject) -> bytes:  # stands in for the Table of `kubectl get -w`
        return orjson.dumps({"kind": "Table", "metadata": {"name": "row:" + stored.obj["metadata"]["name"]}})

    async def scenario() -> None:
        hub = WatchHub(store)
        configmaps = by_name("configmaps")
        every, selected, table, other, cluster = (Connection() for _ in range(5))
        streams = [
            watch(hub, every),
            watch(hub, selected, "app=web"),
            WatchStream(hub, configmaps, "default", parse_label_selector(None), parse_field_selector(None),
                        bookmarks=False, timeout_s=60, encode=table_row, write_now=table.write_now),
            WatchStream(hub, configmaps, "other", parse_label_selector(None), parse_field_selector(None),
                        bookmarks=False, timeout_s=60, write_now=other.write_now),
            WatchStream(hub, configmaps, None, parse_label_selector(None), parse_field_selector(None),
                        bookmarks=False, timeout_s=60, write_now=cluster.write_now),
        ]  # fmt: skip
        connections = [every, selected, table, other, cluster]
        tasks = []
        for stream, connection in zip(streams, connections, strict=True):
            stream.start(None)
            tasks.append(asyncio.create_task(serve(stream, connection)))
        await asyncio.sleep(0)  # every stream waits on its empty queue
        store.create(CM + "default/a", cm("a", {"app": "web"}))
        store.update(CM + "default/a", cm("a", {"app": "db"}))  # leaves the selector: DELETED there
        store.create(CM + "other/b", {"metadata": {"name": "b", "namespace": "other"}, "data": {}})
        store.delete(CM + "default/a")
        await until(lambda: not hub.dispatch_pending())
        await asyncio.sleep(0)
        assert every.events() == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
        assert selected.events() == [("ADDED", "a"), ("DELETED", "a")]
        assert table.events() == [("ADDED", "row:a"), ("MODIFIED", "row:a"), ("DELETED", "row:a")]
        assert other.events() == [("ADDED", "b")]
        assert cluster.events() == [("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
        assert [len(c.written_now) for c in connections] == [1, 1, 1, 1, 1]
        assert hub.queued_bytes == 0
        # The plain JSON watchers' bytes are the same event lines, made once.
        assert every.lines_written_now() == [line for line in cluster.lines_written_now() if line["object"]["metadata"]["name"] == "a"]
        for task in tasks:
            task.cancel()

    asyncio.run(scenario())


def test_a_watch_without_bookmarks_is_not_woken_before_its_deadline(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle watchers woken every few seconds for nothing: 1,000 of them cost 200 task
    wake-ups a second. A watch with bookmarks still gets them."""
    monkeypatch.setattr(watch_module, "BOOKMARK_INTERVAL_S", 0.01)

    class CountedEvent(asyncio.Event):
        waits = 0

        async def wait(self) -> Literal[True]:
            self.waits += 1
            return await super().wait()

    async def scenario() -> None:
        hub = WatchHub(store)
        quiet, marked = Connection(), Connection()
        plain = watch(hub, quiet)
        bookmarked = WatchStream(hub, by_name("configmaps"), "default", parse_label_selector(None), parse_field_selector(None),
                                 bookmarks=True, timeout_s=60, write_now=marked.write_now)  # fmt: skip
        plain._ready = CountedEvent()
        tasks = []
        for stream, connection in ((plain, quiet), (bookmarked, marked)):
            stream.start(None)
            tasks.append(asyncio.create_task(serve(stream, connection)))
        loop = asyncio.get_running_loop()
        started = loop.time()
        while len(marked.wire) < 5:
            assert loop.time() - started < 30, "no bookmarks"
            await asyncio.sleep(0.01)
        assert plain._ready.waits == 1
        assert quiet.wire == []
        assert all(orjson.loads(line)["type"] == "BOOKMARK" for line in marked.wire)
        store.create(CM + "default/a", cm("a"))  # and it still hears events
        await until(lambda: quiet.events() == [("ADDED", "a")])
        for task in tasks:
            task.cancel()

    asyncio.run(scenario())

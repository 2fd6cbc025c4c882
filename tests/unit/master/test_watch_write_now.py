"""An idle watcher's events are written to its connection at once, encoded once for all, in order.

The connection is the layer tested around here: ``write_now`` stands for
``master.apiserver.http_protocol.BoundedHttpToolsProtocol.write_now`` and appends to a
list that plays the socket, which the stream's own chunks (what Starlette would send)
go to as well; so the list is the order a client reads.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from kajitori.api.registry import by_name
from kajitori.api.selectors import parse_field_selector, parse_label_selector
from master.apiserver.watch import WatchStream
from master.apiserver.watch_hub import WatchHub
from master.store import SQLiteStore

CM = "/core/configmaps/"


class Connection:
    """What a client would read, in order; ``full`` makes it refuse writes as a socket past its high-water mark."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []
        self.written_now: list[bytes] = []
        self.full = False

    def write_now(self, line: bytes) -> bool:
        if self.full:
            return False
        self.wire.append(line)
        self.written_now.append(line)
        return True

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
        assert [orjson.loads(w)["object"]["metadata"]["name"] for w in connection.written_now] == ["a", "a"]
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

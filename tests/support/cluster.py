"""Fixtures for tests of a whole control plane: a master WITH its controllers and
scheduler per test, a client of it, and hollow nodes whose heartbeats the test controls.
A test folder's conftest (or a test module) imports the fixtures it wants by name."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from kajitori.client import ApiClient
from master.hollow_nodes import HollowCluster
from tests.support.master_process import MasterProcess

T = TypeVar("T")


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """Poll until ``check()`` is truthy; return its value (fails with what it was waiting for)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_for_events(client: ApiClient, reasons: set[str], namespace: str = "default") -> set[str]:
    """Wait until Events with all these reasons exist; return every reason seen.

    Components record Events from a background queue (kajitori/events.py), so an Event
    lands a moment after the change it reports: a test that saw the change must still wait."""

    def seen() -> set[str]:
        items = client.request("GET", f"/api/v1/namespaces/{namespace}/events")["items"]
        found = {e["reason"] for e in items}
        return found if reasons <= found else set()

    return wait_for(seen, what=f"events {sorted(reasons)}")


@pytest.fixture
def cluster_master(tmp_path: Path) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path / "master").start()
    yield proc
    proc.stop()


@pytest.fixture
def client(cluster_master: MasterProcess) -> Iterator[ApiClient]:
    c = cluster_master.client()
    yield c
    c.close()


@pytest.fixture
def hollow(client: ApiClient) -> Iterator[Callable[..., HollowCluster]]:
    made: list[HollowCluster] = []

    def make(names: list[str], sizes: dict[str, tuple[str, str]] | None = None, **kwargs: object) -> HollowCluster:
        cluster = HollowCluster(client, names, **kwargs)  # type: ignore[arg-type]
        cluster.register(sizes)
        made.append(cluster.start())
        return cluster

    yield make
    for cluster in made:
        cluster.stop()

"""An API server in this process (FastAPI app over a SQLite store in a temp dir), for fast HTTP-level tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from kajitori.api.registry import RESOURCES
from master.apiserver.app import ServerState, create_app
from master.apiserver.resources import ResourceAPI
from master.bootstrap import ensure_defaults
from master.store import SQLiteStore, StoreEvent


@contextmanager
def api_server(data_dir: Path, *, history: int = 20_000) -> Iterator[tuple[TestClient, SQLiteStore]]:
    store = SQLiteStore(data_dir / "state.db", history=history)
    api = ResourceAPI(store)
    ensure_defaults(api, advertise_ip="127.0.0.1", port=6443)
    app = create_app(ServerState(store=store, api=api, tokens=None))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, store
    finally:
        store.close()


class Recorder:
    """Every store event of every served collection from now on (what any watcher would hear)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.events: list[StoreEvent] = []
        self._subs = [store.watch(r.collection, store.revision, self.events.append) for r in RESOURCES]

    def cancel(self) -> None:
        for sub in self._subs:
            sub.cancel()

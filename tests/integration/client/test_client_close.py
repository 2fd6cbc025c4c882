"""Closing a client ends the watches other threads read from it, at once, on their own sockets.

A watch blocked in a TLS read while another thread closes the client must not be left
holding the socket's file descriptor number: the next connection of the process gets that
number, and a late read or write of the watch lands on it (CI: another client's handshake
failed with WRONG_VERSION_NUMBER while the watch saw BAD_RECORD_TYPE).
"""

from __future__ import annotations

import threading

import pytest

from kajitori.api.registry import by_name
from kajitori.client import ServerUnavailable
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def test_close_ends_a_watch_read_in_another_thread_and_new_clients_work(tmp_master: MasterProcess) -> None:
    tmp_master.start()
    client = tmp_master.client()
    ended: list[BaseException | None] = []
    reading = threading.Event()

    def watch() -> None:
        try:
            # No bookmarks and a long timeout: nothing arrives on this stream by itself.
            for _ in client.watch_raw(by_name("configmaps"), "default", timeout_seconds=600, bookmarks=False):
                reading.set()
            ended.append(None)
        except BaseException as exc:  # the test reports what ended the watch
            ended.append(exc)

    created = tmp_master.client()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    created.create_raw(by_name("configmaps"), {"metadata": {"name": "first"}}, "default")
    assert reading.wait(30), "the watch saw the first ConfigMap"

    client.close()
    thread.join(30)
    assert not thread.is_alive(), "close() left the watch blocked on its socket"
    assert len(ended) == 1 and isinstance(ended[0], ServerUnavailable), ended

    # New connections of this process are whole: each TLS handshake and answer is their own.
    for i in range(20):
        fresh = tmp_master.client()
        fresh.create_raw(by_name("configmaps"), {"metadata": {"name": f"after-{i}"}}, "default")
        fresh.close()
    created.close()

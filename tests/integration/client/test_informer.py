"""Informers against a real master: list+watch, resume, relist after the master restarts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from kajitori.api import ConfigMap
from kajitori.informer import Informer
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def cm(name: str, value: str = "1") -> ConfigMap:
    return ConfigMap.model_validate({"metadata": {"name": name, "namespace": "default"}, "data": {"v": value}})


def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_informer_follows_changes_and_relists_after_a_master_restart(tmp_master: MasterProcess) -> None:
    tmp_master.start()
    client = tmp_master.client()
    client.create(cm("before"))
    informer = Informer(client, ConfigMap, namespace="default").start()
    deleted: list[str] = []
    informer.add_handlers(on_delete=lambda o: deleted.append(o.metadata.name or ""))
    assert informer.wait_synced(10)
    assert informer.get("default/before") is not None

    client.create(cm("live"))
    client.patch(ConfigMap, "live", {"data": {"v": "2"}}, "default")
    until(lambda: (o := informer.get("default/live")) is not None and (o.data or {}).get("v") == "2")

    # The master dies; while it is away the informer keeps its cache.
    tmp_master.kill()
    assert informer.get("default/live") is not None
    # It comes back with an empty watch history, and changes happen that no watch saw.
    tmp_master.start()
    other = tmp_master.client()
    other.delete(ConfigMap, "before", "default")
    other.create(cm("after"))
    # Resuming from the old version answers 410; the informer relists and converges,
    # telling its handlers about the delete it never saw as an event.
    until(lambda: informer.get("default/after") is not None and informer.get("default/before") is None, timeout=30)
    assert "before" in deleted
    informer.stop()

"""Informers against a real master: list+watch, resume, relist after the master restarts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kajitori.api import ConfigMap
from kajitori.api.registry import by_name
from kajitori.informer import Informer
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def cm(name: str, value: str = "1") -> ConfigMap:
    return ConfigMap.model_validate({"metadata": {"name": name, "namespace": "default"}, "data": {"v": value}})


def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_informer_follows_changes_and_relists_after_a_master_restart(tmp_master: MasterProcess) -> None:
    tmp_master.start()
    client = tmp_master.client()
    client.create(cm("before"))
    informer = Informer(client, ConfigMap, namespace="default").start()
    try:
        deleted: list[str] = []
        informer.add_handlers(on_delete=lambda o: deleted.append(o.metadata.name or ""))
        assert informer.wait_synced(60)
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
    finally:
        informer.stop()  # its thread would retry a dead master for the rest of the session


def test_an_annotation_with_a_unicode_line_separator_reaches_the_informer_without_a_relist(
    master: MasterProcess,
) -> None:
    client = master.client()
    client.create_raw(by_name("namespaces"), {"metadata": {"name": "u2028"}})
    lists = 0
    list_raw = client.list_raw

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal lists
        lists += 1
        return list_raw(*args, **kwargs)

    client.list_raw = counted  # type: ignore[method-assign]
    informer = Informer(client, ConfigMap, namespace="u2028").start()
    try:
        assert informer.wait_synced(60)
        value = "one\u2028two\u2029three\u0085four"
        client.create_raw(
            by_name("configmaps"), {"metadata": {"name": "sep", "annotations": {"note": value}}}, "u2028"
        )
        client.create_raw(by_name("configmaps"), {"metadata": {"name": "after"}}, "u2028")
        until(lambda: informer.get("u2028/after") is not None)
        got = informer.get("u2028/sep")
        assert got is not None and (got.metadata.annotations or {}).get("note") == value
        assert lists == 1  # both came through the watch: the stream was never cut and relisted
    finally:
        informer.stop()

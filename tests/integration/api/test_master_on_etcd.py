"""A real `kajitori master --store etcd` on a real etcd, driven by the project's client:
create, list, watch, kill -9 while writing, restart; every acknowledged object is there.
A write that waits on etcd does not hold up the master's reads; with etcd gone, writes
answer 503 naming the storage and reads are still answered from the master's cache."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori.api import Pod
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, ApiError
from tests.support.cluster import wait_for
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess
from tests.support.processes import freeze

pytestmark = pytest.mark.integration


def pod_doc(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    proc = EtcdProcess(tmp_path / "etcd").start()
    yield proc
    proc.stop()


@pytest.fixture
def etcd_master(tmp_path: Path, etcd: EtcdProcess) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path / "master", extra_args=["--no-controllers", "--store", "etcd", "--etcd-servers", etcd.url])
    yield proc
    proc.stop()


def test_master_on_etcd_serves_and_keeps_every_acknowledged_write_across_kill_9(
    etcd_master: MasterProcess, etcd: EtcdProcess
) -> None:
    etcd_master.start()
    client = etcd_master.client()
    pods = by_name("pods")
    first = client.create(Pod.model_validate(pod_doc("first")))
    listed = client.list_raw(pods, "default")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["first"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(first.metadata.resourceVersion or 0)
    events = client.watch_raw(pods, "default", resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=30)
    client.create(Pod.model_validate(pod_doc("second")))
    event = next(events)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "second")
    events.close()  # type: ignore[attr-defined]
    # The SQLite file is not where the objects are.
    assert not (etcd_master.data_dir / "state.db").exists()

    acknowledged: list[str] = []
    writer_client = etcd_master.client()

    def writer() -> None:
        for n in range(5000):
            try:
                writer_client.create(Pod.model_validate(pod_doc(f"d{n}")))
            except Exception:
                return
            acknowledged.append(f"d{n}")

    t = threading.Thread(target=writer)
    t.start()
    wait_for(lambda: len(acknowledged) >= 20, what="20 acknowledged writes")
    etcd_master.kill()  # SIGKILL while writes are in flight
    t.join(30)
    writer_client.close()
    client.close()
    etcd_master.start()
    with etcd_master.client() as again:
        stored = {p.metadata.name for p in again.list(Pod, "default").items}
    assert {"first", "second", *acknowledged} <= stored


def unread_request_bytes(port: int) -> int:
    """Bytes clients sent to ``port`` that its (stopped) server has not read yet."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":  # ESTABLISHED, server side
                    total += int(fields[4].split(":")[1], 16)
    return total


def test_reads_are_answered_while_a_write_waits_on_etcd(etcd_master: MasterProcess, etcd: EtcdProcess) -> None:
    # The write must still be waiting when etcd answers again, however slow the machine.
    etcd_master.extra_args += ["--etcd-request-timeout", "60"]
    etcd_master.start()
    client = etcd_master.client()
    client.create(Pod.model_validate(pod_doc("existing")))
    result: list[object] = []
    freeze(etcd.pid)  # etcd takes requests and answers none
    try:
        writer = threading.Thread(target=lambda: result.append(client.create(Pod.model_validate(pod_doc("slow")))))
        writer.start()
        wait_for(lambda: unread_request_bytes(etcd.client_port) > 0, what="the create to reach etcd")
        with etcd_master.client(timeout=5.0) as reader:
            assert reader.get(Pod, "existing", "default").metadata.name == "existing"
            assert [p.metadata.name for p in reader.list(Pod, "default").items] == ["existing"]
        assert writer.is_alive()  # the write was still waiting on etcd all along
    finally:
        os.kill(etcd.pid, signal.SIGCONT)
    writer.join(30)
    assert len(result) == 1 and client.get(Pod, "slow", "default").metadata.name == "slow"
    client.close()


def test_with_etcd_gone_writes_answer_503_and_reads_come_from_the_cache(
    etcd_master: MasterProcess, etcd: EtcdProcess
) -> None:
    etcd_master.start()
    with etcd_master.client() as client:
        client.create(Pod.model_validate(pod_doc("kept")))
        etcd.kill()
        with pytest.raises(ApiError) as refused:
            client.create(Pod.model_validate(pod_doc("refused")))
        assert refused.value.code == 503 and "storage unavailable" in str(refused.value)
        assert [p.metadata.name for p in client.list(Pod, "default").items] == ["kept"]
        etcd.start()  # back on the same data dir and ports: writes work again
        wait_for(lambda: _created(client, "later"), what="a write to succeed once etcd is back")
        assert {p.metadata.name for p in client.list(Pod, "default").items} == {"kept", "later"}


def _created(client: ApiClient, name: str) -> bool:
    try:
        client.create(Pod.model_validate(pod_doc(name)))
    except ApiError as exc:
        if exc.code == 503:
            return False
        raise
    return True

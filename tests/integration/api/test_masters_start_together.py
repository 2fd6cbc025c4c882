"""Masters started at the same moment on one empty etcd all come up (issue 12).

Each master makes the cluster's defaults at start (``master.bootstrap``: the default
namespaces and their ServiceAccounts, the ``kubernetes`` Service, the default classes,
the RBAC defaults). Started together, two of them try to create the same object; the
one that loses got AlreadyExists (or, for the ``kubernetes`` Service, "provided IP is
already allocated" from a cache that already had the winner's) and exited, and only
systemd's Restart=always hid it. Every master must stay up, and each default exist once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from master.bootstrap import DEFAULT_NAMESPACES
from master.cluster_pki import init_shared
from tests.support.etcd_process import EtcdProcess
from tests.support.ha_cluster import share_identity
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

MASTERS = 3


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[list[MasterProcess], list[str]]]:
    etcd = EtcdProcess(tmp_path / "etcd").start()
    shared = MasterProcess(tmp_path / "shared")
    init_shared(shared.data_dir, "https://127.0.0.1:6443")
    masters = [
        MasterProcess(tmp_path / f"m{i}", extra_args=["--store", "etcd", "--etcd-servers", etcd.url])
        for i in range(MASTERS)
    ]
    for master in masters:
        share_identity(shared, master)
    failures: list[str] = []
    gate = threading.Barrier(MASTERS)

    def start(master: MasterProcess) -> None:
        gate.wait()
        try:
            master.start()
        except RuntimeError as exc:  # it exited (or never became ready): its log is in the message
            failures.append(f"{master.data_dir.name}: {str(exc)[-1500:]}")

    threads = [threading.Thread(target=start, args=(m,)) for m in masters]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        yield masters, failures
    finally:
        for master in masters:
            master.stop()
        etcd.stop()


def test_masters_started_together_on_an_empty_etcd_all_stay_up(
    started: tuple[list[MasterProcess], list[str]],
) -> None:
    masters, failures = started
    assert failures == []
    assert all(m.proc is not None and m.proc.poll() is None for m in masters), "a master exited"
    for master in masters:
        log = master.log_path.read_text() if master.log_path else ""
        assert "Traceback" not in log and "AlreadyExists" not in log and "already allocated" not in log, log[
            -2000:
        ]
    client = masters[-1].client()
    try:
        names = [n["metadata"]["name"] for n in client.request("GET", "/api/v1/namespaces")["items"]]
        assert sorted(n for n in names if n in DEFAULT_NAMESPACES) == sorted(DEFAULT_NAMESPACES)
        service = client.request("GET", "/api/v1/namespaces/default/services/kubernetes")
        assert service["spec"]["clusterIP"] == "10.96.0.1"
        classes = client.request("GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
        assert [c["metadata"]["name"] for c in classes] == ["local-path"]
        for namespace in DEFAULT_NAMESPACES:
            client.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
        roles = client.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin")
        assert roles["metadata"]["name"] == "cluster-admin"
    finally:
        client.close()

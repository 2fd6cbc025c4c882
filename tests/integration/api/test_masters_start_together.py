"""Masters started at the same moment on one empty etcd all come up (issue 12).

Each master makes the cluster's defaults at start (``master.bootstrap``: the default
namespaces and their ServiceAccounts, the ``kubernetes`` Service, the default classes,
the RBAC defaults). Started together, two of them try to create the same object; the
one that loses got AlreadyExists (or, for the ``kubernetes`` Service, "provided IP is
already allocated" from a cache that already had the winner's) and exited, and only
systemd's Restart=always hid it. Every master must stay up, and each default exist once.
Whether two starts overlap depends on the machine, so it is tried ROUNDS times, etcd
emptied in between.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from master.bootstrap import DEFAULT_NAMESPACES
from master.cluster_pki import init_shared
from master.store.etcd_client import prefix_end
from tests.support.etcd_process import EtcdProcess
from tests.support.ha_cluster import share_identity
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

MASTERS = 3
ROUNDS = 3


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    process = EtcdProcess(tmp_path / "etcd").start()
    try:
        yield process
    finally:
        process.stop()


def start_together(masters: list[MasterProcess]) -> list[str]:
    """Start every master at the same moment; the log tail of each that exited or never became ready."""
    failures: list[str] = []
    gate = threading.Barrier(len(masters))

    def start(master: MasterProcess) -> None:
        gate.wait()
        try:
            master.start()
        except RuntimeError as exc:  # its log is in the message
            failures.append(f"{master.data_dir.name}: {str(exc)[-1500:]}")

    threads = [threading.Thread(target=start, args=(m,)) for m in masters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def check_defaults_once(master: MasterProcess) -> None:
    client = master.client()
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


def empty(etcd: EtcdProcess) -> None:
    """Delete every key of the masters (``/registry...``): the next round starts on an empty etcd."""
    prefix = b"/registry"
    body = {
        "key": base64.b64encode(prefix).decode(),
        "range_end": base64.b64encode(prefix_end(prefix)).decode(),
    }
    httpx.post(f"{etcd.url}/v3/kv/deleterange", json=body, timeout=10.0).raise_for_status()


def test_masters_started_together_on_an_empty_etcd_all_stay_up(etcd: EtcdProcess, tmp_path: Path) -> None:
    shared = MasterProcess(tmp_path / "shared")
    init_shared(shared.data_dir, "https://127.0.0.1:6443")
    for round_ in range(ROUNDS):
        args = ["--store", "etcd", "--etcd-servers", etcd.url]
        masters = [MasterProcess(tmp_path / f"r{round_}-m{i}", extra_args=args) for i in range(MASTERS)]
        for master in masters:
            share_identity(shared, master)
        try:
            failures = start_together(masters)
            assert failures == [], f"round {round_}"
            check_defaults_once(masters[-1])
            # Still up after all that (a master that lost a race used to exit during its start).
            exited = [m.data_dir.name for m in masters if m.proc is None or m.proc.poll() is not None]
            assert exited == [], f"round {round_}"
        finally:
            for master in masters:
                master.stop()
        empty(etcd)

"""Two real masters on one real etcd: only the Lease holder schedules and runs the
controllers; kill -9 it and the other takes over within lease duration + retry period."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori.api import Lease, Pod
from kajitori.api.registry import by_name
from master.hollow_nodes import HollowCluster
from tests.support.cluster import wait_for
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

LEASE_S, RETRY_S = 4.0, 1.0
SCHEDULING = "scheduler: caches synced, scheduling"


def pod_doc(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}


def leader_of(master: MasterProcess, lease: str) -> str | None:
    """This master's identity if its log says it leads ``lease`` (and has not stopped)."""
    assert master.log_path is not None
    text = master.log_path.read_text()
    found = re.findall(rf"(\S+) (became leader|stopped leading) of kube-system/{lease}", text)
    return found[-1][0] if found and found[-1][1] == "became leader" else None


@pytest.fixture
def two_masters(tmp_path: Path) -> Iterator[tuple[MasterProcess, MasterProcess]]:
    etcd = EtcdProcess(tmp_path / "etcd").start()
    args = ["--store", "etcd", "--etcd-servers", etcd.url]
    a = MasterProcess(tmp_path / "a", extra_args=args)
    b = MasterProcess(tmp_path / "b", extra_args=args)
    try:
        a.start()
        # The masters of one cluster share its CA and tokens (the lab's playbook copies them).
        (b.data_dir / "pki").mkdir(parents=True)
        for name in ("ca.crt", "ca.key"):
            shutil.copy(a.data_dir / "pki" / name, b.data_dir / "pki" / name)
        shutil.copy(a.data_dir / "tokens.json", b.data_dir / "tokens.json")
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()
        etcd.stop()


def test_only_the_leader_schedules_and_the_other_takes_over_after_kill_9(
    two_masters: tuple[MasterProcess, MasterProcess],
) -> None:
    a, b = two_masters
    a_id = wait_for(lambda: leader_of(a, "kube-scheduler"), what="master a to lead kube-scheduler")
    wait_for(lambda: leader_of(a, "kube-controller-manager"), what="master a to lead kube-controller-manager")
    client = b.client()
    hollow = HollowCluster(client, ["n1"])  # heartbeats through b, which outlives a
    hollow.register()
    hollow.start()
    try:
        assert client.get(Lease, "kube-scheduler", "kube-system").spec.holderIdentity == a_id
        client.create(Pod.model_validate(pod_doc("before")))
        wait_for(lambda: client.get(Pod, "before", "default").spec.nodeName == "n1", what="pod 'before' scheduled")
        assert b.log_path is not None and SCHEDULING not in b.log_path.read_text()
        assert leader_of(b, "kube-scheduler") is None and leader_of(b, "kube-controller-manager") is None

        a.kill()
        killed = time.monotonic()
        b_id = wait_for(lambda: leader_of(b, "kube-scheduler"), timeout=60, what="master b to lead kube-scheduler")
        took_over = time.monotonic() - killed
        print(f"kube-scheduler lease moved {took_over:.1f} s after kill -9 (lease {LEASE_S} s + retry {RETRY_S} s)")
        assert b_id != a_id
        wait_for(lambda: leader_of(b, "kube-controller-manager"), timeout=30, what="b to lead kube-controller-manager")
        lease = client.get(Lease, "kube-scheduler", "kube-system").spec
        assert (lease.holderIdentity, lease.leaseTransitions) == (b_id, 1)
        client.create(Pod.model_validate(pod_doc("after")))
        wait_for(lambda: client.get(Pod, "after", "default").spec.nodeName == "n1", what="pod 'after' scheduled by b")
        # Each hand-over is an Event on its Lease.
        events = client.list_raw(by_name("events"), "kube-system")["items"]
        messages = {e["message"] for e in events if e.get("reason") == "LeaderElection"}
        assert {f"{a_id} became leader", f"{b_id} became leader"} <= messages
    finally:
        hollow.stop()
        client.close()

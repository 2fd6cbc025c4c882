"""Two real masters on one real etcd: only the Lease holder schedules and runs the
controllers; kill -9 it and the other takes over within lease duration + retry period."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori.api import Lease, Pod
from kajitori.api.registry import by_name
from master.hollow_nodes import HollowCluster
from tests.support.cluster import wait_for
from tests.support.ha_cluster import leader_of, two_masters_on_one_etcd
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

LEASE_S, RETRY_S = 4.0, 1.0
SCHEDULING = "scheduler: caches synced, scheduling"


def pod_doc(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}


@pytest.fixture
def two_masters(tmp_path: Path) -> Iterator[tuple[MasterProcess, MasterProcess]]:
    with two_masters_on_one_etcd(tmp_path) as (_etcd, a, b):
        yield a, b


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

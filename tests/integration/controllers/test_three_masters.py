"""Three real masters on a real three-member etcd cluster, on loopback: what issue 12 asks of
a control plane that survives the loss of any one machine.

- an acknowledged write through one master is read through the other two;
- kill -9 of the master that leads the scheduler and the controllers: both Leases move, a
  Deployment created afterwards gets its pods scheduled onto hollow nodes, and the
  ``kubernetes`` Endpoints drop the killed master's address once its Lease has expired;
- kill -9 of an etcd member (the one the survivors ask first): writes go on;
- a graceful stop (SIGTERM, as a machine's halt sends) of the leading master hands over at
  once: it releases both leader Leases and deletes its own Lease while its API server still
  serves, so the others lead and drop its address well before either Lease could expire.

Every wait is on a condition; every process is ended by its PID in the fixture.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kajitori.api import ConfigMap, Deployment, Endpoints, Lease, Pod
from kajitori.client import AlreadyExistsError, ApiClient, ApiError, NotFoundError
from master.hollow_nodes import HollowCluster
from tests.support.cluster import wait_for
from tests.support.ha_cluster import HACluster, leader_of

pytestmark = pytest.mark.integration

LEASES = ("kube-scheduler", "kube-controller-manager")


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[HACluster]:
    cluster = HACluster(tmp_path).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def config_map(name: str) -> ConfigMap:
    return ConfigMap.model_validate({"metadata": {"name": name}, "data": {"written": name}})


def deployment(name: str, replicas: int) -> Deployment:
    labels = {"app": name}
    return Deployment.model_validate({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}},
        },
    })  # fmt: skip


def api_ports(client: ApiClient) -> set[int]:
    try:
        eps = client.get(Endpoints, "kubernetes", "default")
    except NotFoundError:  # not yet in this master's cache
        return set()
    return {p.port for s in eps.subsets or [] for p in s.ports or []}


def scheduled(client: ApiClient, app: str, replicas: int) -> bool:
    pods = client.list(Pod, "default", label_selector=f"app={app}").items
    return len(pods) == replicas and all(p.spec.nodeName in ("n1", "n2") for p in pods)


def created(client: ApiClient, name: str) -> Any:
    """The ConfigMap as stored, or None while the API answers 503 (etcd electing a leader)."""
    try:
        return client.create(config_map(name))
    except AlreadyExistsError:  # a 503'd try that did apply after all
        return client.get(ConfigMap, name, "default")
    except ApiError as exc:
        if exc.code == 503:
            return None
        raise


def test_three_masters_survive_a_master_and_an_etcd_member_killed(ha: HACluster) -> None:
    a, b, c = ha.masters
    a_id = wait_for(lambda: leader_of(a, LEASES[0]), what="master a to lead kube-scheduler")
    wait_for(lambda: leader_of(a, LEASES[1]), what="master a to lead kube-controller-manager")
    clients = [m.client() for m in (a, b, c)]
    ca, cb, cc = clients
    hollow = HollowCluster(cb, ["n1", "n2"])  # heartbeats through b, which outlives a
    try:
        # The kubernetes Endpoints list all three masters.
        everyone = {m.port for m in ha.masters}
        wait_for(lambda: api_ports(cb) == everyone, what="all three masters in the kubernetes Endpoints")

        # An acknowledged write on a is read on b and c, once their caches (each fed by its own
        # etcd watch) have it: a read there may come a moment before (not found, not yet).
        written = ca.create(config_map("from-a"))
        for other in (cb, cc):

            def written_there(o: ApiClient = other) -> bool:
                return getattr(found(o, "from-a"), "data", None) == {"written": "from-a"}

            wait_for(written_there, what="from-a on b and c")
            assert other.get(ConfigMap, "from-a", "default").metadata.resourceVersion == written.metadata.resourceVersion

        hollow.register()
        hollow.start()
        cb.create(deployment("before", 2))
        wait_for(lambda: scheduled(cb, "before", 2), timeout=60, what="'before' scheduled by a")

        # kill -9 of the leader: both Leases move to b or c.
        a.kill()

        def new_leader(lease: str) -> str | None:
            return leader_of(b, lease) or leader_of(c, lease)

        for lease in LEASES:
            holder = wait_for(partial(new_leader, lease), timeout=60, what=f"{lease} to move off a")
            assert holder != a_id

            def held_by(lease: str = lease, holder: str | None = holder) -> bool:
                return cc.get(Lease, lease, "kube-system").spec.holderIdentity == holder

            wait_for(held_by, what=f"{lease} held by {holder}")
        cc.create(deployment("after", 3))
        wait_for(lambda: scheduled(cc, "after", 3), timeout=90, what="'after' scheduled by the new leaders")
        wait_for(lambda: api_ports(cc) == {b.port, c.port}, timeout=60, what="a's address dropped from the Endpoints")

        # kill -9 of the etcd member b asks first: writes through b and c go on.
        assert ha.etcd is not None
        ha.etcd.kill(1)
        wait_for(lambda: created(cb, "after-etcd-loss"), timeout=60, what="a write through b after the member's loss")
        for i in range(5):
            stored = cc.create(config_map(f"through-c-{i}"))
            # b's cache follows etcd's watch: the write through c shows there a moment later.
            wait_for(partial(found, cb, f"through-c-{i}"), what=f"through-c-{i} on b")
            assert cb.get(ConfigMap, f"through-c-{i}", "default").metadata.resourceVersion == stored.metadata.resourceVersion
    finally:
        hollow.stop()
        for client in clients:
            client.close()


def found(client: ApiClient, name: str) -> ConfigMap | None:
    try:
        return client.get(ConfigMap, name, "default")
    except NotFoundError:
        return None


def test_a_master_stopped_gracefully_hands_over_before_its_leases_expire(ha: HACluster) -> None:
    a, b, c = ha.masters
    a_id = wait_for(lambda: leader_of(a, LEASES[0]), what="master a to lead kube-scheduler")
    wait_for(lambda: leader_of(a, LEASES[1]), what="master a to lead kube-controller-manager")
    with b.client(timeout=2.0) as cb:
        everyone = {m.port for m in ha.masters}
        wait_for(lambda: api_ports(cb) == everyone, what="all three masters in the kubernetes Endpoints")
        stopped_at = time.monotonic()
        a.stop()  # SIGTERM, waited for
        exited_in = time.monotonic() - stopped_at
        moved: dict[str, float] = {}
        for lease in LEASES:

            def led_by_another(lease: str = lease) -> bool:
                holder = cb.get(Lease, lease, "kube-system").spec.holderIdentity
                return holder not in (None, a_id)

            wait_for(led_by_another, timeout=30, interval=0.05, what=f"{lease} taken by b or c")
            moved[lease] = time.monotonic() - stopped_at
        wait_for(lambda: api_ports(cb) == {b.port, c.port}, timeout=30, interval=0.05, what="a's address dropped from the Endpoints")
        dropped = time.monotonic() - stopped_at
    print(f"a exited in {exited_in:.2f} s; Leases taken after {moved}; a's address dropped after {dropped:.2f} s")
    # Without the hand-over, the others wait for each Lease to expire: the leader Leases last
    # 4 s (taken >= 3 s after the last renewal was seen), a master's own Lease 6 s.
    assert max(moved.values()) < 2.5, f"Leases taken {moved} s after the stop (a exited in {exited_in:.1f} s)"
    assert dropped < 2.5, f"a's address dropped {dropped:.1f} s after the stop (a exited in {exited_in:.1f} s)"

"""Two real masters on one real etcd: the ``kubernetes`` Endpoints list both, from their Leases, as
kube-apiserver's lease endpoint reconciler keeps them; they are not rewritten while nothing
changes; a master killed with -9 leaves them once its Lease has expired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api import Endpoints, Lease
from kajitori.client import ApiClient
from master.master_endpoints import API_ADDRESS, IDENTITY_LABEL
from tests.support.cluster import wait_for
from tests.support.ha_cluster import two_masters_on_one_etcd
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def two_masters(tmp_path: Path) -> Iterator[tuple[MasterProcess, MasterProcess]]:
    with two_masters_on_one_etcd(tmp_path, controllers=False) as (_etcd, a, b):
        yield a, b


def api_endpoints(client: ApiClient) -> set[tuple[str, int]]:
    eps = client.get(Endpoints, "kubernetes", "default")
    return {(a.ip, p.port) for s in eps.subsets or [] for a in s.addresses or [] for p in s.ports or []}


def master_leases(client: ApiClient) -> dict[str, Lease]:
    leases = client.list(Lease, "kube-system", label_selector=f"{IDENTITY_LABEL}=kube-apiserver").items
    return {(lease.metadata.annotations or {})[API_ADDRESS]: lease for lease in leases}


def test_the_kubernetes_endpoints_follow_the_masters_leases(two_masters: tuple[MasterProcess, MasterProcess]) -> None:
    a, b = two_masters
    both = {("127.0.0.1", a.port), ("127.0.0.1", b.port)}
    with b.client() as client:
        wait_for(lambda: api_endpoints(client) == both, what="both masters in the kubernetes Endpoints")
        leases = master_leases(client)
        assert set(leases) == {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}
        assert all(lease.metadata.name and lease.metadata.name.startswith("apiserver-") for lease in leases.values())

        # Renewals go on; the Endpoints, unchanged, are not written again.
        written = client.get(Endpoints, "kubernetes", "default").metadata.resourceVersion
        renewed = {k: lease.metadata.resourceVersion for k, lease in leases.items()}

        def renewed_twice() -> bool:
            now = master_leases(client)
            return all(now[k].metadata.resourceVersion != rv for k, rv in renewed.items())

        wait_for(renewed_twice, what="both Leases renewed")
        renewed = {k: lease.metadata.resourceVersion for k, lease in master_leases(client).items()}
        wait_for(renewed_twice, what="both Leases renewed again")
        assert client.get(Endpoints, "kubernetes", "default").metadata.resourceVersion == written

        a.kill()
        wait_for(lambda: api_endpoints(client) == {("127.0.0.1", b.port)}, timeout=60, what="a's address dropped")
        wait_for(lambda: set(master_leases(client)) == {f"127.0.0.1:{b.port}"}, what="a's expired Lease deleted")

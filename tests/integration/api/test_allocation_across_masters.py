"""ClusterIPs, NodePorts and pod CIDRs are handed out once across masters (issue 12).

Two real masters share one real etcd, and writes go through both at the same moment. A
master used to pick a free number from what its own cache showed, under a lock of its
own only, so two masters could hand out the same one: a pod CIDR (the lowest free /24)
to two Nodes registering together, or one ClusterIP/NodePort asked for by two Services.
Each allocating write now commits only if no other allocation was committed since its
master's cache was brought up to date (``master.store.etcd``: the allocation fence).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kajitori.client import ApiError
from tests.support.ha_cluster import two_masters_on_one_etcd
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

SERVICES = "/api/v1/namespaces/default/services"
ROUNDS = 30
PER_MASTER = 30


@pytest.fixture
def masters(tmp_path: Path) -> Iterator[list[MasterProcess]]:
    with two_masters_on_one_etcd(tmp_path, controllers=False) as (_etcd, a, b):
        yield [a, b]


def together(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at the same moment, each in its own thread; each one's result or exception."""
    gate = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        gate.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # the refusal is the point
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def service(name: str, *, ip: str | None = None, node_port: int | None = None) -> dict[str, Any]:
    port: dict[str, Any] = {"port": 80, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    spec: dict[str, Any] = {"type": "NodePort", "ports": [port], "selector": {"app": name}}
    if ip:
        spec["clusterIP"] = ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_a_number_asked_for_through_both_masters_at_once_is_given_once(masters: list[MasterProcess]) -> None:
    clients = [m.client() for m in masters]
    try:
        given_twice: list[str] = []
        for i in range(ROUNDS):
            ip, port = f"10.100.{i // 200}.{i % 200 + 10}", 31000 + i
            bodies = [service(f"want-{i}-{side}", ip=ip, node_port=port) for side in range(len(clients))]
            results = together(
                [
                    partial(c.request, "POST", SERVICES, body=body)
                    for c, body in zip(clients, bodies, strict=True)
                ]
            )
            made = [r for r in results if isinstance(r, dict)]
            refused = [r for r in results if isinstance(r, ApiError)]
            assert len(made) + len(refused) == 2, results
            assert all(r.code == 422 for r in refused), [str(r) for r in refused]
            if len(made) != 1:
                given_twice.append(f"{ip}/{port}")
        print(
            f"{ROUNDS} rounds: the same ClusterIP and NodePort given to both Services in {len(given_twice)}"
        )
        assert given_twice == []
    finally:
        for c in clients:
            c.close()


def test_services_and_nodes_made_through_both_masters_at_once_get_distinct_numbers(
    masters: list[MasterProcess],
) -> None:
    clients = [m.client() for m in masters]
    try:

        def make_services(side: int) -> None:
            for i in range(PER_MASTER):
                clients[side].request("POST", SERVICES, body=service(f"svc-{side}-{i}"))

        def make_nodes(side: int) -> None:
            for i in range(PER_MASTER // 3):
                clients[side].request(
                    "POST",
                    "/api/v1/nodes",
                    body={"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n-{side}-{i}"}},
                )

        results = together(
            [
                partial(make_services, 0),
                partial(make_services, 1),
                partial(make_nodes, 0),
                partial(make_nodes, 1),
            ]
        )
        assert [r for r in results if r is not None] == []
        items = clients[0].request("GET", SERVICES)["items"]
        ips = Counter(s["spec"]["clusterIP"] for s in items)
        ports = Counter(p["nodePort"] for s in items for p in s["spec"]["ports"] if p.get("nodePort"))
        cidrs = Counter(n["spec"].get("podCIDR") for n in clients[1].request("GET", "/api/v1/nodes")["items"])
        twice = {
            "clusterIP": [k for k, n in ips.items() if n > 1],
            "nodePort": [k for k, n in ports.items() if n > 1],
            "podCIDR": [k for k, n in cidrs.items() if n > 1],
        }
        print(
            f"{len(items)} Services, {sum(cidrs.values())} Nodes through two masters at once: handed out twice {twice}"
        )
        assert len(items) == 2 * PER_MASTER + 1  # and the kubernetes Service
        assert twice == {"clusterIP": [], "nodePort": [], "podCIDR": []}
    finally:
        for c in clients:
            c.close()

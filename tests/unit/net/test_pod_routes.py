"""PodRouteSync against an in-memory route table: one route per other node, only ours removed."""

from __future__ import annotations

from typing import Any

from net.routes import MemoryRouteTable, PodRouteSync, node_route_from_node


def node(name: str, cidr: str | None, ip: str | None) -> dict[str, Any]:
    addresses = [{"type": "Hostname", "address": name}] + ([{"type": "InternalIP", "address": ip}] if ip else [])
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {}, "status": {"addresses": addresses}}


def test_node_route_needs_cidr_and_internal_ip() -> None:
    route = node_route_from_node(node("node2", "10.244.2.0/24", "192.168.56.12"))
    assert route is not None and (route.pod_cidr, route.via) == ("10.244.2.0/24", "192.168.56.12")
    assert node_route_from_node(node("node2", None, "192.168.56.12")) is None
    assert node_route_from_node(node("node2", "10.244.2.0/24", None)) is None


def test_routes_follow_node_list() -> None:
    table = MemoryRouteTable(routes={"10.244.9.0/24": "192.168.56.19"})  # left by an earlier run
    sync = PodRouteSync("node1", table=table)
    for n in (node("node1", "10.244.1.0/24", "192.168.56.11"), node("node2", "10.244.2.0/24", "192.168.56.12")):
        sync.on_node_update(None, n)
    changes = sync.sync()
    assert table.routes == {"10.244.2.0/24": "192.168.56.12"}  # never a route for the own node
    assert (changes.replaced, changes.deleted) == (["10.244.2.0/24"], ["10.244.9.0/24"])

    assert sync.sync().replaced == []  # idempotent: nothing rewritten

    sync.update_node(node("node2", "10.244.2.0/24", "192.168.56.22"))  # address changed
    sync.update_node(node("node3", "10.244.3.0/24", "192.168.56.13"))
    sync.sync()
    assert table.routes == {"10.244.2.0/24": "192.168.56.22", "10.244.3.0/24": "192.168.56.13"}

    sync.on_node_update(node("node2", "10.244.2.0/24", "192.168.56.22"), None)
    sync.sync()
    assert table.routes == {"10.244.3.0/24": "192.168.56.13"}

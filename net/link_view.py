"""Read-only views of a node's pod network through pyroute2, for `kajitori explain`.

`pod_routes` lists the routes of the main table into the pod network: the node's own podCIDR
on its bridge (Docker's `kt0` network, net/pod_network.py) and one route per other node's
podCIDR via that node (written by net/routes.py, protocol 44). `pod_link` finds, from a pod's
network namespace, the host side of its veth pair and the bridge it is enslaved to: the
pod's `eth0` names its peer's interface index (IFLA_LINK), which is an index in the host's
namespace. Nothing here changes the kernel.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from pyroute2 import IPRoute

from net.routes import MAIN_TABLE, ROUTE_PROTO

CLUSTER_CIDR = "10.244.0.0/16"


@dataclass(frozen=True)
class RouteView:
    destination: str
    gateway: str
    device: str
    protocol: str
    """`kajitori` for routes net/routes.py owns (proto 44), `kernel` for a bridge's own subnet, else the number."""


@dataclass(frozen=True)
class PodLink:
    interface: str
    """The pod side (eth0)."""
    host_veth: str
    bridge: str


def pod_routes(cluster_cidr: str = CLUSTER_CIDR) -> list[RouteView]:
    """Routes of the main table whose destination lies in the cluster's pod network."""
    cluster = ipaddress.ip_network(cluster_cidr)
    out: list[RouteView] = []
    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        for route in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
            dst = route.get_attr("RTA_DST")
            if not dst:
                continue
            network = ipaddress.ip_network(f"{dst}/{route['dst_len']}", strict=False)
            if not network.subnet_of(cluster):  # type: ignore[arg-type]
                continue
            out.append(
                RouteView(
                    destination=str(network),
                    gateway=route.get_attr("RTA_GATEWAY") or "",
                    device=names.get(route.get_attr("RTA_OIF"), "") or "",
                    protocol=_protocol(int(route["proto"])),
                )
            )
    return sorted(out, key=lambda r: ipaddress.ip_network(r.destination))


def _protocol(number: int) -> str:
    return {ROUTE_PROTO: "kajitori", 2: "kernel", 3: "boot", 4: "static"}.get(number, str(number))


def pod_link(netns_path: str, interface: str = "eth0") -> PodLink | None:
    """The host veth and bridge behind `interface` of the namespace at `netns_path`; None if it has none."""
    with IPRoute(netns=netns_path) as inside:
        links = inside.link("get", ifname=interface)
        peer = links[0].get_attr("IFLA_LINK") if links else None
    if not peer:
        return None
    with IPRoute() as host:
        found: list[Any] = host.link("get", index=peer)
        if not found:
            return None
        veth = found[0]
        master = veth.get_attr("IFLA_MASTER")
        bridge = host.link("get", index=master)[0].get_attr("IFLA_IFNAME") if master else ""
    return PodLink(interface=interface, host_veth=veth.get_attr("IFLA_IFNAME") or "", bridge=bridge or "")

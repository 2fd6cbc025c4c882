"""Read-only views of a node's pod network through pyroute2, for `kajitori explain`.

`pod_routes` lists the routes of the main table into the pod network: the node's own podCIDR
on its bridge (Docker's `kt0` network, net/pod_network.py) and one route per other node's
podCIDR via that node (written by net/routes.py, protocol 44). `pod_link` finds, from a pod's
network namespace, the host side of its veth pair and the bridge it is enslaved to: the
pod's `eth0` names its peer's interface index (IFLA_LINK), which is an index in the host's
namespace. Nothing here changes the kernel.

The pod's side is read by a short-lived thread that joins the pod's namespace (`setns(2)`
moves only the calling thread) and opens its netlink socket there, then ends, as
agent/pod_netns.py does for port-forward. Not pyroute2's own `IPRoute(netns=...)`: it forks
a helper process, and a fork of the many-threaded agent hung on a lock another thread held.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from pyroute2 import IPRoute

from net.routes import MAIN_TABLE, ROUTE_PROTO

CLUSTER_CIDR = "10.244.0.0/16"
CLONE_NEWNET = 0x40000000
NETNS_READ_TIMEOUT_S = 10.0


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
    peer = _peer_index(netns_path, interface)
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


def _peer_index(netns_path: str, interface: str) -> int | None:
    """IFLA_LINK of `interface` inside the namespace at `netns_path`, read from a thread that joins it."""
    result: list[int | BaseException | None] = []

    def enter_and_read() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns_path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"entering the network namespace {netns_path}")
            finally:
                os.close(fd)
            with IPRoute() as inside:  # its socket is made in this thread's namespace: the pod's
                links = inside.link("get", ifname=interface)
                result.append(links[0].get_attr("IFLA_LINK") if links else None)
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=enter_and_read, name="netns-link", daemon=True)
    thread.start()
    thread.join(NETNS_READ_TIMEOUT_S)
    if not result:
        raise TimeoutError(f"reading {interface} in {netns_path} took over {NETNS_READ_TIMEOUT_S} s")
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome

"""Cluster-wide number allocation: ClusterIPs, NodePorts, node pod CIDRs.

What is taken is derived from the stored objects at the moment of the write: nothing is
kept beside the objects, so nothing can leak or drift. A deleted Service frees its
numbers by being gone. Check-then-store cannot race: one master runs a kind's allocating
writes one at a time (``master.apiserver.writes``), and masters sharing etcd order them
with the kind's allocation fence (``master.store.etcd``).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
NODE_PORT_RANGE = range(30000, 32768)
# Handed out only when asked for by name (the API and DNS services).
_RESERVED_IPS = {API_SERVICE_IP, DNS_SERVICE_IP}


class AllocationError(ValueError):
    """The requested number is taken or outside its range; the message says which."""


def allocate_cluster_ip(taken: Iterable[str], requested: str | None, *, rng: random.Random | None = None) -> str:
    used = set(taken)
    if requested:
        try:
            ip = ipaddress.ip_address(requested)
        except ValueError:
            raise AllocationError(f"{requested!r} is not a valid IP address") from None
        if ip not in SERVICE_CIDR or ip in (SERVICE_CIDR.network_address, SERVICE_CIDR.broadcast_address):
            raise AllocationError(f"provided IP is not in the valid range. The range of valid IPs is {SERVICE_CIDR}")
        if requested in used:
            raise AllocationError("provided IP is already allocated")
        return requested
    rng = rng or random.Random()
    size = SERVICE_CIDR.num_addresses
    base = int(SERVICE_CIDR.network_address)
    for _ in range(4096):
        candidate = str(ipaddress.ip_address(base + rng.randrange(2, size - 1)))
        if candidate not in used and candidate not in _RESERVED_IPS:
            return candidate
    for offset in range(2, size - 1):  # a nearly full range: scan
        candidate = str(ipaddress.ip_address(base + offset))
        if candidate not in used and candidate not in _RESERVED_IPS:
            return candidate
    raise AllocationError(f"no ClusterIP is free in {SERVICE_CIDR}")


def allocate_node_port(taken: Iterable[int], requested: int | None, *, rng: random.Random | None = None) -> int:
    used = set(taken)
    if requested:
        if requested not in NODE_PORT_RANGE:
            raise AllocationError(
                f"provided port is not in the valid range. The range of valid ports is "
                f"{NODE_PORT_RANGE.start}-{NODE_PORT_RANGE.stop - 1}"
            )
        if requested in used:
            raise AllocationError("provided port is already allocated")
        return requested
    free = [p for p in NODE_PORT_RANGE if p not in used]
    if not free:
        raise AllocationError("range of NodePorts is full")
    return (rng or random.Random()).choice(free)


def allocate_pod_cidr(taken: Iterable[str]) -> str:
    """The lowest free /24 of the pod network (10.244.0.0/24 stays unused: it reads like a network)."""
    used = set(taken)
    for subnet in POD_CIDR.subnets(new_prefix=24):
        if subnet.network_address == POD_CIDR.network_address:
            continue
        if str(subnet) not in used:
            return str(subnet)
    raise AllocationError(f"no /24 is free in {POD_CIDR}")

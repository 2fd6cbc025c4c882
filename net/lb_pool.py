"""The LoadBalancer address pool: a range of lab-network addresses, checked once, shared by master and proxy.

The master's LoadBalancer controller hands addresses out of it; every node's proxy refuses
to put an address on its interface unless the same pool holds it. A pool is always inside
the lab network (`--lab-network`, 192.168.56.0/24 by default): a range reaching outside is
refused when the flags are read, so no flag mistake can make a node answer ARP for an
address of somebody else's network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DEFAULT_POOL = "192.168.56.200-192.168.56.239"
DEFAULT_LAB_NETWORK = "192.168.56.0/24"
LOAD_BALANCER_CLASS = "kajitori.io/l2"
"""Our `spec.loadBalancerClass`; a Service without one is ours too (we are the cluster's default)."""


def is_our_class(load_balancer_class: object) -> bool:
    return load_balancer_class in (None, "", LOAD_BALANCER_CLASS)


class PoolError(ValueError):
    """A pool that is malformed, empty or outside the lab network; the message says which."""


@dataclass(frozen=True)
class AddressPool:
    """Inclusive IPv4 range `first`..`last`, inside `network`."""

    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address
    network: ipaddress.IPv4Network

    @classmethod
    def parse(cls, text: str = DEFAULT_POOL, *, network: str = DEFAULT_LAB_NETWORK) -> AddressPool:
        """`A-B` (inclusive) or a CIDR; PoolError unless every address lies inside `network`'s hosts."""
        try:
            net = ipaddress.IPv4Network(network, strict=True)
            if "-" in text:
                a, b = (ipaddress.IPv4Address(part.strip()) for part in text.split("-", 1))
            else:
                cidr = ipaddress.IPv4Network(text.strip(), strict=True)
                a, b = cidr[0], cidr[-1]
        except ValueError as exc:
            raise PoolError(f"{text!r}: {exc}") from None
        if a > b:
            raise PoolError(f"{text!r}: the first address is after the last")
        # The network and broadcast addresses are never handed out, nor anything outside.
        hosts = (net.network_address + 1, net.broadcast_address - 1)
        if not (hosts[0] <= a and b <= hosts[1]):
            raise PoolError(f"{text!r} is not inside the lab network {net} (its hosts {hosts[0]}-{hosts[1]})")
        return cls(a, b, net)

    def __contains__(self, ip: object) -> bool:
        try:
            addr = ipaddress.IPv4Address(str(ip))
        except ValueError:
            return False
        return self.first <= addr <= self.last and addr in self.network

    def __iter__(self) -> Iterator[str]:
        for value in range(int(self.first), int(self.last) + 1):
            yield str(ipaddress.IPv4Address(value))

    def __len__(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    def first_free(self, taken: Iterable[str]) -> str | None:
        """The lowest address of the pool not in `taken` (lowest first: easy to read, stable in tests)."""
        used = set(taken)
        return next((ip for ip in self if ip not in used), None)

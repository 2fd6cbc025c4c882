"""The kernel side of L2 announcement: load-balancer addresses on the lab interface, and gratuitous ARP.

`PyrouteAddresses` puts an address on the interface that carries the node's InternalIP, as
a /32 labelled `<ifname>:ktlb` (the label is how we recognise ours: nothing else is ever
removed), and after adding it broadcasts a gratuitous ARP from a raw AF_PACKET socket, so
the lab's neighbours (the host, the other nodes) move the address to this node's MAC at
once instead of after their ARP cache times out. No `arping` binary is needed (the node
image has none). Every method refuses an address outside the configured pool: whatever a
Service's status says, a node never answers for anything else.

`MemoryAddresses` is the in-memory fake for unit tests.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyroute2 import IPRoute

from net.lb_pool import AddressPool

log = logging.getLogger(__name__)

LABEL_SUFFIX = ":ktlb"
ETH_P_ARP = 0x0806


class AnnounceError(RuntimeError):
    """The kernel refused an address change, or the node's interface is not found."""


class AddressTable(Protocol):
    def owned(self) -> set[str]:
        """Our load-balancer addresses on the interface (labelled ours, /32, in the pool)."""

    def add(self, ip: str) -> None: ...

    def remove(self, ip: str) -> None: ...

    def announce(self, ip: str) -> None:
        """Tell the neighbours this node now answers for `ip` (gratuitous ARP)."""


def _check(pool: AddressPool, ip: str) -> None:
    if ip not in pool:
        raise AnnounceError(f"{ip} is not in the load-balancer pool {pool} of {pool.network}: refusing to announce it")


def gratuitous_arp(ifname: str, mac: bytes, ip: str) -> bytes:
    """One broadcast ARP request from `ip` for `ip` (RFC 5227's announcement), as an Ethernet frame."""
    addr = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, addr, b"\x00" * 6, addr)
    return b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP) + arp


class PyrouteAddresses:
    """`AddressTable` on the interface holding `node_ip`, in the current network namespace."""

    def __init__(self, pool: AddressPool, node_ip: str | None = None) -> None:
        self.pool = pool
        self.node_ip = node_ip

    def _interface(self, ipr: Any) -> tuple[int, str, bytes]:
        if not self.node_ip:
            raise AnnounceError("the node has no InternalIP yet")
        found = [a["index"] for a in ipr.get_addr(family=socket.AF_INET) if a.get("IFA_ADDRESS") == self.node_ip]
        if not found:
            raise AnnounceError(f"no interface carries the node's InternalIP {self.node_ip}")
        link = ipr.get_links(found[0])[0]
        mac = bytes.fromhex(str(link.get("IFLA_ADDRESS")).replace(":", ""))
        return found[0], str(link.get("IFLA_IFNAME")), mac

    def owned(self) -> set[str]:
        with IPRoute() as ipr:
            return {ip for ip, _index in _ours(ipr, self.pool)}

    def add(self, ip: str) -> None:
        _check(self.pool, ip)
        try:
            with IPRoute() as ipr:
                index, ifname, _mac = self._interface(ipr)
                ipr.addr("add", index=index, address=ip, prefixlen=32, label=_label(ifname))
        except AnnounceError:
            raise
        except Exception as exc:  # pyroute2's NetlinkError and friends
            raise AnnounceError(f"adding {ip}/32: {exc}") from exc
        log.info("answering for %s on %s", ip, ifname)

    def remove(self, ip: str) -> None:
        _check(self.pool, ip)
        try:
            with IPRoute() as ipr:
                for owned_ip, index in _ours(ipr, self.pool):
                    if owned_ip == ip:
                        ipr.addr("del", index=index, address=ip, prefixlen=32)
        except Exception as exc:
            raise AnnounceError(f"removing {ip}/32: {exc}") from exc
        log.info("no longer answering for %s", ip)

    def announce(self, ip: str) -> None:
        _check(self.pool, ip)
        with IPRoute() as ipr:
            _index, ifname, mac = self._interface(ipr)
        try:
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
                sock.bind((ifname, ETH_P_ARP))
                sock.send(gratuitous_arp(ifname, mac, ip))
        except OSError as exc:
            raise AnnounceError(f"gratuitous ARP for {ip} on {ifname}: {exc}") from exc


def _label(ifname: str) -> str:
    label = ifname + LABEL_SUFFIX
    if len(label) > 15:  # IFNAMSIZ - 1
        raise AnnounceError(f"interface name {ifname!r} is too long for the label {label!r}")
    return label


def _ours(ipr: Any, pool: AddressPool) -> list[tuple[str, int]]:
    """(address, interface index) of every address labelled ours, /32 and in the pool, on any interface."""
    found = []
    for msg in ipr.get_addr(family=socket.AF_INET):
        ip, label = msg.get("IFA_ADDRESS"), msg.get("IFA_LABEL") or ""
        if msg["prefixlen"] == 32 and str(label).endswith(LABEL_SUFFIX) and ip in pool:
            found.append((str(ipaddress.IPv4Address(ip)), int(msg["index"])))
    return found


def remove_all(pool: AddressPool) -> list[str]:
    """`kajitori proxy --cleanup`: remove every address of ours (any interface); returns them."""
    removed = []
    with IPRoute() as ipr:
        for ip, index in _ours(ipr, pool):
            ipr.addr("del", index=index, address=ip, prefixlen=32)
            removed.append(ip)
    return removed


@dataclass
class MemoryAddresses:
    """In-memory `AddressTable` for unit tests: what is held, and every change in order."""

    pool: AddressPool
    held: set[str] = field(default_factory=set)
    log: list[tuple[str, str]] = field(default_factory=list)

    def owned(self) -> set[str]:
        return set(self.held)

    def add(self, ip: str) -> None:
        _check(self.pool, ip)
        self.held.add(ip)
        self.log.append(("add", ip))

    def remove(self, ip: str) -> None:
        self.held.discard(ip)
        self.log.append(("remove", ip))

    def announce(self, ip: str) -> None:
        _check(self.pool, ip)
        self.log.append(("announce", ip))

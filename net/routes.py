"""Host-gw pod routes: one kernel route per other node, its podCIDR via its InternalIP.

`PodRouteSync` follows the Node list (`update_node`, `delete_node`, or the informer-style
`on_node_update(old, new)` from any thread) and `sync()` makes the main routing table match:
routes are written with `replace` (idempotent, also fixes a changed address), and only routes
carrying our protocol number (`ROUTE_PROTO`, shown as `proto 44` by `ip route`) are ever
deleted, so routes made by people, Docker or DHCP are never touched.

The kernel side sits behind the small `RouteTable` Protocol: `PyrouteTable` (pyroute2's
`IPRoute`, optionally in another network namespace) on a node, `MemoryRouteTable` in tests.
`sync()` runs in one thread (the caller's); it is cheap enough to call on every Node event
and periodically, which also repairs routes someone deleted.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyroute2 import IPRoute

log = logging.getLogger(__name__)

ROUTE_PROTO = 44
"""rtnetlink protocol number marking Kajitori's routes (unassigned in /etc/iproute2/rt_protos)."""
MAIN_TABLE = 254


class RouteError(RuntimeError):
    """The kernel refused a route change."""


@dataclass(frozen=True)
class NodeRoute:
    """What one other node needs: traffic for its pods goes to its address."""

    node: str
    pod_cidr: str
    via: str


def node_route_from_node(obj: dict[str, Any]) -> NodeRoute | None:
    """The route a v1 Node asks for, or None while it has no podCIDR or no InternalIP yet."""
    name = (obj.get("metadata") or {}).get("name", "")
    pod_cidr = (obj.get("spec") or {}).get("podCIDR") or ""
    addresses = (obj.get("status") or {}).get("addresses") or []
    internal = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    if not name or not pod_cidr or not internal:
        return None
    return NodeRoute(node=name, pod_cidr=str(ipaddress.ip_network(pod_cidr, strict=False)), via=internal)


class RouteTable(Protocol):
    """The routes we own in the main table."""

    def owned(self) -> dict[str, str]:
        """Our routes: destination CIDR -> gateway."""

    def replace(self, cidr: str, gateway: str) -> None: ...

    def delete(self, cidr: str) -> None: ...


class PyrouteTable:
    """`RouteTable` through pyroute2 (`netns` names a namespace under /var/run/netns)."""

    def __init__(self, *, netns: str | None = None, proto: int = ROUTE_PROTO) -> None:
        self._netns = netns
        self._proto = proto

    def _ipr(self) -> Any:
        return IPRoute(netns=self._netns) if self._netns else IPRoute()

    def owned(self) -> dict[str, str]:
        with self._ipr() as ipr:
            routes = ipr.route("dump", family=socket.AF_INET, table=MAIN_TABLE, proto=self._proto)
            return {f"{r.get('dst')}/{r.get('dst_len')}": r.get("gateway") or "" for r in routes}

    def replace(self, cidr: str, gateway: str) -> None:
        try:
            with self._ipr() as ipr:
                ipr.route("replace", dst=cidr, gateway=gateway, table=MAIN_TABLE, proto=self._proto)
        except Exception as exc:  # pyroute2 raises NetlinkError and friends
            raise RouteError(f"route {cidr} via {gateway}: {exc}") from exc

    def delete(self, cidr: str) -> None:
        try:
            with self._ipr() as ipr:
                ipr.route("del", dst=cidr, table=MAIN_TABLE, proto=self._proto)
        except Exception as exc:
            raise RouteError(f"deleting route {cidr}: {exc}") from exc


@dataclass
class MemoryRouteTable:
    """In-memory `RouteTable` for unit tests."""

    routes: dict[str, str] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)

    def owned(self) -> dict[str, str]:
        return dict(self.routes)

    def replace(self, cidr: str, gateway: str) -> None:
        self.routes[cidr] = gateway
        self.log.append(("replace", cidr))

    def delete(self, cidr: str) -> None:
        self.routes.pop(cidr, None)
        self.log.append(("delete", cidr))


@dataclass(frozen=True)
class RouteChanges:
    replaced: list[str]
    deleted: list[str]


class PodRouteSync:
    """Keeps one route per other node; see the module docstring."""

    def __init__(self, own_node: str, *, table: RouteTable | None = None) -> None:
        self._own_node = own_node
        self._table: RouteTable = table or PyrouteTable()
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._nodes: dict[str, NodeRoute] = {}

    def update_node(self, obj: dict[str, Any]) -> None:
        route = node_route_from_node(obj)
        name = (obj.get("metadata") or {}).get("name", "")
        with self._lock:
            if route is None:
                self._nodes.pop(name, None)
            else:
                self._nodes[name] = route
        self._changed.set()

    def delete_node(self, obj: dict[str, Any] | str) -> None:
        name = obj if isinstance(obj, str) else (obj.get("metadata") or {}).get("name", "")
        with self._lock:
            self._nodes.pop(name, None)
        self._changed.set()

    def on_node_update(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None:
            self.update_node(new)
        elif old is not None:
            self.delete_node(old)

    def desired(self) -> dict[str, str]:
        """podCIDR -> gateway for every other node (the own node's pods sit on its bridge)."""
        with self._lock:
            nodes = list(self._nodes.values())
        return {n.pod_cidr: n.via for n in sorted(nodes, key=lambda n: n.node) if n.node != self._own_node}

    def sync(self) -> RouteChanges:
        """Make our routes equal to `desired()`; returns what changed."""
        want = self.desired()
        have = self._table.owned()
        replaced = [cidr for cidr, via in want.items() if have.get(cidr) != via]
        deleted = [cidr for cidr in have if cidr not in want]
        for cidr in deleted:
            self._table.delete(cidr)
        for cidr in replaced:
            self._table.replace(cidr, want[cidr])
        return RouteChanges(replaced=replaced, deleted=deleted)

    def run(self, stop: threading.Event, *, period: float = 30.0) -> None:
        """Sync on every Node change and every `period` s (repairing routes someone removed) until `stop`."""
        while not stop.is_set():
            self._changed.clear()
            try:
                self.sync()
            except RouteError:
                log.exception("pod route sync failed; retrying")
            deadline = time.monotonic() + period
            while not stop.is_set() and not self._changed.is_set() and time.monotonic() < deadline:
                self._changed.wait(timeout=1.0)

    def cleanup(self) -> None:
        """Delete every route we own."""
        for cidr in self._table.owned():
            self._table.delete(cidr)

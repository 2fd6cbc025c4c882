"""`kajitori proxy`: the service proxy, pod routes and L2 announcement of one node, fed by informers.

Informers on Services, Endpoints and Nodes turn API changes into calls on the
``Proxier`` (iptables) and ``PodRouteSync`` (routes to other nodes' pod CIDRs). The
first iptables sync waits until Services and Endpoints are both listed: a restarted
proxy must never write an empty rule set over working rules. While the master is
unreachable the rules stay as they are and the informers retry. The ``L2Announcer``
(its own thread; load-balancer addresses on the lab interface) starts once Leases are
listed too, and gives its addresses up and deletes its Lease when the proxy stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kajitori.api import Endpoints, Node, Service
from kajitori.api.coordination import Lease
from kajitori.api.meta import TypedObject
from kajitori.client import ApiClient
from kajitori.informer import Informer
from net.iptables_proxy import Proxier
from net.l2_announcer import L2Announcer
from net.lb_pool import AddressPool
from net.routes import PodRouteSync

log = logging.getLogger(__name__)


def _as_dicts(handler: Callable[[dict[str, Any] | None, dict[str, Any] | None], None]) -> tuple[
    Callable[[TypedObject], None], Callable[[TypedObject, TypedObject], None], Callable[[TypedObject], None]
]:
    """Informer handlers (typed models) for an engine handler that takes (old, new) dicts."""
    return (
        lambda new: handler(None, new.to_dict()),
        lambda old, new: handler(old.to_dict(), new.to_dict()),
        lambda old: handler(old.to_dict(), None),
    )


class ProxyDaemon:
    def __init__(
        self,
        client: ApiClient,
        node_name: str,
        *,
        proxier: Proxier | None = None,
        routes: PodRouteSync | None = None,
        pool: AddressPool | None = None,
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.proxier = proxier or Proxier(node_name=node_name)
        self.routes = routes or PodRouteSync(node_name)
        self.services = Informer(client, Service)
        self.endpoints = Informer(client, Endpoints)
        self.nodes = Informer(client, Node)
        self.services.add_handlers(*_as_dicts(self.proxier.on_service_update))
        self.endpoints.add_handlers(*_as_dicts(self.proxier.on_endpoints_update))
        self.nodes.add_handlers(*_as_dicts(self.routes.on_node_update))
        self.leases = Informer(client, Lease)
        self.announcer = L2Announcer(
            client, node_name, pool=pool or AddressPool.parse(), services=self.services, endpoints=self.endpoints,
            nodes=self.nodes, leases=self.leases,
        )  # fmt: skip

    def run(self, stop: threading.Event, *, check_period: float = 10.0) -> None:
        for informer in (self.services, self.endpoints, self.nodes, self.leases):
            informer.start()
        log.info("proxy for node %s: waiting for Services, Endpoints and Nodes to be listed", self.node_name)
        while not stop.is_set():
            if all(i.wait_synced(1.0) for i in (self.services, self.endpoints, self.nodes)):
                break
        if stop.is_set():
            return
        routes = threading.Thread(target=self.routes.run, args=(stop,), name="pod-routes", daemon=True)
        routes.start()
        announce_stop = threading.Event()
        announcer = threading.Thread(target=self._announce, args=(announce_stop,), name="l2-announce", daemon=True)
        announcer.start()
        log.info("proxy for node %s: %d services; writing rules", self.node_name, len(self.services.keys()))
        try:
            self.proxier.run(stop, check_period=check_period)
        finally:
            announce_stop.set()
            announcer.join(10)
            for informer in (self.services, self.endpoints, self.nodes, self.leases):
                informer.stop()

    def _announce(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self.leases.wait_synced(1.0):
            pass
        self.announcer.run(stop)

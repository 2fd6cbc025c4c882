"""Cluster DNS as an add-on of the master: names of Services and of headless Services' pods, from informers.

It runs in the master process on ``--dns-listen`` (the lab: 192.168.56.10:53). The
``kube-dns`` Service (10.96.0.10, ports 53/UDP and 53/TCP) has hand-written Endpoints
pointing at that address, so pods reach it through the proxy like any Service.
Names outside cluster.local are refused: nothing is forwarded out of the lab.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kajitori import config
from kajitori.api import Endpoints, Service
from kajitori.client import ApiClient
from kajitori.informer import Informer
from master.settings import MasterSettings
from net.dns import ClusterDNSServer, ServiceNameTable

log = logging.getLogger(__name__)


def start_cluster_dns(settings: MasterSettings) -> Callable[[], None]:
    assert settings.dns_listen is not None
    host, port = settings.dns_listen
    client = ApiClient(config.load(settings.component_kubeconfig("cluster-dns")), user_agent="kajitori-dns")
    table = ServiceNameTable()
    services = Informer(client, Service)
    services.add_handlers(
        on_add=lambda s: table.on_service_update(None, s.to_dict()),
        on_update=lambda old, new: table.on_service_update(old.to_dict(), new.to_dict()),
        on_delete=lambda s: table.on_service_update(s.to_dict(), None),
    )
    endpoints = Informer(client, Endpoints)
    endpoints.add_handlers(
        on_add=lambda e: table.on_endpoints_update(None, e.to_dict()),
        on_update=lambda old, new: table.on_endpoints_update(old.to_dict(), new.to_dict()),
        on_delete=lambda e: table.on_endpoints_update(e.to_dict(), None),
    )
    services.start()
    endpoints.start()
    server = ClusterDNSServer(table, address=host, port=port)
    server.start()
    log.info("cluster DNS serving cluster.local on %s:%d", host, server.port)

    def stop() -> None:
        server.stop()
        services.stop()
        endpoints.stop()

    return stop

"""Cluster DNS over real UDP and TCP sockets on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnslib import RCODE, DNSRecord

from net.dns import ClusterDNSServer, ServiceNameTable

NGINX = {
    "metadata": {"namespace": "default", "name": "nginx"},
    "spec": {
        "clusterIP": "10.96.0.20",
        "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}],
    },
}
HEADLESS = {"metadata": {"namespace": "default", "name": "db"}, "spec": {"clusterIP": "None", "ports": []}}


@pytest.fixture(scope="module")
def dns() -> Iterator[tuple[ServiceNameTable, int]]:
    table = ServiceNameTable()
    table.update_service(NGINX)
    table.update_service(HEADLESS)
    server = ClusterDNSServer(table, address="127.0.0.1", port=0)
    server.start()
    try:
        yield table, server.port
    finally:
        server.stop()


def ask(port: int, name: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
    raw = DNSRecord.question(name, qtype).send("127.0.0.1", port, tcp=tcp, timeout=5)
    return DNSRecord.parse(raw)


@pytest.mark.parametrize("tcp", [pytest.param(False, id="udp"), pytest.param(True, id="tcp")])
def test_service_name_resolves_to_cluster_ip(dns: tuple[ServiceNameTable, int], tcp: bool) -> None:
    reply = ask(dns[1], "nginx.default.svc.cluster.local", tcp=tcp)
    assert reply.header.rcode == RCODE.NOERROR
    assert [str(rr.rdata) for rr in reply.rr] == ["10.96.0.20"]


def test_srv_for_named_ports(dns: tuple[ServiceNameTable, int]) -> None:
    reply = ask(dns[1], "_dns._udp.nginx.default.svc.cluster.local", "SRV")
    assert [(rr.rdata.port, str(rr.rdata.target)) for rr in reply.rr] == [(53, "nginx.default.svc.cluster.local.")]
    assert [str(rr.rdata) for rr in reply.ar] == ["10.96.0.20"]
    assert ask(dns[1], "_http._udp.nginx.default.svc.cluster.local", "SRV").header.rcode == RCODE.NXDOMAIN


@pytest.mark.parametrize(
    ("name", "qtype", "rcode"),
    [
        pytest.param("missing.default.svc.cluster.local", "A", RCODE.NXDOMAIN, id="unknown-service"),
        pytest.param("nginx.other.svc.cluster.local", "A", RCODE.NXDOMAIN, id="other-namespace"),
        pytest.param("db.default.svc.cluster.local", "A", RCODE.NXDOMAIN, id="headless"),
        pytest.param("cluster.local", "A", RCODE.NXDOMAIN, id="zone-apex"),
        pytest.param("nginx.default.svc.cluster.local", "AAAA", RCODE.NOERROR, id="known-name-other-type"),
        pytest.param("example.org", "A", RCODE.REFUSED, id="outside-zone-not-forwarded"),
    ],
)
def test_other_names(dns: tuple[ServiceNameTable, int], name: str, qtype: str, rcode: int) -> None:
    reply = ask(dns[1], name, qtype)
    assert reply.header.rcode == rcode
    assert reply.rr == []


def test_table_follows_service_updates(dns: tuple[ServiceNameTable, int]) -> None:
    table, port = dns
    moved = {**NGINX, "spec": {**NGINX["spec"], "clusterIP": "10.96.0.21"}}  # type: ignore[dict-item]
    table.on_service_update(NGINX, moved)
    assert [str(rr.rdata) for rr in ask(port, "NGINX.default.svc.cluster.local.").rr] == ["10.96.0.21"]
    table.on_service_update(moved, None)
    assert ask(port, "nginx.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    table.update_service(NGINX)


WEB = {"metadata": {"namespace": "default", "name": "web"},
       "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}}  # fmt: skip
WEB_ENDPOINTS = {
    "metadata": {"namespace": "default", "name": "web"},
    "subsets": [{
        "addresses": [{"ip": "10.244.1.7", "hostname": "web-1"}, {"ip": "10.244.2.5", "hostname": "web-0"}],
        "notReadyAddresses": [{"ip": "10.244.1.9", "hostname": "web-2"}],
        "ports": [{"name": "http", "port": 80}],
    }],
}  # fmt: skip


def test_a_headless_service_answers_its_ready_pods_and_each_by_hostname(dns: tuple[ServiceNameTable, int]) -> None:
    table, port = dns
    table.update_service(WEB)
    assert ask(port, "web.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN  # no endpoints yet
    table.on_endpoints_update(None, WEB_ENDPOINTS)
    assert [str(rr.rdata) for rr in ask(port, "web.default.svc.cluster.local").rr] == ["10.244.1.7", "10.244.2.5"]
    assert [str(rr.rdata) for rr in ask(port, "web-0.web.default.svc.cluster.local").rr] == ["10.244.2.5"]
    assert [str(rr.rdata) for rr in ask(port, "web-1.web.default.svc.cluster.local", tcp=True).rr] == ["10.244.1.7"]
    # Not ready, or not a pod of it: no such name.
    assert ask(port, "web-2.web.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask(port, "web-0.nginx.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    srv = ask(port, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert sorted(str(rr.rdata.target) for rr in srv.rr) == ["web-0.web.default.svc.cluster.local.", "web-1.web.default.svc.cluster.local."]
    assert sorted(str(rr.rdata) for rr in srv.ar) == ["10.244.1.7", "10.244.2.5"]
    table.on_endpoints_update(WEB_ENDPOINTS, None)
    assert ask(port, "web-0.web.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    table.delete_service(WEB)

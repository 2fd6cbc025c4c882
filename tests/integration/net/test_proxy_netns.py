"""The service proxy in a real network namespace, with real connections through its rules.

node1 runs the Proxier (through net_driver.py); backends answer with their name in node2 and
node3; the client namespace is outside the cluster. node1's FORWARD policy is DROP, as Docker
leaves it, so forwarded service traffic works only through KT-FORWARD.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.net.netns_lab import (
    BACKENDS,
    DNS_POD,
    NO_ANSWER_TIMEOUT_S,
    NODE_IPS,
    POD_CIDRS,
    Driver,
    NetnsLab,
)

pytestmark = pytest.mark.integration

NODE1 = NODE_IPS["n1"]


def service(name: str, cluster_ip: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": name}, "spec": {"clusterIP": cluster_ip, "ports": ports, **spec}}


def endpoints(name: str, ips: list[str], ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name},
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": ports}] if ips else [],
    }


ALL_IPS = [ip for _, ip in BACKENDS.values()]
WEB = service(
    "web", "10.96.0.20",
    [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}, {"name": "alt", "port": 81, "nodePort": 30081}],
    type="NodePort",
)
WEB_EPS = endpoints("web", ALL_IPS, [{"name": "http", "port": 8080}, {"name": "alt", "port": 8081}])
ECHO = service("echo", "10.96.0.30", [{"name": "echo", "port": 53, "protocol": "UDP", "nodePort": 30053}], type="NodePort")
ECHO_EPS = endpoints("echo", ALL_IPS, [{"name": "echo", "port": 5353, "protocol": "UDP"}])
STICKY = service("sticky", "10.96.0.40", [{"port": 80}], sessionAffinity="ClientIP")
STICKY_EPS = endpoints("sticky", ALL_IPS, [{"port": 8080}])
EMPTY = service(
    "empty", "10.96.0.50",
    [{"name": "tcp", "port": 80, "nodePort": 30050}, {"name": "udp", "port": 81, "protocol": "UDP", "nodePort": 30051}],
    type="NodePort",
)


def nodes() -> list[dict[str, Any]]:
    return [
        {"metadata": {"name": short}, "spec": {"podCIDR": cidr},
         "status": {"addresses": [{"type": "InternalIP", "address": NODE_IPS[short]}]}}
        for short, cidr in POD_CIDRS.items()
    ]


KUBE_DNS = service(
    "kube-dns", "10.96.0.10",
    [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
)
KUBE_DNS_EPS = endpoints(
    "kube-dns", [DNS_POD[1]], [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}]
)


@pytest.fixture(scope="module")
def proxy(backends: NetnsLab) -> Iterator[tuple[NetnsLab, Driver, str]]:
    lab = backends
    # What a node looks like before the proxy: Docker's chains and FORWARD policy.
    lab.exec("n1", "iptables-legacy", "-P", "FORWARD", "DROP")
    lab.exec("n1", "iptables-legacy", "-N", "DOCKER")
    lab.exec("n1", "iptables-legacy", "-A", "DOCKER", "-d", "172.17.0.2/32", "-j", "ACCEPT")
    lab.exec("n1", "iptables-legacy", "-A", "FORWARD", "-j", "DOCKER")
    lab.exec("n1", "iptables-legacy", "-t", "nat", "-N", "DOCKER")
    lab.exec("n1", "iptables-legacy", "-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL",
             "-j", "DOCKER")
    baseline = lab.iptables_save("n1")
    driver = lab.driver("n1")
    driver("routes", own_node="n1", nodes=nodes())
    for obj in (WEB, WEB_EPS, ECHO, ECHO_EPS, STICKY, STICKY_EPS, EMPTY, KUBE_DNS, KUBE_DNS_EPS):
        driver("update_endpoints" if "subsets" in obj else "update_service", obj=obj)
    assert driver("ensure_base_rules") is True
    assert driver("sync")["full"] is True
    yield lab, driver, baseline


def names(replies: list[str]) -> set[str]:
    return {r.split()[0] for r in replies}


def test_cluster_ip_tcp_reaches_every_endpoint_from_outside(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    replies = lab.probe("c", "tcp", "10.96.0.20", 80, 60)
    assert names(replies) == set(BACKENDS)
    # Off-cluster clients are masqueraded, so replies come back through node1.
    assert {r.split()[1] for r in replies} == {NODE1}


def test_cluster_ip_from_the_node_itself(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    assert names(lab.probe("n1", "tcp", "10.96.0.20", 80, 30)) == set(BACKENDS)
    assert names(lab.probe("n1", "tcp", "10.96.0.20", 81, 30)) == set(BACKENDS)  # second port of the service


def test_node_port_tcp_and_udp(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    replies = lab.probe("c", "tcp", NODE1, 30080, 40)
    assert names(replies) == set(BACKENDS)
    assert {r.split()[1] for r in replies} == {NODE1}
    assert names(lab.probe("c", "udp", NODE1, 30053, 40)) == set(BACKENDS)


def test_cluster_ip_udp(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    assert names(lab.probe("c", "udp", "10.96.0.30", 53, 40)) == set(BACKENDS)


def test_session_affinity_keeps_a_client_on_one_endpoint(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    replies = lab.probe("c", "tcp", "10.96.0.40", 80, 20)
    assert len(names(replies)) == 1 and names(replies) <= set(BACKENDS)


@pytest.mark.parametrize(
    ("src", "proto", "host", "port", "outcome"),
    [
        pytest.param("n1", "tcp", "10.96.0.50", 80, "refused", id="cluster-ip-tcp-from-node"),
        pytest.param("c", "tcp", "10.96.0.50", 80, "refused", id="cluster-ip-tcp-forwarded"),
        pytest.param("c", "udp", "10.96.0.50", 81, "refused", id="cluster-ip-udp-forwarded"),
        # The node's own UDP packet is refused before it leaves: send() fails with EPERM.
        pytest.param("n1", "udp", "10.96.0.50", 81, "refused-locally", id="cluster-ip-udp-from-node"),
        pytest.param("c", "tcp", NODE1, 30050, "refused", id="node-port-tcp"),
        pytest.param("c", "udp", NODE1, 30051, "refused", id="node-port-udp"),
    ],
)
def test_service_without_endpoints_is_refused_not_dropped(
    proxy: tuple[NetnsLab, Driver, str], src: str, proto: str, host: str, port: int, outcome: str
) -> None:
    lab, _, _ = proxy
    assert lab.probe(src, proto, host, port, 3) == [outcome] * 3


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_cluster_dns_through_its_service_ip(proxy: tuple[NetnsLab, Driver, str], transport: str) -> None:
    lab, _, _ = proxy
    dns = lab.driver(DNS_POD[0])
    dns("dns_start", address=DNS_POD[1], services=[WEB, KUBE_DNS])
    try:
        for client in ("c", "n1"):
            answer = lab.dns(client, "10.96.0.10", "web.default.svc.cluster.local", "A", transport)
            assert answer == {"rcode": "NOERROR", "answers": ["10.96.0.20"]}
        srv = lab.dns("c", "10.96.0.10", "_http._tcp.web.default.svc.cluster.local", "SRV", transport)
        assert srv == {"rcode": "NOERROR", "answers": ["0 100 80 web.default.svc.cluster.local."]}
        missing = lab.dns("c", "10.96.0.10", "nope.default.svc.cluster.local", "A", transport)
        assert missing == {"rcode": "NXDOMAIN", "answers": []}
        assert lab.dns("c", "10.96.0.10", "example.org", "A", transport)["rcode"] == "REFUSED"
    finally:
        dns.close()


def test_endpoint_changes_are_followed(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, driver, _ = proxy
    driver("update_endpoints", obj=endpoints("web", ["10.244.3.2"], [{"name": "http", "port": 8080}]))
    assert driver("sync")["full"] is False
    assert names(lab.probe("c", "tcp", "10.96.0.20", 80, 10)) == {"n3-a"}
    driver("delete_endpoints", key="default/web")
    driver("sync")
    assert lab.probe("c", "tcp", "10.96.0.20", 80, 2) == ["refused"] * 2
    driver("update_endpoints", obj=WEB_EPS)
    driver("sync")
    assert names(lab.probe("c", "tcp", "10.96.0.20", 80, 40)) == set(BACKENDS)


def test_periodic_check_recovers_after_nat_flush(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, driver, _ = proxy
    lab.exec("n1", "iptables-legacy", "-t", "nat", "-F")
    # Docker's own rule went too; dockerd puts it back when it restarts, the proxy must not.
    lab.exec("n1", "iptables-legacy", "-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL",
             "-j", "DOCKER")
    assert lab.probe("c", "tcp", "10.96.0.20", 80, 1, timeout=NO_ANSWER_TIMEOUT_S) == ["timeout"]
    assert driver("ensure_base_rules") is True
    assert driver("sync")["full"] is True
    assert names(lab.probe("c", "tcp", "10.96.0.20", 80, 40)) == set(BACKENDS)
    assert driver("ensure_base_rules") is False  # nothing missing any more


def test_rules_leave_docker_chains_alone(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, _, _ = proxy
    saved = lab.iptables_save("n1")
    assert "-A DOCKER -d 172.17.0.2/32 -j ACCEPT" in saved
    assert "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER" in saved


def test_cleanup_leaves_tables_as_they_were(proxy: tuple[NetnsLab, Driver, str]) -> None:
    lab, driver, baseline = proxy
    driver("cleanup")
    assert lab.iptables_save("n1") == baseline
    # Back in service for any later test.
    driver("ensure_base_rules")
    driver("sync")
    assert names(lab.probe("c", "tcp", "10.96.0.20", 80, 30)) == set(BACKENDS)

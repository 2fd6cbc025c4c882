"""Rules for LoadBalancer Services: the external address DNATed like the ClusterIP, Cluster and Local policies."""

from __future__ import annotations

from typing import Any

from net.iptables_proxy import Proxier
from net.iptables_rules import endpoint_chain, external_chain, local_chain, service_chain
from net.iptables_runner import RecordingIptables
from net.service_model import Endpoint, ServicePortName, endpoints_from_endpoints, service_ports_from_service

LB_IP = "192.168.56.200"
NAME = ServicePortName("default", "lb", "http")


def lb_service(policy: str = "Cluster", ip: str | None = LB_IP) -> dict[str, Any]:
    status = {"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else {}
    spec = {"type": "LoadBalancer", "clusterIP": "10.96.0.40", "externalTrafficPolicy": policy,
            "ports": [{"name": "http", "port": 80, "nodePort": 30090}]}  # fmt: skip
    return {"metadata": {"namespace": "default", "name": "lb"}, "spec": spec, "status": status}


def lb_endpoints(*pairs: tuple[str, str]) -> dict[str, Any]:
    addresses = [{"ip": ip, "nodeName": node} for ip, node in pairs]
    subsets = [{"addresses": addresses, "ports": [{"name": "http", "port": 8080}]}] if pairs else []
    return {"metadata": {"namespace": "default", "name": "lb"}, "subsets": subsets}


def synced(node: str, *objs: dict[str, Any]) -> tuple[Proxier, str]:
    rec = RecordingIptables()
    proxier = Proxier(iptables=rec, node_name=node)
    for obj in objs:
        (proxier.update_endpoints if "subsets" in obj else proxier.update_service)(obj)
    proxier.sync()
    return proxier, rec.restores[-1]


def _sep(ip: str) -> str:
    return endpoint_chain(NAME, "TCP", Endpoint(ip, 8080))


def test_translation_reads_the_ingress_ip_policy_and_endpoint_nodes() -> None:
    [sp] = service_ports_from_service(lb_service("Local"))
    assert (sp.load_balancer_ips, sp.external_local, sp.node_port) == ((LB_IP,), True, 30090)
    [pending] = service_ports_from_service(lb_service(ip=None))
    assert pending.load_balancer_ips == () and pending.node_port == 30090
    eps = endpoints_from_endpoints(lb_endpoints(("10.244.1.2", "n1")))
    assert eps[NAME] == [Endpoint("10.244.1.2", 8080, "n1")]


def test_cluster_policy_dnats_the_external_ip_to_all_endpoints_masqueraded() -> None:
    _, batch = synced("n1", lb_service(), lb_endpoints(("10.244.1.2", "n1"), ("10.244.2.2", "n2")))
    ext, svc = external_chain(NAME, "TCP"), service_chain(NAME, "TCP")
    assert f"-A KT-SERVICES -d {LB_IP}/32 -p tcp --dport 80 -j {ext}" in batch
    assert f"-A KT-SERVICES -d 10.96.0.40/32 -p tcp --dport 80 -j {svc}" in batch
    assert [line for line in batch.splitlines() if line.startswith(f"-A {ext}")] == [
        f"-A {ext} -j KT-MARK-MASQ",
        f"-A {ext} -j {svc}",
    ]
    assert local_chain(NAME, "TCP") not in batch
    # Anything to the address no DNAT took is refused, whoever holds it.
    assert f"-d {LB_IP}/32 -p tcp -j REJECT --reject-with tcp-reset" in batch
    assert f"-d {LB_IP}/32 -j REJECT --reject-with icmp-port-unreachable" in batch


def test_local_policy_keeps_the_source_and_uses_only_this_nodes_endpoints() -> None:
    eps = lb_endpoints(("10.244.1.2", "n1"), ("10.244.1.3", "n1"), ("10.244.2.2", "n2"))
    _, batch = synced("n1", lb_service("Local"), eps)
    ext, svl, svc = external_chain(NAME, "TCP"), local_chain(NAME, "TCP"), service_chain(NAME, "TCP")
    assert [line for line in batch.splitlines() if line.startswith(f"-A {ext}")] == [
        f"-A {ext} -s 10.244.0.0/16 -j {svc}",
        f"-A {ext} -m addrtype --src-type LOCAL -j KT-MARK-MASQ",
        f"-A {ext} -m addrtype --src-type LOCAL -j {svc}",
        f"-A {ext} -j {svl}",
    ]
    assert [line for line in batch.splitlines() if line.startswith(f"-A {svl}")] == [
        f"-A {svl} -m statistic --mode random --probability 0.5000000000 -j {_sep('10.244.1.2')}",
        f"-A {svl} -j {_sep('10.244.1.3')}",
    ]
    assert "KT-MARK-MASQ" not in "".join(line for line in batch.splitlines() if line.startswith(f"-A {svl}"))


def test_local_policy_on_a_node_without_endpoints_has_no_local_chain_and_refuses() -> None:
    proxier, batch = synced("n3", lb_service("Local"), lb_endpoints(("10.244.2.2", "n2")))
    ext, svl = external_chain(NAME, "TCP"), local_chain(NAME, "TCP")
    assert f":{ext} - [0:0]" in batch and svl not in batch
    assert f"-d {LB_IP}/32 -p tcp -j REJECT --reject-with tcp-reset" in batch
    # An endpoint arriving on n3 adds the local chain in a partial sync of this Service alone.
    proxier.update_endpoints(lb_endpoints(("10.244.2.2", "n2"), ("10.244.3.2", "n3")))
    result = proxier.sync()
    assert result is not None and not result.full


def test_address_change_and_loss_rewrite_the_entry_rules() -> None:
    rec = RecordingIptables()
    proxier = Proxier(iptables=rec, node_name="n1")
    proxier.update_service(lb_service(ip=None))
    proxier.update_endpoints(lb_endpoints(("10.244.1.2", "n1")))
    proxier.sync()
    assert "192.168.56." not in rec.restores[-1] and external_chain(NAME, "TCP") not in rec.restores[-1]
    proxier.update_service(lb_service(ip="192.168.56.201"))
    proxier.sync()
    assert "-d 192.168.56.201/32 -p tcp --dport 80" in rec.restores[-1]
    proxier.update_service(lb_service(ip=None))
    proxier.sync()
    assert f"-X {external_chain(NAME, 'TCP')}" in rec.restores[-1]
    assert "192.168.56.201" not in rec.restores[-1]

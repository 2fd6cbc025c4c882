"""Rule generation of the service proxy: chain names, probabilities, restore text, partial syncs."""

from __future__ import annotations

from typing import Any

import pytest

from net.iptables_proxy import Proxier
from net.iptables_rules import (
    ProxyRuleConfig,
    endpoint_chain,
    probability,
    proxy_jumps,
    service_chain,
    service_port_chains,
)
from net.iptables_runner import IptablesError, RecordingIptables, save_line
from net.service_model import (
    Endpoint,
    ServicePort,
    ServicePortName,
    endpoints_from_endpoints,
    service_ports_from_service,
)


def service(
    name: str, cluster_ip: str, ports: list[dict[str, Any]], *, ns: str = "default", **spec: Any
) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"clusterIP": cluster_ip, "ports": ports, **spec}}


def endpoints(name: str, ips: list[str], ports: list[dict[str, Any]], *, ns: str = "default") -> dict[str, Any]:
    subsets = [{"addresses": [{"ip": ip} for ip in ips], "ports": ports}] if ips else []
    return {"metadata": {"namespace": ns, "name": name}, "subsets": subsets}


WEB = service(
    "web", "10.96.0.20", [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}], type="NodePort"
)
WEB_EPS = endpoints("web", ["10.244.1.2", "10.244.2.2"], [{"name": "http", "port": 8080}])
DNS = service("dns", "10.96.0.10", [{"name": "dns", "port": 53, "protocol": "UDP"}], ns="kube-system")

GOLDEN_FIRST_SYNC = """\
*nat
:KT-SVC-CDGGSHYLG3RE2FKL - [0:0]
:KT-SEP-UIQK3OSOSTRHRPBX - [0:0]
:KT-SEP-4EX2N4PG4ASNZOBF - [0:0]
:KT-SERVICES - [0:0]
:KT-NODEPORTS - [0:0]
:KT-MARK-MASQ - [0:0]
:KT-POSTROUTING - [0:0]
-A KT-SVC-CDGGSHYLG3RE2FKL ! -s 10.244.0.0/16 -j KT-MARK-MASQ
-A KT-SVC-CDGGSHYLG3RE2FKL -m statistic --mode random --probability 0.5000000000 -j KT-SEP-UIQK3OSOSTRHRPBX
-A KT-SVC-CDGGSHYLG3RE2FKL -j KT-SEP-4EX2N4PG4ASNZOBF
-A KT-SEP-UIQK3OSOSTRHRPBX -s 10.244.1.2/32 -j KT-MARK-MASQ
-A KT-SEP-UIQK3OSOSTRHRPBX -p tcp -j DNAT --to-destination 10.244.1.2:8080
-A KT-SEP-4EX2N4PG4ASNZOBF -s 10.244.2.2/32 -j KT-MARK-MASQ
-A KT-SEP-4EX2N4PG4ASNZOBF -p tcp -j DNAT --to-destination 10.244.2.2:8080
-A KT-SERVICES -d 10.96.0.20/32 -p tcp --dport 80 -j KT-SVC-CDGGSHYLG3RE2FKL
-A KT-SERVICES -m comment --comment "kajitori service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KT-NODEPORTS
-A KT-NODEPORTS -p tcp --dport 30080 -j KT-MARK-MASQ
-A KT-NODEPORTS -p tcp --dport 30080 -j KT-SVC-CDGGSHYLG3RE2FKL
-A KT-MARK-MASQ -j MARK --or-mark 0x4000
-A KT-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KT-POSTROUTING -j MARK --xor-mark 0x4000
-A KT-POSTROUTING -m comment --comment "kajitori service traffic requiring SNAT" -j MASQUERADE --random-fully
COMMIT
*filter
:KT-SERVICES - [0:0]
:KT-FORWARD - [0:0]
-A KT-SERVICES -m comment --comment "kajitori: only local sources may reach 127.0.0.0/8" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KT-SERVICES -m comment --comment "kube-system/dns:dns has no endpoints" -d 10.96.0.10/32 -p udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
-A KT-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KT-FORWARD -m comment --comment "kajitori forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KT-FORWARD -s 10.244.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KT-FORWARD -d 10.244.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
"""


def synced_proxier(*objs: dict[str, Any]) -> tuple[Proxier, RecordingIptables]:
    rec = RecordingIptables()
    proxier = Proxier(iptables=rec)
    for obj in objs:
        if "subsets" in obj:
            proxier.update_endpoints(obj)
        else:
            proxier.update_service(obj)
    proxier.sync()
    return proxier, rec


# ---- names and probabilities ---------------------------------------------------------------


def test_chain_names_are_stable_and_fit_iptables() -> None:
    name = ServicePortName("default", "web", "http")
    assert service_chain(name, "TCP") == "KT-SVC-CDGGSHYLG3RE2FKL"
    assert service_chain(name, "UDP") != service_chain(name, "TCP")
    sep = endpoint_chain(name, "TCP", Endpoint("10.244.1.2", 8080))
    assert sep.startswith("KT-SEP-") and len(sep) == 23 <= 28
    assert sep != endpoint_chain(name, "TCP", Endpoint("10.244.1.2", 8081))


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_each_endpoint_is_picked_with_equal_chance(count: int) -> None:
    sp = ServicePort(ServicePortName("default", "web", ""), "TCP", "10.96.0.20", 80)
    eps = [Endpoint(f"10.244.1.{i + 2}", 80) for i in range(count)]
    svc_rules = service_port_chains(sp, eps, ProxyRuleConfig())[service_chain(sp.name, "TCP")][1:]
    assert len(svc_rules) == count
    remaining = 1.0
    for i, rule in enumerate(svc_rules):
        if i == count - 1:
            assert "--probability" not in rule  # the last endpoint takes whatever is left
            chance = 1.0
        else:
            chance = float(rule.split("--probability ")[1].split()[0])
            assert chance == pytest.approx(float(probability(count - i)))
        assert remaining * chance == pytest.approx(1 / count)
        remaining *= 1 - chance


def test_client_ip_affinity_checks_recent_before_picking() -> None:
    svc = service("web", "10.96.0.20", [{"port": 80}], sessionAffinity="ClientIP")
    [sp] = service_ports_from_service(svc)
    assert sp.affinity_timeout == 10800
    eps = [Endpoint("10.244.1.2", 80), Endpoint("10.244.1.3", 80)]
    chains = service_port_chains(sp, eps, ProxyRuleConfig())
    svc_rules = chains[service_chain(sp.name, "TCP")]
    seps = [endpoint_chain(sp.name, "TCP", ep) for ep in eps]
    assert [r for r in svc_rules if "--rcheck" in r] == [
        f"-A {svc_rules[0].split()[1]} -m recent --name {sep} --rcheck --seconds 10800 --reap -j {sep}" for sep in seps
    ]
    assert svc_rules.index(next(r for r in svc_rules if "--rcheck" in r)) < svc_rules.index(
        next(r for r in svc_rules if "statistic" in r)
    )
    assert f"-m recent --name {seps[0]} --set -j DNAT" in chains[seps[0]][1]


# ---- translation from API objects ------------------------------------------------------------


def test_service_ports_from_service() -> None:
    svc = service(
        "multi",
        "10.96.0.30",
        [
            {"name": "http", "port": 80, "nodePort": 30080},
            {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
            {"name": "sctp", "port": 9, "protocol": "SCTP"},
        ],
        type="NodePort",
    )
    ports = service_ports_from_service(svc)
    assert [(p.name.port, p.protocol, p.port, p.node_port) for p in ports] == [
        ("http", "TCP", 80, 30080),
        ("dns", "UDP", 53, 30053),
    ]
    assert service_ports_from_service(service("h", "None", [{"port": 80}])) == []
    # nodePort values on a ClusterIP Service (left over after a type change) are ignored.
    assert service_ports_from_service(service("c", "10.96.0.31", [{"port": 80, "nodePort": 30001}]))[0].node_port == 0


def test_endpoints_from_endpoints_keeps_ready_addresses_per_port_name() -> None:
    obj = {
        "metadata": {"namespace": "default", "name": "web"},
        "subsets": [
            {
                "addresses": [{"ip": "10.244.1.2"}],
                "notReadyAddresses": [{"ip": "10.244.1.9"}],
                "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}],
            },
            {"addresses": [{"ip": "10.244.2.2"}], "ports": [{"name": "http", "port": 8081}]},
        ],
    }
    assert endpoints_from_endpoints(obj) == {
        ServicePortName("default", "web", "http"): [Endpoint("10.244.1.2", 8080), Endpoint("10.244.2.2", 8081)],
        ServicePortName("default", "web", "metrics"): [Endpoint("10.244.1.2", 9090)],
    }


# ---- the Proxier's batches -------------------------------------------------------------------


def test_first_sync_writes_golden_batch() -> None:
    _, rec = synced_proxier(WEB, WEB_EPS, DNS)
    assert rec.restores == [GOLDEN_FIRST_SYNC]
    # The first sync also hung our chains into the built-in ones.
    inserted = [c for c in rec.commands if c[2] == "-I"]
    assert len(inserted) == len(proxy_jumps())


def test_endpoint_change_rewrites_only_that_service() -> None:
    other = service("other", "10.96.0.21", [{"name": "http", "port": 80}])
    proxier, rec = synced_proxier(WEB, WEB_EPS, other, endpoints("other", ["10.244.3.3"], [{"name": "http", "port": 80}]))
    proxier.update_endpoints(endpoints("web", ["10.244.1.2"], [{"name": "http", "port": 8080}]))
    result = proxier.sync()
    assert result is not None and not result.full
    batch = rec.restores[-1]
    web = ServicePortName("default", "web", "http")
    gone = endpoint_chain(web, "TCP", Endpoint("10.244.2.2", 8080))
    kept = endpoint_chain(web, "TCP", Endpoint("10.244.1.2", 8080))
    assert f":{service_chain(web, 'TCP')} - [0:0]" in batch
    assert f":{kept} - [0:0]" in batch
    assert f"-X {gone}" in batch
    other_chain = service_chain(ServicePortName("default", "other", "http"), "TCP")
    assert other_chain not in batch  # not declared, so not flushed
    assert ":KT-SERVICES" not in batch  # its text did not change
    assert "*filter" not in batch


def test_service_without_endpoints_moves_from_dnat_to_reject() -> None:
    proxier, rec = synced_proxier(WEB, WEB_EPS)
    proxier.update_endpoints(endpoints("web", [], []))
    proxier.sync()
    batch = rec.restores[-1]
    web = ServicePortName("default", "web", "http")
    assert f"-X {service_chain(web, 'TCP')}" in batch
    assert "-d 10.96.0.20/32 -p tcp --dport 80 -j REJECT --reject-with tcp-reset" in batch
    assert "-m addrtype --dst-type LOCAL -p tcp --dport 30080 -j REJECT --reject-with tcp-reset" in batch
    assert not [line for line in batch.splitlines() if line.startswith("-A KT-") and "-j KT-SVC" in line]


def test_unchanged_update_needs_no_sync() -> None:
    proxier, rec = synced_proxier(WEB, WEB_EPS)
    proxier.update_service(WEB)
    proxier.update_endpoints(WEB_EPS)
    assert not proxier.pending
    assert proxier.sync() is None
    assert len(rec.restores) == 1


def test_deleted_service_chains_are_removed() -> None:
    proxier, rec = synced_proxier(WEB, WEB_EPS)
    proxier.delete_service("default/web")
    proxier.sync()
    batch = rec.restores[-1]
    assert batch.count("-X KT-S") == 3  # KT-SVC plus two KT-SEP
    assert "KT-NODEPORTS - [0:0]" in batch


def test_full_sync_deletes_chains_left_by_an_earlier_run() -> None:
    rec = RecordingIptables(saved={"nat": "*nat\n:KT-SVC-OLDOLDOLDOLDOLD - [0:0]\n:DOCKER - [0:0]\nCOMMIT\n"})
    proxier = Proxier(iptables=rec)
    proxier.update_service(WEB)
    proxier.sync()
    assert "-X KT-SVC-OLDOLDOLDOLDOLD" in rec.restores[0]
    assert "DOCKER" not in rec.restores[0]


def test_failed_restore_leads_to_full_sync() -> None:
    class Failing(RecordingIptables):
        def restore(self, text: str) -> None:
            raise IptablesError("boom")

    proxier = Proxier(iptables=Failing())
    proxier.update_service(WEB)
    with pytest.raises(IptablesError):
        proxier.sync()
    assert proxier.pending


def test_check_repairs_missing_jumps_and_asks_for_full_sync() -> None:
    proxier, rec = synced_proxier(WEB, WEB_EPS)
    rec.saved["nat"] = "\n".join(
        [*(save_line(j.chain, j.spec) for j in proxy_jumps() if j.table == "nat"),
         save_line("KT-SERVICES", ("-m", "comment", "--comment",
                   "kajitori service nodeports; NOTE: this must be the last rule in this chain",
                   "-m", "addrtype", "--dst-type", "LOCAL", "-j", "KT-NODEPORTS"))]
    )
    rec.saved["filter"] = "\n".join(save_line(j.chain, j.spec) for j in proxy_jumps() if j.table == "filter")
    assert proxier.ensure_base_rules() is False
    assert not proxier.pending

    rec.saved["nat"] = ""  # somebody ran iptables -t nat -F
    rec.present.clear()
    assert proxier.ensure_base_rules() is True
    assert proxier.pending
    result = proxier.sync()
    assert result is not None and result.full


def test_run_loop_syncs_on_events_and_stops() -> None:
    import threading

    rec = RecordingIptables()
    proxier = Proxier(iptables=rec)
    stop = threading.Event()
    loop = threading.Thread(target=proxier.run, args=(stop,), kwargs={"check_period": 3600})
    loop.start()
    try:
        proxier.on_service_update(None, WEB)
        proxier.on_endpoints_update(None, WEB_EPS)
        for _ in range(500):  # wait (bounded) for the loop thread to write the service
            if any("KT-SVC-CDGGSHYLG3RE2FKL" in r for r in rec.restores) and not proxier.pending:
                break
            stop.wait(0.01)
        assert any("DNAT --to-destination 10.244.2.2:8080" in r for r in rec.restores)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()


def test_service_gaining_endpoints_moves_from_reject_to_dnat() -> None:
    proxier, rec = synced_proxier(WEB, DNS, WEB_EPS)
    proxier.update_endpoints(endpoints("dns", ["10.244.1.5"], [{"name": "dns", "port": 53}], ns="kube-system"))
    proxier.sync()
    batch = rec.restores[-1]
    dns_chain = service_chain(ServicePortName("kube-system", "dns", "dns"), "UDP")
    assert f"-A KT-SERVICES -d 10.96.0.10/32 -p udp --dport 53 -j {dns_chain}" in batch
    assert "-A KT-SERVICES -d 10.96.0.20/32 -p tcp --dport 80" in batch  # the whole chain, web included
    filter_part = batch[batch.index("*filter"):]
    assert ":KT-SERVICES - [0:0]" in filter_part and "REJECT" not in filter_part
    assert ":KT-FORWARD" not in filter_part  # unchanged chains are not rewritten


def test_changed_cluster_ip_rewrites_the_services_chain() -> None:
    proxier, rec = synced_proxier(WEB, WEB_EPS)
    moved = service(
        "web", "10.96.0.99", [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}], type="NodePort"
    )
    proxier.update_service(moved)
    proxier.sync()
    batch = rec.restores[-1]
    assert "-A KT-SERVICES -d 10.96.0.99/32 -p tcp --dport 80" in batch
    assert "10.96.0.20" not in batch
    assert "*filter" not in batch

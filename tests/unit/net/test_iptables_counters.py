"""Which nat chains `kajitori explain svc` shows for a Service (net.iptables_counters.service_chain_views),
over a recorded table: two Services' rules side by side, as a node holds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from net.iptables_counters import RuleView, service_chain_views
from net.iptables_rules import external_chain, service_chain
from net.service_model import ServicePortName

WEB = {
    "metadata": {"namespace": "default", "name": "web"},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [{"port": 80, "nodePort": 30080}]},
}
OTHER = {
    "metadata": {"namespace": "default", "name": "other"},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.30", "ports": [{"port": 80, "nodePort": 30090}]},
}
LB = {
    "metadata": {"namespace": "default", "name": "lb"},
    "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.40", "ports": [{"port": 80, "nodePort": 30100}]},
    "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.200"}]}},
}
SVC_WEB = service_chain(ServicePortName("default", "web", ""), "TCP")
SVC_OTHER = service_chain(ServicePortName("default", "other", ""), "TCP")
SVC_LB = service_chain(ServicePortName("default", "lb", ""), "TCP")
EXT_LB = external_chain(ServicePortName("default", "lb", ""), "TCP")


def rule(chain: str, text: str, target: str, packets: int = 0) -> RuleView:
    return RuleView(f"-A {chain} {text}", target, packets, packets * 60)


TABLE: dict[str, list[RuleView]] = {
    "KT-SERVICES": [
        rule("KT-SERVICES", f"-d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j {SVC_WEB}", SVC_WEB, 3),
        rule("KT-SERVICES", f"-d 10.96.0.30/32 -p tcp -m tcp --dport 80 -j {SVC_OTHER}", SVC_OTHER, 5),
        rule("KT-SERVICES", f"-d 10.96.0.40/32 -p tcp -m tcp --dport 80 -j {SVC_LB}", SVC_LB),
        rule("KT-SERVICES", f"-d 192.168.56.200/32 -p tcp -m tcp --dport 80 -j {EXT_LB}", EXT_LB, 2),
        rule("KT-SERVICES", "-m addrtype --dst-type LOCAL -j KT-NODEPORTS", "KT-NODEPORTS", 9),
    ],
    "KT-NODEPORTS": [
        rule("KT-NODEPORTS", "-p tcp -m tcp --dport 30080 -j KT-MARK-MASQ", "KT-MARK-MASQ", 7),
        rule("KT-NODEPORTS", f"-p tcp -m tcp --dport 30080 -j {SVC_WEB}", SVC_WEB, 7),
        rule("KT-NODEPORTS", "-p tcp -m tcp --dport 30090 -j KT-MARK-MASQ", "KT-MARK-MASQ", 1),
        rule("KT-NODEPORTS", f"-p tcp -m tcp --dport 30090 -j {SVC_OTHER}", SVC_OTHER, 1),
    ],
    SVC_WEB: [
        rule(SVC_WEB, "! -s 10.244.0.0/16 -j KT-MARK-MASQ", "KT-MARK-MASQ", 10),
        rule(SVC_WEB, "-m statistic --mode random --probability 0.50000000000 -j KT-SEP-A", "KT-SEP-A", 4),
        rule(SVC_WEB, "-j KT-SEP-B", "KT-SEP-B", 6),
    ],
    "KT-SEP-A": [rule("KT-SEP-A", "-p tcp -m tcp -j DNAT --to-destination 10.244.1.2:80", "DNAT", 4)],
    "KT-SEP-B": [rule("KT-SEP-B", "-p tcp -m tcp -j DNAT --to-destination 10.244.2.2:80", "DNAT", 6)],
    SVC_OTHER: [rule(SVC_OTHER, "-j KT-SEP-C", "KT-SEP-C")],
    "KT-SEP-C": [rule("KT-SEP-C", "-p tcp -m tcp -j DNAT --to-destination 10.244.1.9:80", "DNAT")],
    SVC_LB: [rule(SVC_LB, "-j KT-SEP-D", "KT-SEP-D")],
    EXT_LB: [rule(EXT_LB, "-j KT-MARK-MASQ", "KT-MARK-MASQ"), rule(EXT_LB, f"-j {SVC_LB}", SVC_LB, 2)],
    "KT-SEP-D": [rule("KT-SEP-D", "-p tcp -m tcp -j DNAT --to-destination 10.244.2.7:80", "DNAT", 2)],
}


class RecordedNat:
    def __init__(self, table: dict[str, list[RuleView]]) -> None:
        self.table = table
        self.rendered: list[str] = []

    def has_chain(self, name: str) -> bool:
        return name in self.table

    def rules(self, name: str, wanted: Callable[[str], bool] | None = None, *, preceding: bool = False) -> list[RuleView]:
        rules, chosen = self.table[name], []
        for i, r in enumerate(rules):
            if wanted is None or wanted(r.target):
                chosen.extend([rules[i - 1]] if preceding and i > 0 else [])
                chosen.append(r)
        self.rendered.extend(r.rule for r in chosen)
        return chosen


def names_and_rules(service: dict[str, Any], table: dict[str, list[RuleView]]) -> list[tuple[str, list[str]]]:
    return [(c.name, [r.rule for r in c.rules]) for c in service_chain_views(service, RecordedNat(table))]


def test_a_nodeport_service_gets_its_entry_rules_its_chain_and_its_endpoints_chains_only() -> None:
    assert names_and_rules(WEB, TABLE) == [
        ("KT-SERVICES", [TABLE["KT-SERVICES"][0].rule]),
        ("KT-NODEPORTS", [TABLE["KT-NODEPORTS"][0].rule, TABLE["KT-NODEPORTS"][1].rule]),
        (SVC_WEB, [r.rule for r in TABLE[SVC_WEB]]),
        ("KT-SEP-A", [TABLE["KT-SEP-A"][0].rule]),
        ("KT-SEP-B", [TABLE["KT-SEP-B"][0].rule]),
    ]


def test_a_load_balancer_address_is_followed_through_its_ext_chain() -> None:
    names = [name for name, _ in names_and_rules(LB, TABLE)]
    assert names == ["KT-SERVICES", EXT_LB, SVC_LB, "KT-SEP-D"]


@pytest.mark.parametrize(
    "table",
    [
        pytest.param({}, id="no-proxy-rules-at-all"),
        pytest.param({k: v for k, v in TABLE.items() if k not in (SVC_WEB, "KT-SEP-A", "KT-SEP-B")}, id="no-endpoints"),
    ],
)
def test_a_service_without_chains_shows_none(table: dict[str, list[RuleView]]) -> None:
    assert [name for name, _ in names_and_rules(WEB, table) if name.startswith(("KT-SVC-", "KT-SEP-"))] == []


def test_only_the_wanted_rules_of_the_shared_chains_are_rendered() -> None:
    nat = RecordedNat(TABLE)
    service_chain_views(WEB, nat)
    assert not any("10.96.0.30" in text or "30090" in text for text in nat.rendered)

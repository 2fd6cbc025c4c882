"""Pod routes (pyroute2) and pod network rules in real network namespaces.

Routes: the client namespace plays a node whose PodRouteSync follows a changing Node list.
Rules: node2 applies PodNetworkRules; its pods keep their address towards other pods and are
masqueraded towards anything else.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.net.netns_lab import NODE_IPS, POD_CIDRS, NetnsLab

pytestmark = pytest.mark.integration


def node(short: str, ip: str) -> dict[str, Any]:
    return {
        "metadata": {"name": short},
        "spec": {"podCIDR": POD_CIDRS[short]},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
    }


def our_routes(lab: NetnsLab, short: str) -> list[str]:
    out = lab.exec(short, "ip", "route", "show", "proto", "44").stdout
    return [" ".join(line.split()) for line in out.splitlines()]


def test_routes_follow_node_changes(backends: NetnsLab) -> None:
    lab = backends
    lab.exec("c", "ip", "route", "add", "10.244.99.0/24", "via", NODE_IPS["n3"], "proto", "static")
    driver = lab.driver("c")
    try:
        nodes = [node("n2", NODE_IPS["n2"]), node("n3", NODE_IPS["n3"]), {"metadata": {"name": "c"}}]
        changes = driver("routes", own_node="c", nodes=nodes)
        assert sorted(changes["replaced"]) == ["10.244.2.0/24", "10.244.3.0/24"]
        assert our_routes(lab, "c") == [
            "10.244.2.0/24 via 192.168.56.102 dev eth0",
            "10.244.3.0/24 via 192.168.56.103 dev eth0",
        ]
        # Pod-to-pod across nodes without any NAT: the pod sees the client's own address.
        assert lab.probe("c", "tcp", "10.244.2.2", 8080) == [f"n2-a {NODE_IPS['c']}"]
        assert lab.probe("c", "tcp", "10.244.3.2", 8080) == [f"n3-a {NODE_IPS['c']}"]
        assert driver("routes", own_node="c", nodes=nodes) == {"replaced": [], "deleted": []}

        driver("routes", own_node="c", nodes=[node("n2", "192.168.56.112")])  # node2's address changed
        assert "10.244.2.0/24 via 192.168.56.112 dev eth0" in our_routes(lab, "c")

        driver("routes", own_node="c", nodes=[node("n2", NODE_IPS["n2"])], deleted=["n3"])
        assert our_routes(lab, "c") == ["10.244.2.0/24 via 192.168.56.102 dev eth0"]
        assert lab.probe("c", "tcp", "10.244.3.2", 8080)[0].startswith("unreachable")

        driver("routes_cleanup")
        assert our_routes(lab, "c") == []
        static = lab.exec("c", "ip", "route", "show", "10.244.99.0/24").stdout
        assert "via 192.168.56.103" in static  # not ours: left alone
    finally:
        driver.close()
        lab.exec("c", "ip", "route", "del", "10.244.99.0/24", check=False)


def test_pod_traffic_keeps_its_source_inside_the_cluster_and_is_masqueraded_outside(backends: NetnsLab) -> None:
    lab = backends
    before = lab.iptables_save("n2")
    lab.exec("n2", "ip", "route", "add", POD_CIDRS["n3"], "via", NODE_IPS["n3"])
    lab.exec("n3", "ip", "route", "add", POD_CIDRS["n2"], "via", NODE_IPS["n2"])
    driver = lab.driver("n2")
    try:
        driver("pod_rules", pod_cidr=POD_CIDRS["n2"])
        driver("pod_rules", pod_cidr=POD_CIDRS["n2"])  # idempotent
        assert lab.iptables_save("n2").count("-j KT-POD-POSTROUTING") == 1
        assert lab.probe("n2", "tcp", "10.244.3.2", 8080, 1, "10.244.2.2") == ["n3-a 10.244.2.2"]
        assert lab.probe("n2", "tcp", NODE_IPS["c"], 9000, 1, "10.244.2.2") == [f"outside {NODE_IPS['n2']}"]
        driver("pod_rules_cleanup", pod_cidr=POD_CIDRS["n2"])
        assert lab.iptables_save("n2") == before
    finally:
        driver.close()
        lab.exec("n2", "ip", "route", "del", POD_CIDRS["n3"], check=False)
        lab.exec("n3", "ip", "route", "del", POD_CIDRS["n2"], check=False)

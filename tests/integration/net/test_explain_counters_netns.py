"""`kajitori explain svc`'s counters from the agent's endpoint, read with python-iptables from a real proxy's rules (issue 17).

node1 of the namespace lab runs the Proxier (net_driver.py) for one NodePort Service over the
three backends, and the agent's HTTP server with its explain answers; the client outside the
cluster connects to the NodePort ten times. The chains `GET /explain/service/default/explained`
answers must be exactly the lines iptables-save prints for them, and each endpoint's DNAT
counter must have grown by the connections that endpoint answered: nat sees only a
connection's first packet.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.integration.net.netns_lab import BACKENDS, NODE_IPS, POD_CIDRS, NetnsLab

pytestmark = pytest.mark.integration

NODE1 = NODE_IPS["n1"]
SERVICE = {
    "metadata": {"namespace": "default", "name": "explained"},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.70", "ports": [{"name": "http", "port": 80, "nodePort": 30070}]},
}
ENDPOINTS = {
    "metadata": {"namespace": "default", "name": "explained"},
    "subsets": [{"addresses": [{"ip": ip} for _, ip in BACKENDS.values()], "ports": [{"name": "http", "port": 8080}]}],
}


def per_endpoint(chains: list[dict[str, Any]]) -> dict[str, int]:
    """Packets of each KT-SEP chain's DNAT rule, by the endpoint's IP."""
    counts: dict[str, int] = {}
    for chain in chains:
        for rule in chain["rules"]:
            found = re.search(r"--to-destination (\d+\.\d+\.\d+\.\d+):8080", rule["rule"])
            if rule["target"] == "DNAT" and found:
                counts[found.group(1)] = rule["packets"]
    return counts


def test_counters_read_with_python_iptables_count_each_endpoints_connections(backends: NetnsLab) -> None:
    lab = backends
    driver = lab.driver("n1")
    nodes = [
        {"metadata": {"name": short}, "spec": {"podCIDR": cidr}, "status": {"addresses": [{"type": "InternalIP", "address": NODE_IPS[short]}]}}
        for short, cidr in POD_CIDRS.items()
    ]
    # The namespace lab is the session's: what this test adds to n1 it takes away again, so
    # the proxy tests after it (test_proxy_netns.py) find n1 as a node before its proxy.
    try:
        driver("routes", own_node="n1", nodes=nodes)  # host-gw routes to the backends' nodes
        driver("update_service", obj=SERVICE)
        driver("update_endpoints", obj=ENDPOINTS)
        driver("ensure_base_rules")
        driver("sync")

        def explained() -> list[dict[str, Any]]:
            answer = driver("agent_explain", path="service/default/explained")
            assert answer["code"] == 200, answer
            assert answer["body"]["node"] == "n1" and answer["body"]["source"] == "net/iptables_rules.py"
            return list(answer["body"]["chains"])

        assert driver("agent_explain", path="service/default/explained", token="wrong")["code"] == 401
        assert driver("agent_explain", path="service/default/absent")["code"] == 404
        before = explained()

        # The rules as read are the rules as iptables-save prints them, chain by chain.
        saved = lab.exec("n1", "iptables-legacy-save", "-t", "nat").stdout.splitlines()
        names = [chain["name"] for chain in before]
        assert names[:2] == ["KT-SERVICES", "KT-NODEPORTS"]
        assert [n[:7] for n in names[2:]] == ["KT-SVC-"] + ["KT-SEP-"] * len(BACKENDS)
        for chain in before[2:]:
            assert [r["rule"] for r in chain["rules"]] == [line for line in saved if line.startswith(f"-A {chain['name']} ")]
        assert [r["rule"] for r in before[1]["rules"]] == [line for line in saved if line.startswith("-A KT-NODEPORTS ") and "30070" in line]

        replies = lab.probe("c", "tcp", NODE1, 30070, 10)
        answered = Counter(BACKENDS[r.split()[0]][1] for r in replies)
        assert sum(answered.values()) == 10, replies

        after = explained()
        grown = {ip: per_endpoint(after).get(ip, 0) - per_endpoint(before).get(ip, 0) for ip in per_endpoint(after)}
        assert grown == {ip: answered.get(ip, 0) for _, ip in BACKENDS.values()}
        jump = next(r for r in after[1]["rules"] if r["target"].startswith("KT-SVC-"))
        assert jump["packets"] - next(r for r in before[1]["rules"] if r["target"].startswith("KT-SVC-"))["packets"] == 10
        assert jump["bytes"] > 0
    finally:
        driver("cleanup")
        driver("routes_cleanup")

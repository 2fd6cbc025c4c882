"""`kajitori explain` on the lab (issue 17): ten requests through node1's NodePort for the nginx
Service, and node1's KT-SEP DNAT counters, read live by its agent through the master's node
proxy, grew by exactly ten in all (each new TCP connection passes the nat table once).

The other sections are read too: the pod's sandbox and veth, the node's routes on the other
node, the Deployment's ReplicaSets. Nothing is created, so nothing is left behind.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as kajitori_app
from kajitori.client import ApiClient
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES
from tests.e2e.lab_access import wait_nginx_ready
from tests.support.cluster import wait_for

pytestmark = pytest.mark.e2e

REQUESTS = 10


def explain(*args: str) -> str:
    result = CliRunner().invoke(kajitori_app, ["explain", *args, "--kubeconfig", str(ADMIN_KUBECONFIG)])
    assert result.exit_code == 0, result.output
    return result.output


def explain_json(target: str) -> dict[str, Any]:
    return dict(json.loads(explain(target, "-o", "json")))


def dnat_packets(answer: dict[str, Any]) -> dict[str, int]:
    """Packets of each endpoint's DNAT rule in one node's answer, by endpoint."""
    counts: dict[str, int] = {}
    for chain in answer.get("chains") or []:
        for rule in chain["rules"]:
            found = re.search(r"--to-destination (\S+)", rule["rule"])
            if rule["target"] == "DNAT" and found:
                counts[found.group(1)] = rule["packets"]
    return counts


def ready_endpoints(state: dict[str, Any]) -> set[str]:
    return {
        f"{address['ip']}:{port['port']}"
        for subset in (state.get("endpoints") or {}).get("subsets") or []
        for address in subset.get("addresses") or []
        for port in subset.get("ports") or []
    }


def test_ten_requests_through_node1s_nodeport_show_as_ten_connections_on_node1(lab_api: ApiClient) -> None:
    wait_nginx_ready(lab_api)

    def node1_in_step() -> dict[str, Any] | None:
        # node1's proxy has written a DNAT rule for every ready endpoint, and no other.
        state = explain_json("svc/nginx")
        return state if set(dnat_packets(state["nodes"]["node1"])) == ready_endpoints(state) != set() else None

    before = wait_for(node1_in_step, timeout=60, what="node1's chains for every ready nginx endpoint")
    assert before is not None
    for _ in range(REQUESTS):
        # A client per request: a new TCP connection each, as ten curls make.
        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://{NODES['node1']}:30080/").status_code == 200
    after = explain_json("svc/nginx")
    assert ready_endpoints(after) == ready_endpoints(before), "the endpoints changed while counting"
    grown = {ep: n - dnat_packets(before["nodes"]["node1"]).get(ep, 0) for ep, n in dnat_packets(after["nodes"]["node1"]).items()}
    assert sum(grown.values()) == REQUESTS, grown
    assert all(n >= 0 for n in grown.values())
    assert after["nodes"]["node1"]["source"] == "net/iptables_rules.py"

    text = explain("svc/nginx")
    assert "Node node1: iptables nat" in text and "Connections per endpoint" in text
    assert "nginx.default.svc.cluster.local" in text


def test_a_pod_its_node_and_the_deployment_are_explained_from_the_agents(lab_api: ApiClient) -> None:
    pod = next(p for p in wait_nginx_ready(lab_api) if p["spec"]["nodeName"] == "node1")
    name = pod["metadata"]["name"]
    state = explain_json(f"pod/{name}")
    agent = state["agent"]
    assert agent["network"]["podIP"] == pod["status"]["podIP"]
    assert agent["network"]["hostVeth"].startswith("veth") and agent["network"]["bridge"] == "kt0"
    assert agent["sandbox"]["name"].startswith("k8s_POD_") and agent["sandbox"]["netns"].startswith("/var/run/docker/netns/")
    assert [c["name"] for c in agent["containers"]] == ["nginx"]
    node1_cidr = lab_api.request("GET", "/api/v1/nodes/node1")["spec"]["podCIDR"]
    assert f"{node1_cidr} via {NODES['node1']}" in explain(f"pod/{name}")

    node = explain_json("node/node1")
    assert node["agent"]["podCIDR"] == node1_cidr
    assert any(r["destination"] == node1_cidr and r["gateway"] == NODES["node1"] for r in node["otherNodes"]["node2"]["routes"])
    assert node["lease"]["spec"]["holderIdentity"] == "node1"

    text = explain("deployment/nginx")
    assert "ReplicaSets by revision" in text and name in text

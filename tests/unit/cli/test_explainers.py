"""`kajitori explain`'s sections rendered from recorded state (cli.explainers; fixtures/explain/*.json hold
what `kajitori explain KIND/NAME -o json` gathers: API objects and the agents' node-proxy answers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.explainers import dns_names, endpoint_counters, render, resolve

FIXTURES = Path(__file__).parent / "fixtures" / "explain"


def state(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def section(text: str, title: str) -> list[str]:
    """The lines of the section whose title starts with `title`, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_a_service_shows_its_addresses_endpoints_and_dns_names_with_their_files() -> None:
    text = render(state("svc-nginx"))
    head = section(text, "Service default/nginx")
    assert "ClusterIP:   10.96.112.7  [allocated by master/allocators.py]" in head[2]
    assert "80/TCP -> target 80, NodePort 30080 on every node" in head[3]
    assert head[4] == "  External IP: <none>  [master/controllers/load_balancer.py]"
    endpoints = section(text, "Endpoints")
    assert "master/controllers/endpoints.py" in endpoints[0]
    assert [line.split()[0] for line in endpoints[1:]] == ["10.244.1.4:80", "10.244.1.5:80", "10.244.2.3:80"]
    assert "node node2" in endpoints[3]
    dns = section(text, "DNS names")
    assert "net/dns.py" in dns[0] and dns[1].split() == ["nginx.default.svc.cluster.local", "A", "10.96.112.7"]


def test_a_service_shows_each_nodes_chains_with_counters_and_connections_per_endpoint() -> None:
    node1 = section(render(state("svc-nginx")), "Node node1: iptables nat")
    assert "written by net/iptables_proxy.py" in node1[0] and "python-iptables by net/iptables_counters.py" in node1[0]
    nodeport = next(line for line in node1 if "--dport 30080 -j KT-SVC-" in line)
    assert nodeport.split()[:4] == ["10", "pkts", "600", "B"]
    per_endpoint = node1[node1.index(next(line for line in node1 if line.startswith("  Connections per endpoint"))) + 1 :]
    assert [line.split()[:2] for line in per_endpoint] == [["10.244.1.4:80", "4"], ["10.244.1.5:80", "5"], ["10.244.2.3:80", "3"], ["total", "12"]]


def test_a_node_whose_agent_cannot_be_reached_is_shown_as_such() -> None:
    node2 = section(render(state("svc-nginx")), "Node node2: iptables nat")
    assert node2[1] == "  not read: ServiceUnavailable: cannot reach the agent of node node2 at https://192.168.56.12:10250: [Errno 111] Connection refused"


def test_a_pod_shows_its_sandbox_netns_veth_bridge_routes_and_containers() -> None:
    text = render(state("pod-nginx"))
    assert section(text, "Pod default/nginx-7c5d8bd8b9-4kq2x")[1] == "  Node:   node1  [chosen by master/scheduler/scheduler.py]"
    sandbox = section(text, "Pause container")
    assert sandbox[1] == "  Name:    k8s_POD_nginx-7c5d8bd8b9-4kq2x_default_5f0c_0"
    assert sandbox[3].startswith("  Netns:   /var/run/docker/netns/8c2b1f7e3a90  (pid 23817")
    assert section(text, "Pod network")[1] == "  eth0 10.244.1.4  <-> host veth veth3f9a2c1  on bridge kt0"
    assert section(text, "Route to this pod's node")[1] == "  on node2: 10.244.1.0/24 via 192.168.56.11 dev eth1 proto kajitori"
    containers = section(text, "Containers")
    assert containers[1] == "  nginx: image nginx:1.22  running  restarts 1"
    assert containers[2].strip().endswith("volumes/kube-api-access (ro)")


def test_a_pod_whose_agent_is_unreachable_falls_back_to_its_status() -> None:
    recorded = state("pod-nginx")
    recorded["agent"] = {"error": "ServiceUnavailable: node node1 has published no serving certificate for port 10250"}
    text = render(recorded)
    assert "  not read: ServiceUnavailable: node node1 has published no serving certificate for port 10250" in text
    assert section(text, "Containers")[1] == "  nginx: image nginx:1.22  restarts 0 (from the pod's status)"


def test_a_node_shows_its_cidr_lease_versions_routes_and_pods() -> None:
    text = render(state("node-node1"))
    head = section(text, "Node node1")
    assert head[2] == "  PodCIDR:   10.244.1.0/24  [allocated by master/allocators.py]"
    assert head[3] == "  Taints:    example.com/gpu=none:PreferNoSchedule"
    heartbeat = section(text, "Heartbeat")
    assert heartbeat[1] == "  holder node1, last renewed 2026-12-06T01:40:12.123456Z, duration 6 s"
    assert "kajitori-proxy-node1: last renewed 2026-12-06T01:40:12.654321Z" in heartbeat[2]
    assert section(text, "Versions")[2] == "  running agent 0.1.0, installed package (the proxy's) 0.1.0"
    assert section(text, "Routes into the pod network on node1")[1:] == [
        "  10.244.1.0/24 dev kt0 proto kernel",
        "  10.244.2.0/24 via 192.168.56.12 dev eth1 proto kajitori",
    ]
    assert section(text, "Route to 10.244.1.0/24 on every other node")[1] == "  on node2: 10.244.1.0/24 via 192.168.56.11 dev eth1 proto kajitori"
    assert section(text, "Pods (1)")[1].split() == ["default/nginx-7c5d8bd8b9-4kq2x", "Running", "10.244.1.4"]


def test_a_deployment_shows_replicasets_by_revision_with_their_pods_and_the_rollout_limits() -> None:
    text = render(state("deployment-nginx"))
    head = section(text, "Deployment default/nginx")
    assert head[2] == "  maxSurge 25% = 1 pod(s): at most 4 pods in all"
    assert head[3] == "  maxUnavailable 25% = 0 pod(s): at least 3 available"
    assert head[4] == "  Progress:  1/3 updated, 3 ready, 3 available, 4 in all"
    replica_sets = section(text, "ReplicaSets by revision")
    assert [line.split()[:3] for line in replica_sets[1:]] == [
        ["revision", "2:", "nginx-5d9c7f8b6"],
        ["nginx-5d9c7f8b6-x2x7k", "Pending", "not"],
        ["revision", "1:", "nginx-7c5d8bd8b9"],
        ["nginx-7c5d8bd8b9-4kq2x", "Running", "ready"],
        ["nginx-7c5d8bd8b9-9wzlp", "Running", "ready"],
        ["nginx-7c5d8bd8b9-h6mtc", "Running", "ready"],
    ]


@pytest.mark.parametrize(
    ("value", "total", "round_up", "pods"),
    [
        pytest.param("25%", 3, True, 1, id="surge-rounds-up"),
        pytest.param("25%", 3, False, 0, id="unavailable-rounds-down"),
        pytest.param(2, 3, True, 2, id="a-number"),
        pytest.param(None, 10, False, 2, id="default-25%"),
    ],
)
def test_rollout_limits_resolve_as_kubernetes_does(value: int | str | None, total: int, round_up: bool, pods: int) -> None:
    assert resolve(value, total, round_up=round_up) == pods


def test_named_ports_get_srv_names_and_headless_services_answer_endpoints() -> None:
    service = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}}
    names = dict(dns_names(service))
    assert names["web.shop.svc.cluster.local"] == "A: the ready endpoints' IPs (headless)"
    assert names["_http._tcp.web.shop.svc.cluster.local"] == "SRV port 80"


def test_endpoint_counters_read_only_dnat_rules() -> None:
    counters = endpoint_counters(state("svc-nginx")["nodes"]["node1"])
    assert [(endpoint, packets) for endpoint, _chain, packets, _bytes in counters] == [("10.244.1.4:80", 4), ("10.244.1.5:80", 5), ("10.244.2.3:80", 3)]


# State recorded on the lab (`kajitori explain ... -o json` right after tests/e2e/test_explain.py).


def test_the_labs_service_after_ten_nodeport_requests_shows_ten_connections_on_node1_and_none_on_node2() -> None:
    text = render(state("lab-svc-nginx"))
    totals = {
        node: next(line.split()[1] for line in section(text, f"Node {node}: iptables nat") if line.strip().startswith("total"))
        for node in ("node1", "node2")
    }
    assert totals == {"node1": "10", "node2": "0"}
    nodeports = [line for line in section(text, "Node node1: iptables nat") if "--dport 30080 -j KT-SVC-" in line]
    assert nodeports[0].split()[0] == "10"


def test_the_labs_pod_node_and_deployment_render_from_the_agents_answers() -> None:
    pod = render(state("lab-pod-nginx"))
    assert section(pod, "Pod network")[1] == "  eth0 10.244.2.2  <-> host veth veth077afb4  on bridge kt0"
    assert section(pod, "Route to this pod's node")[1] == "  on node2: 10.244.2.0/24 via 192.168.56.11 dev eth1 proto kajitori"
    node = render(state("lab-node-node1"))
    assert section(node, "Routes into the pod network on node1")[1:] == [
        "  10.244.1.0/24 via 192.168.56.12 dev eth1 proto kajitori",
        "  10.244.2.0/24 dev kt0 proto kernel",
    ]
    deployment = render(state("lab-deployment-nginx"))
    assert section(deployment, "Deployment default/nginx")[4] == "  Progress:  3/3 updated, 3 ready, 3 available, 3 in all"
    assert len(section(deployment, "ReplicaSets by revision")) == 5  # title, one revision, its three pods

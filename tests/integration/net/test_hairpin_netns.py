"""Hairpin traffic and NodePorts on a node's loopback, through the proxy's rules in real namespaces.

    kthp<id>-n   "node": bridge kt0 10.244.1.1/24 (bridge netfilter on, as on a lab node),
                 eth0 192.168.56.201; runs the Proxier (net_driver.py); route_localnet=1
    kthp<id>-p   a pod on kt0 (veth), 10.244.1.2, answering on 8080 as "self"
    kthp<id>-c   another machine on the node's eth0, 192.168.56.200

A pod calling its own Service is load-balanced to itself: the DNATed packet is bridged back
out of the port it came in on, which the bridge does only in hairpin mode (on the lab,
dockerd's "userland-proxy": false turns it on for every veth), and the proxy masquerades it
so the answer returns through the node. With route_localnet the node's 127.0.0.1 NodePorts
answer, and the proxy's guard keeps other machines away from the node's loopback.
Every namespace and process made here is removed at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.net.netns_lab import NO_ANSWER_TIMEOUT_S, NetnsLab, sh

pytestmark = pytest.mark.integration

NODE, POD, OTHER = "n", "p", "c"
POD_IP, GATEWAY = "10.244.1.2", "10.244.1.1"
NODE_IP, OTHER_IP = "192.168.56.201", "192.168.56.200"
CLUSTER_IP, NODE_PORT = "10.96.0.60", 30060
SELF = {
    "metadata": {"namespace": "default", "name": "self"},
    "spec": {"clusterIP": CLUSTER_IP, "type": "NodePort",
             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": NODE_PORT}]},
}
SELF_EPS = {
    "metadata": {"namespace": "default", "name": "self"},
    "subsets": [{"addresses": [{"ip": POD_IP}], "ports": [{"name": "http", "port": 8080}]}],
}


def _build(lab: NetnsLab) -> None:
    node, pod, other = lab.ns(NODE), lab.ns(POD), lab.ns(OTHER)
    for ns in (node, pod, other):
        sh("ip", "netns", "add", ns)
    for ns in (node, pod):  # the other machine keeps lo down: its 127.0.0.1 is routed to the node
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", node, "link", "add", "kt0", "type", "bridge")
    sh("ip", "-n", node, "addr", "add", f"{GATEWAY}/24", "dev", "kt0")
    sh("ip", "-n", node, "link", "set", "kt0", "up")
    sh("ip", "-n", node, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod)
    sh("ip", "-n", node, "link", "set", "vpod", "master", "kt0", "up")
    sh("ip", "-n", pod, "addr", "add", f"{POD_IP}/24", "dev", "eth0")
    sh("ip", "-n", pod, "link", "set", "eth0", "up")
    sh("ip", "-n", pod, "route", "add", "default", "via", GATEWAY)
    sh("ip", "-n", node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", other)
    sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "eth0")
    sh("ip", "-n", other, "addr", "add", f"{OTHER_IP}/24", "dev", "eth0")
    sh("ip", "-n", node, "link", "set", "eth0", "up")
    sh("ip", "-n", other, "link", "set", "eth0", "up")
    lab.exec(NODE, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1",
             "net.ipv4.conf.all.route_localnet=1")
    # The other machine sends to 127.0.0.1 through the node, as an attacker on the lab network could.
    lab.exec(OTHER, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
    sh("ip", "-n", other, "route", "add", "127.0.0.1/32", "via", NODE_IP, "dev", "eth0")


@pytest.fixture(scope="module")
def hairpin_lab() -> Iterator[NetnsLab]:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables-legacy"):
        pytest.skip("needs root, iproute2 and iptables-legacy")
    if not os.path.exists("/proc/sys/net/bridge"):
        pytest.skip("needs br_netfilter")
    lab = NetnsLab(prefix=f"kthp{os.getpid() % 100000}")
    try:
        _build(lab)
        lab.backend(POD, "self", f"{POD_IP}:8080/tcp")
        lab.backend(NODE, "node-local", "127.0.0.1:9999/tcp")
        driver = lab.driver(NODE)
        driver("update_service", obj=SELF)
        driver("update_endpoints", obj=SELF_EPS)
        driver("sync")
        yield lab
    finally:
        for driver in lab.drivers:
            driver.close()
        for proc in lab.processes:
            proc.kill()
            proc.wait()
        for short in (NODE, POD, OTHER):
            sh("ip", "netns", "del", lab.ns(short), check=False)


def _hairpin(lab: NetnsLab, on: bool) -> None:
    sh("ip", "-n", lab.ns(NODE), "link", "set", "vpod", "type", "bridge_slave", "hairpin", "on" if on else "off")


def test_a_pod_reaches_itself_through_its_service_in_hairpin_mode(hairpin_lab: NetnsLab) -> None:
    _hairpin(hairpin_lab, True)
    # The answer names the node's bridge address as the peer: the hairpin traffic was masqueraded.
    assert hairpin_lab.probe(POD, "tcp", CLUSTER_IP, 80, count=5) == [f"self {GATEWAY}"] * 5


def test_without_hairpin_mode_the_pod_does_not_reach_itself(hairpin_lab: NetnsLab) -> None:
    # Why the lab's dockerd runs with "userland-proxy": false: the bridge drops the frame.
    _hairpin(hairpin_lab, False)
    try:
        assert hairpin_lab.probe(POD, "tcp", CLUSTER_IP, 80, timeout=NO_ANSWER_TIMEOUT_S) == ["timeout"]
    finally:
        _hairpin(hairpin_lab, True)


def test_the_node_port_answers_on_the_node_loopback(hairpin_lab: NetnsLab) -> None:
    answers: list[Any] = hairpin_lab.probe(NODE, "tcp", "127.0.0.1", NODE_PORT, count=5)
    assert answers == [f"self {GATEWAY}"] * 5


def test_other_machines_do_not_reach_the_node_loopback(hairpin_lab: NetnsLab) -> None:
    assert hairpin_lab.probe(OTHER, "tcp", "127.0.0.1", 9999, timeout=NO_ANSWER_TIMEOUT_S) == ["timeout"]
    # ...while the same packets reach NodePorts (DNATed), and the node reaches its own loopback.
    assert hairpin_lab.probe(OTHER, "tcp", "127.0.0.1", NODE_PORT) == [f"self {GATEWAY}"]
    assert hairpin_lab.probe(NODE, "tcp", "127.0.0.1", 9999) == ["node-local 127.0.0.1"]

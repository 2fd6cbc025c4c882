"""ensure_pod_network against a small stand-in for the Docker SDK's network collection.

(The real network is not made in tests: it would put a 10.244.x address on the host itself.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from net.iptables_runner import RecordingIptables
from net.pod_network import PodNetworkError, PodNetworkRules, ensure_bridge_netfilter, ensure_pod_network


@dataclass
class FakeNetwork:
    name: str
    attrs: dict[str, Any]
    removed: bool = False

    def reload(self) -> None:
        pass

    def remove(self) -> None:
        self.removed = True


@dataclass
class FakeNetworks:
    existing: list[FakeNetwork] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def list(self, names: list[str], filters: dict[str, str]) -> list[FakeNetwork]:
        assert filters == {"label": "io.kajitori.network=pods"}
        return [n for n in self.existing if not n.removed and n.name.startswith(names[0])]

    def create(self, name: str, **kwargs: Any) -> FakeNetwork:
        self.created.append({"name": name, **kwargs})
        subnet = kwargs["ipam"]["Config"][0]["Subnet"]
        network = FakeNetwork(name, {"IPAM": {"Config": [{"Subnet": subnet}]}, "Containers": {}})
        self.existing.append(network)
        return network


@dataclass
class FakeDocker:
    networks: FakeNetworks = field(default_factory=FakeNetworks)


def pods_network(subnet: str, containers: dict[str, Any] | None = None) -> FakeNetwork:
    return FakeNetwork("kajitori-pods", {"IPAM": {"Config": [{"Subnet": subnet}]}, "Containers": containers or {}})


def test_creates_bridge_without_docker_masquerade() -> None:
    docker = FakeDocker()
    ensure_pod_network(docker, "10.244.1.0/24")
    [created] = docker.networks.created
    assert created["options"] == {
        "com.docker.network.bridge.name": "kt0",
        "com.docker.network.bridge.enable_ip_masquerade": "false",
    }
    assert created["labels"] == {"io.kajitori.network": "pods"}
    [pool] = created["ipam"]["Config"]
    assert (pool["Subnet"], pool["Gateway"]) == ("10.244.1.0/24", "10.244.1.1")


def test_reuses_network_with_same_cidr() -> None:
    existing = pods_network("10.244.1.0/24", {"abc": {}})
    docker = FakeDocker(FakeNetworks([existing]))
    assert ensure_pod_network(docker, "10.244.1.0/24") is existing
    assert docker.networks.created == []


def test_recreates_unused_network_with_other_cidr() -> None:
    old = pods_network("10.244.9.0/24")
    docker = FakeDocker(FakeNetworks([old]))
    ensure_pod_network(docker, "10.244.1.0/24")
    assert old.removed and len(docker.networks.created) == 1


def test_refuses_to_replace_network_in_use() -> None:
    docker = FakeDocker(FakeNetworks([pods_network("10.244.9.0/24", {"abc": {}})]))
    with pytest.raises(PodNetworkError):
        ensure_pod_network(docker, "10.244.1.0/24")


def test_pod_rules_keep_pod_to_pod_source_and_masquerade_the_rest() -> None:
    rules = PodNetworkRules("10.244.1.0/24")
    text = rules.restore_text()
    keep = "-A KT-POD-POSTROUTING -s 10.244.1.0/24 -d 10.244.0.0/16 -j RETURN"
    masq = "-A KT-POD-POSTROUTING -s 10.244.1.0/24 ! -o kt0 -j MASQUERADE"
    assert text.index(keep) < text.index(masq)
    rec = RecordingIptables()
    rules.ensure(rec)
    rules.ensure(rec)
    assert [c[:4] for c in rec.commands if c[2] == "-I"] == [
        ["-t", "filter", "-I", "FORWARD"],
        ["-t", "nat", "-I", "POSTROUTING"],
    ]


def test_bridge_netfilter_switched_on(tmp_path: Path) -> None:
    sysctl = tmp_path / "bridge-nf-call-iptables"
    assert ensure_bridge_netfilter(sysctl) is False  # module not loaded
    sysctl.write_text("0\n")
    assert ensure_bridge_netfilter(sysctl) is True
    assert sysctl.read_text() == "1\n"

"""ClusterIP, NodePort and pod CIDR allocation."""

from __future__ import annotations

import random

import pytest

from master.allocators import AllocationError, allocate_cluster_ip, allocate_node_port, allocate_pod_cidr


def test_cluster_ip_requested_and_random() -> None:
    assert allocate_cluster_ip([], "10.96.5.5") == "10.96.5.5"
    with pytest.raises(AllocationError, match="already allocated"):
        allocate_cluster_ip(["10.96.5.5"], "10.96.5.5")
    with pytest.raises(AllocationError, match="valid range"):
        allocate_cluster_ip([], "10.1.2.3")
    ip = allocate_cluster_ip([], None, rng=random.Random(1))
    assert ip.startswith("10.") and ip not in ("10.96.0.1", "10.96.0.10")


def test_node_port() -> None:
    assert allocate_node_port([], 30080) == 30080
    with pytest.raises(AllocationError, match="already allocated"):
        allocate_node_port([30080], 30080)
    with pytest.raises(AllocationError, match="30000-32767"):
        allocate_node_port([], 80)
    used = list(range(30000, 32767))
    assert allocate_node_port(used, None) == 32767


def test_pod_cidrs_are_distinct_and_skip_the_network_address() -> None:
    assert allocate_pod_cidr([]) == "10.244.1.0/24"
    assert allocate_pod_cidr(["10.244.1.0/24"]) == "10.244.2.0/24"

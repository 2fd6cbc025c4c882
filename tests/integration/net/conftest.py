"""Fixtures of the net/ integration tests: the namespace lab of netns_lab.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.integration.net.netns_lab import BACKENDS, NODE_IPS, NetnsLab, build_lab, sh


@pytest.fixture(scope="session")
def netns_lab() -> Iterator[NetnsLab]:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables-legacy"):
        pytest.skip("needs root, iproute2 and iptables-legacy")
    lab = NetnsLab(prefix=f"kt{os.getpid() % 100000}")
    try:
        build_lab(lab)
        yield lab
    finally:
        for driver in lab.drivers:
            driver.close()
        for proc in lab.processes:
            proc.kill()
            proc.wait()
        for short in [*NODE_IPS, "br"]:
            sh("ip", "netns", "del", lab.ns(short), check=False)


@pytest.fixture(scope="session")
def backends(netns_lab: NetnsLab) -> NetnsLab:
    """Backends answering "NAME PEER_IP" on ports 8080/tcp, 8081/tcp and 5353/udp of each pod."""
    for name, (short, ip) in BACKENDS.items():
        netns_lab.backend(short, name, f"{ip}:8080/tcp", f"{ip}:8081/tcp", f"{ip}:5353/udp")
    netns_lab.backend("c", "outside", f"{NODE_IPS['c']}:9000/tcp")
    return netns_lab

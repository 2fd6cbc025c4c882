"""The masters' Endpoints computed from their Leases: which are live, and the subsets they call for."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api import Lease
from master.master_endpoints import API_ADDRESS, DNS_ADDRESS, DNS_PORTS, desired_subsets, expiry


def lease(api: str | None, dns: str | None = None, renewed: str = "2026-01-01T00:00:00.000000Z", duration: int = 6) -> Lease:
    annotations = {k: v for k, v in ((API_ADDRESS, api), (DNS_ADDRESS, dns)) if v}
    return Lease.model_validate(
        {"metadata": {"name": "apiserver-x", "annotations": annotations}, "spec": {"renewTime": renewed, "leaseDurationSeconds": duration}}
    )


def https(port: int, *ips: str) -> dict[str, Any]:
    return {"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}


@pytest.mark.parametrize(
    ("leases", "api", "dns"),
    [
        pytest.param([], [], [], id="none"),
        pytest.param(
            [lease("192.168.56.12:6443", "192.168.56.12"), lease("192.168.56.10:6443", "192.168.56.10")],
            [https(6443, "192.168.56.10", "192.168.56.12")],
            [{"addresses": [{"ip": "192.168.56.10"}, {"ip": "192.168.56.12"}], "ports": DNS_PORTS}],
            id="one-subset-per-port-sorted",
        ),
        pytest.param(
            [lease("127.0.0.1:7002"), lease("127.0.0.1:7001")], [https(7001, "127.0.0.1"), https(7002, "127.0.0.1")], [],
            id="same-address-other-ports",
        ),
        pytest.param([lease("no-port"), lease(None)], [], [], id="unreadable-addresses-left-out"),
    ],
)
def test_desired_subsets(leases: list[Lease], api: list[dict[str, Any]], dns: list[dict[str, Any]]) -> None:
    assert desired_subsets(leases) == (api, dns)


def test_a_lease_is_live_until_its_renewal_plus_its_duration() -> None:
    renewed = lease("10.0.0.1:6443", renewed="2026-01-01T00:00:00.500000Z", duration=6)
    assert expiry(renewed) == pytest.approx(1767225606.5)
    assert expiry(lease("10.0.0.1:6443", renewed="")) == 0.0

"""kubectl's --address for port-forward: a comma list of IPs and localhost."""

from __future__ import annotations

import pytest

from kajitori.streaming.port_forward import ListenAddress, listen_addresses


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("localhost", [ListenAddress("127.0.0.1", False), ListenAddress("::1", False)], id="localhost_is_both_loopbacks"),
        pytest.param("0.0.0.0", [ListenAddress("0.0.0.0", True)], id="an_ip_must_listen"),
        pytest.param("localhost,127.0.0.1", [ListenAddress("127.0.0.1", True), ListenAddress("::1", False)], id="named_too_is_required"),
        pytest.param(" ::1 , 10.0.0.1", [ListenAddress("::1", True), ListenAddress("10.0.0.1", True)], id="spaces_and_order"),
    ],
)
def test_listen_addresses(raw: str, expected: list[ListenAddress]) -> None:
    assert listen_addresses(raw) == expected


@pytest.mark.parametrize("raw", ["example.com", "", "127.0.0.1,"])
def test_what_is_not_an_ip_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a valid IP"):
        listen_addresses(raw)

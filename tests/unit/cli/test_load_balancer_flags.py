"""`--load-balancer-pool` outside `--lab-network` stops the master and the proxy before they start."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize("command", ["master", "proxy"])
@pytest.mark.parametrize(
    ("pool", "network"),
    [
        pytest.param("10.0.0.1-10.0.0.9", "192.168.56.0/24", id="other-network"),
        pytest.param("192.168.56.250-192.168.57.2", "192.168.56.0/24", id="reaches-outside"),
        pytest.param("192.168.56.0/24", "192.168.56.0/24", id="whole-network"),
    ],
)
def test_a_pool_outside_the_lab_network_is_refused(command: str, pool: str, network: str) -> None:
    result = CliRunner().invoke(app, [command, "--load-balancer-pool", pool, "--lab-network", network])
    assert result.exit_code == 2
    assert "lab network" in result.output

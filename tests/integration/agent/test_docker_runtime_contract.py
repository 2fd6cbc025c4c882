"""The runtime contract (tests/unit/agent/runtime_contract.py) run against the real dockerd."""

from __future__ import annotations

import pytest

from tests.unit.agent.runtime_contract import RuntimeContract


@pytest.mark.integration
class TestDockerRuntimeContract(RuntimeContract):
    """The `harness` fixture comes from conftest.py: busybox commands on a labelled test network."""

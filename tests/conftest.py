"""Fixtures shared by every test folder: a real master process and a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.client import ApiClient
from tests.support.master_process import MasterProcess


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    """A master with only the API server (controllers off): tests of the API itself."""
    proc = MasterProcess(tmp_path_factory.mktemp("master"), extra_args=["--no-controllers"]).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(master: MasterProcess) -> Iterator[ApiClient]:
    client = master.client()
    yield client
    client.close()


@pytest.fixture
def tmp_master(tmp_path: Path) -> Iterator[MasterProcess]:
    """A master of one test's own (for kill -9 and restart tests)."""
    proc = MasterProcess(tmp_path / "master", extra_args=["--no-controllers"])
    yield proc
    proc.stop()

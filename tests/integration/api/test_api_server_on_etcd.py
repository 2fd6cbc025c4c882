"""The whole API server suite again (every verb, watch, 410, CAS, kill -9), with the master's
store on a real etcd: one etcd for the module, one of its own for the kill -9 test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api.test_api_server import *  # noqa: F403 (the same tests, other fixtures below)
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    proc = EtcdProcess(tmp_path_factory.mktemp("etcd") / "data").start()
    yield proc
    proc.stop()


def _args(etcd: EtcdProcess) -> list[str]:
    return ["--no-controllers", "--store", "etcd", "--etcd-servers", etcd.url]


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory, etcd: EtcdProcess) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path_factory.mktemp("master"), extra_args=_args(etcd)).start()
    yield proc
    proc.stop()


@pytest.fixture
def tmp_master(tmp_path: Path) -> Iterator[MasterProcess]:
    own = EtcdProcess(tmp_path / "etcd").start()
    proc = MasterProcess(tmp_path / "master", extra_args=_args(own))
    yield proc
    proc.stop()
    own.stop()

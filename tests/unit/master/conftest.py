"""A real etcd process shared by a test module (each test keeps to its own key prefix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.etcd_process import EtcdProcess


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    proc = EtcdProcess(tmp_path_factory.mktemp("etcd") / "data").start()
    yield proc
    proc.stop()

"""The server-side apply tests again (kubectl 1.28/1.32/1.33 and the official client), with the
master's store on a real etcd: managedFields are part of the object, whichever store keeps it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.api.test_kubectl_server_side_apply import *  # noqa: F403 (the same tests, the fixture below)
from tests.integration.api.test_kubectl_server_side_apply import KUBECTLS
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.28/1.32/1.33 are not installed")]


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    etcd = EtcdProcess(tmp_path_factory.mktemp("etcd") / "data").start()
    proc = MasterProcess(tmp_path_factory.mktemp("master"), extra_args=["--no-controllers", "--store", "etcd", "--etcd-servers", etcd.url])
    try:
        yield proc.start()
    finally:
        proc.stop()
        etcd.stop()

"""Query parameters against a real master: bad ones are 400s, and a watch ends at its timeoutSeconds."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def test_bad_resource_version_on_a_list_is_400(master: MasterProcess) -> None:
    token = master.client().config.token
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, verify=master.tls()) as http:
        r = http.get("/api/v1/namespaces/default/configmaps", params={"resourceVersion": "abc"})
    assert r.status_code == 400 and r.json()["details"]["causes"][0]["field"] == "resourceVersion"


@pytest.mark.timeout(60)
def test_official_client_watch_ends_at_timeout_seconds(master: MasterProcess) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.config.new_client_from_config(config_file=str(master.kubeconfig))
    try:
        core = kubernetes.client.CoreV1Api(client)
        revision = core.list_namespaced_config_map("default").metadata.resource_version
        start = time.monotonic()
        events = list(kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=revision, timeout_seconds=2))
        assert events == [] and time.monotonic() - start < 30
    finally:
        client.close()

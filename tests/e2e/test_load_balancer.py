"""North-south traffic on the real lab: a `type: LoadBalancer` Service for nginx gets an
address from the lab pool (192.168.56.200-239), exactly one node holds it on its lab
interface, and `curl http://<address>/` from the host answers; deleting the Service takes
the address off the node."""

from __future__ import annotations

import ipaddress
import urllib.request
from collections.abc import Iterator

import pytest

from kajitori.client import ApiClient, NotFoundError
from tests.e2e.conftest import NODES
from tests.e2e.lab_access import address_holders, wait_for_value, wait_nginx_ready

pytestmark = pytest.mark.e2e

NAME = "nginx-lb"
POOL = ipaddress.ip_network("192.168.56.192/26")  # holds the default pool .200-.239


def _service() -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "nginx"}, "ports": [{"port": 80, "targetPort": 80}]},
    }


def _external_ip(api: ApiClient) -> str | None:
    svc = api.request("GET", f"/api/v1/namespaces/default/services/{NAME}")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return str(ingress[0]["ip"]) if ingress and ingress[0].get("ip") else None


def _holders(ip: str) -> list[str]:
    return address_holders(ip, list(NODES))


def _delete(api: ApiClient) -> None:
    try:
        api.request("DELETE", f"/api/v1/namespaces/default/services/{NAME}")
    except NotFoundError:
        pass


@pytest.fixture(scope="module")
def external_ip(lab_api: ApiClient) -> Iterator[str]:
    wait_nginx_ready(lab_api)
    _delete(lab_api)
    lab_api.request("POST", "/api/v1/namespaces/default/services", body=_service())
    try:
        yield wait_for_value("an external address", lambda: _external_ip(lab_api), timeout_s=30)
    finally:
        _delete(lab_api)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return bytes(answer.read())
    except OSError:
        return None


def test_the_service_gets_an_address_of_the_lab_pool(external_ip: str) -> None:
    assert ipaddress.ip_address(external_ip) in POOL
    assert 200 <= int(external_ip.rsplit(".", 1)[1]) <= 239


def test_exactly_one_node_holds_the_address(external_ip: str) -> None:
    holders = wait_for_value("a node holding the address", lambda: _holders(external_ip), timeout_s=20)
    assert len(holders) == 1, holders


def test_curl_from_the_host_answers_on_the_external_address(external_ip: str) -> None:
    body = wait_for_value("nginx on the external address", lambda: _get(f"http://{external_ip}/"), timeout_s=30)
    assert b"nginx" in body


def test_deleting_the_service_takes_the_address_off_the_node(lab_api: ApiClient, external_ip: str) -> None:
    wait_for_value("a node holding the address", lambda: _holders(external_ip), timeout_s=20)
    _delete(lab_api)
    wait_for_value("the address released", lambda: not _holders(external_ip), timeout_s=30)

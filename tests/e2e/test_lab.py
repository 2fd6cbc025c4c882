"""The user's day on the real lab, first steps: `make lab` gave two Ready nodes and
examples/nginx.yaml running, and the NodePort answers from the host on every node."""

from __future__ import annotations

import time

import httpx
import pytest

from kajitori.client import ApiClient
from tests.e2e.conftest import NODES

pytestmark = pytest.mark.e2e


def _nginx_pods(api: ApiClient) -> list[dict]:
    pods = api.request("GET", "/api/v1/namespaces/default/pods", params={"labelSelector": "app=nginx"})["items"]
    return [p for p in pods if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def test_both_nodes_are_ready(lab_api: ApiClient) -> None:
    nodes = {n["metadata"]["name"]: n for n in lab_api.request("GET", "/api/v1/nodes")["items"]}
    for name, address in NODES.items():
        conditions = {c["type"]: c["status"] for c in nodes[name]["status"]["conditions"]}
        assert conditions["Ready"] == "True"
        assert {"type": "InternalIP", "address": address} in nodes[name]["status"]["addresses"]


def test_nginx_runs_three_replicas_over_both_nodes(lab_api: ApiClient) -> None:
    deadline = time.monotonic() + 60
    while len(pods := _nginx_pods(lab_api)) < 3 and time.monotonic() < deadline:
        time.sleep(1)
    assert len(pods) == 3
    assert {p["spec"]["nodeName"] for p in pods} == set(NODES)


@pytest.mark.parametrize("address", list(NODES.values()), ids=list(NODES))
def test_the_node_port_answers_from_the_host(lab_api: ApiClient, address: str) -> None:
    answered_by = set()
    with httpx.Client(timeout=5.0) as http:
        for _ in range(30):
            # A new connection each time: the proxy balances connections, not requests.
            response = http.get(f"http://{address}:30080/", headers={"Connection": "close"})
            assert response.status_code == 200
            answered_by.add(response.text.split("<title>")[1].split("</title>")[0])
    assert answered_by <= {p["metadata"]["name"] for p in _nginx_pods(lab_api)}
    assert len(answered_by) > 1, f"only {answered_by} answered through {address}"

"""The user's day, step 2, on the real lab: the nginx Service answers through every path
a user tries — the NodePort of each node from the other node, the ClusterIP from a pod
on each node and from each node itself, and the name nginx.default.svc.cluster.local
(cluster DNS on the master) from a pod — and answers come from more than one pod."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import pytest

from kajitori.client import ApiClient
from tests.e2e.conftest import NODES
from tests.e2e.lab_access import delete_pod, ensure_tools_pod, machine_sh, pod_exec, wait_nginx_ready

pytestmark = pytest.mark.e2e

SERVICE_NAME = "nginx.default.svc.cluster.local"
# A new connection per request (curl's default), each bounded: the proxy balances connections.
CURL = "curl -sS --max-time 5 -w ' %{http_code}'"
TRIES = 12


@pytest.fixture(scope="module")
def tools_pods(lab_api: ApiClient) -> Iterator[dict[str, str]]:
    """A tools pod (curl, dig) on each node, removed after the module."""
    wait_nginx_ready(lab_api)
    pods = {machine: ensure_tools_pod(lab_api, machine) for machine in NODES}
    for machine, name in pods.items():
        pod = lab_api.request("GET", f"/api/v1/namespaces/default/pods/{name}")
        assert pod["spec"]["nodeName"] == machine
    yield pods
    for name in pods.values():
        delete_pod(lab_api, "default", name)


@pytest.fixture(scope="module")
def cluster_ip(lab_api: ApiClient) -> str:
    return str(lab_api.request("GET", "/api/v1/namespaces/default/services/nginx")["spec"]["clusterIP"])


def _nginx_names(lab_api: ApiClient) -> set[str]:
    return {p["metadata"]["name"] for p in wait_nginx_ready(lab_api)}


def _answers(output: str) -> list[tuple[str, str]]:
    """(pod name, HTTP code) per line that curl printed for GET /hostname."""
    rows = []
    for line in output.strip().splitlines():
        parts = line.split()
        rows.append((parts[0], parts[-1]) if len(parts) >= 2 else ("", parts[-1] if parts else ""))
    return rows


def _loop(url: str) -> str:
    # One line per request, "<body> <code>" (the unquoted echo folds the body's newline).
    return f"for i in $(seq {TRIES}); do echo $({CURL} {shlex.quote(url)} 2>&1); done"


def _assert_balanced(output: str, names: set[str], where: str) -> None:
    answers = _answers(output)
    assert len(answers) == TRIES, output
    assert all(code == "200" for _, code in answers), f"{where}: {output}"
    answered_by = {name for name, _ in answers}
    assert answered_by <= names, f"{where}: answers from {answered_by}, nginx pods are {names}"
    assert len(answered_by) > 1, f"{where}: only {answered_by} answered"


@pytest.mark.parametrize("machine", list(NODES), ids=list(NODES))
def test_the_cluster_ip_answers_from_a_pod_on_each_node(lab_api: ApiClient, tools_pods: dict[str, str],
                                                         cluster_ip: str, machine: str) -> None:
    code, out = pod_exec(lab_api, "default", tools_pods[machine], ["bash", "-c", _loop(f"http://{cluster_ip}/hostname")],
                         timeout_s=TRIES * 6)
    assert code == 0, out
    _assert_balanced(out, _nginx_names(lab_api), f"pod on {machine} -> {cluster_ip}")


@pytest.mark.parametrize("machine", list(NODES), ids=list(NODES))
def test_the_cluster_ip_answers_from_each_node(lab_api: ApiClient, cluster_ip: str, machine: str) -> None:
    code, out = machine_sh(machine, _loop(f"http://{cluster_ip}/hostname"), timeout_s=TRIES * 6)
    assert code == 0, out
    _assert_balanced(out, _nginx_names(lab_api), f"{machine} -> {cluster_ip}")


@pytest.mark.parametrize(("machine", "target"), [("node1", "node2"), ("node2", "node1")], ids=["node1->node2", "node2->node1"])
def test_the_node_port_answers_from_the_other_node(lab_api: ApiClient, machine: str, target: str) -> None:
    code, out = machine_sh(machine, _loop(f"http://{NODES[target]}:30080/hostname"), timeout_s=TRIES * 6)
    assert code == 0, out
    _assert_balanced(out, _nginx_names(lab_api), f"{machine} -> {target}:30080")


def test_the_service_name_resolves_to_the_cluster_ip(lab_api: ApiClient, tools_pods: dict[str, str], cluster_ip: str) -> None:
    code, out = pod_exec(lab_api, "default", tools_pods["node1"], ["dig", "+short", "+time=2", "+tries=2", SERVICE_NAME])
    assert code == 0, out
    assert out.split() == [cluster_ip]
    # The pod's resolv.conf points at the cluster DNS Service, as the agent writes it.
    code, out = pod_exec(lab_api, "default", tools_pods["node1"], ["cat", "/etc/resolv.conf"])
    assert "nameserver 10.96.0.10" in out


def test_names_outside_the_cluster_are_refused(lab_api: ApiClient, tools_pods: dict[str, str]) -> None:
    # Refused by the master's DNS itself: the query never leaves the lab.
    _code, out = pod_exec(lab_api, "default", tools_pods["node2"], ["dig", "+time=2", "+tries=1", "example.org"])
    assert "REFUSED" in out, out


@pytest.mark.parametrize("machine", list(NODES), ids=list(NODES))
def test_the_service_name_answers_from_a_pod(lab_api: ApiClient, tools_pods: dict[str, str], machine: str) -> None:
    for url in (f"http://{SERVICE_NAME}/hostname", "http://nginx/hostname"):  # full name, and through the search path
        code, out = pod_exec(lab_api, "default", tools_pods[machine], ["bash", "-c", _loop(url)], timeout_s=TRIES * 6)
        assert code == 0, out
        _assert_balanced(out, _nginx_names(lab_api), f"pod on {machine} -> {url}")

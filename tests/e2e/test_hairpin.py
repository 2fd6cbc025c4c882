"""Two paths Kubernetes users take for granted, on the real lab:

- hairpin: a pod that calls its own Service and is load-balanced to itself gets its
  answer (the nodes' dockerd runs with "userland-proxy": false, so every port of the
  pod bridge kt0 is in hairpin mode; the proxy masquerades that traffic);
- NodePorts on a node's loopback: `curl 127.0.0.1:30080` on a node answers, whether the
  backend runs on that node or the other (route_localnet on the nodes, NodePort traffic
  masqueraded by the proxy).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import pytest

from kajitori.client import ApiClient, NotFoundError
from lab.failover import pod_ready, wait_until
from tests.e2e.conftest import NODES
from tests.e2e.lab_access import TOOLS_IMAGE, delete_pod, machine_sh, wait_nginx_ready

pytestmark = pytest.mark.e2e

NAME = "e2e-hairpin"
NAMESPACE = "default"
POD_BRIDGE = "kt0"
CURL = "curl -sS --max-time 5 -w ' %{http_code}'"
TRIES = 12
LOOPBACK_TRIES = 24


def _pod_manifest(machine: str) -> dict[str, Any]:
    """nginx and a tools container (curl) in one pod, so the caller is the only backend."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": NAME, "labels": {"app": NAME}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": machine},
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.22",
                    "ports": [{"containerPort": 80}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1},
                },
                {"name": "tools", "image": TOOLS_IMAGE},
            ],
        },
    }


def _service_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME},
        "spec": {"selector": {"app": NAME}, "ports": [{"name": "http", "port": 80, "targetPort": 80}]},
    }


def _delete(api: ApiClient, path: str) -> None:
    try:
        api.request("DELETE", path)
    except NotFoundError:
        pass


def _endpoint_ips(api: ApiClient) -> list[str]:
    try:
        endpoints = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/endpoints/{NAME}")
    except NotFoundError:
        return []
    return [a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []]


@pytest.fixture(scope="module")
def hairpin_pod(lab_api: ApiClient) -> Iterator[dict[str, Any]]:
    """The pod on node1 behind a Service of its own (selecting only it), both removed after the module."""
    pod_path = f"/api/v1/namespaces/{NAMESPACE}/pods/{NAME}"
    service_path = f"/api/v1/namespaces/{NAMESPACE}/services/{NAME}"
    # Left over by an interrupted run: start clean.
    _delete(lab_api, service_path)
    delete_pod(lab_api, NAMESPACE, NAME)
    wait_until(f"old pod {NAME} gone", lambda: not _exists(lab_api, pod_path), timeout_s=60)
    try:
        lab_api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/services", body=_service_manifest())
        lab_api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", body=_pod_manifest("node1"))
        wait_until(f"pod {NAME} Ready", lambda: pod_ready(lab_api.request("GET", pod_path)), timeout_s=90)
        pod = lab_api.request("GET", pod_path)
        wait_until(f"Service {NAME} has the pod as its endpoint",
                   lambda: _endpoint_ips(lab_api) == [pod["status"]["podIP"]], timeout_s=30)
        service = lab_api.request("GET", service_path)
        yield {"pod": pod, "cluster_ip": service["spec"]["clusterIP"]}
    finally:
        _delete(lab_api, service_path)
        delete_pod(lab_api, NAMESPACE, NAME)


def _exists(api: ApiClient, path: str) -> bool:
    try:
        api.request("GET", path)
    except NotFoundError:
        return False
    return True


def _exec_tools(api: ApiClient, command: str, *, timeout_s: float) -> tuple[int, str]:
    """Runs `command` with bash in the pod's tools container (pods/exec with ?container=)."""
    answer = api.request(
        "POST", f"/api/v1/namespaces/{NAMESPACE}/pods/{NAME}/exec", params={"container": "tools"},
        body={"command": ["bash", "-c", command], "timeoutSeconds": timeout_s},
    )
    return int(answer.get("exitCode", 0)), str(answer.get("output", ""))


def _loop(url: str, *, tries: int = TRIES) -> str:
    # One line per request, "<body> <code>" (the unquoted echo folds the body's newline).
    return f"for i in $(seq {tries}); do echo $({CURL} {shlex.quote(url)} 2>&1); done"


def _answers(output: str) -> list[tuple[str, str]]:
    """(body's first word, HTTP code) per line the loop printed."""
    rows = []
    for line in output.strip().splitlines():
        parts = line.split()
        rows.append((parts[0], parts[-1]) if len(parts) >= 2 else ("", parts[-1] if parts else ""))
    return rows


@pytest.mark.parametrize("machine", list(NODES), ids=list(NODES))
def test_every_port_of_the_pod_bridge_is_in_hairpin_mode(hairpin_pod: dict[str, Any], machine: str) -> None:
    code, out = machine_sh(machine, f"for f in /sys/class/net/{POD_BRIDGE}/brif/*/hairpin_mode; do "
                                    "echo \"$(basename $(dirname $(dirname $f))) $(cat $f)\"; done")
    assert code == 0, out
    modes = dict(line.split() for line in out.strip().splitlines())
    assert modes, f"no ports on {POD_BRIDGE} of {machine}: {out}"
    assert set(modes.values()) == {"1"}, f"{machine}: hairpin_mode per port of {POD_BRIDGE}: {modes}"


def test_a_pod_reaches_itself_through_its_own_service(lab_api: ApiClient, hairpin_pod: dict[str, Any]) -> None:
    cluster_ip = hairpin_pod["cluster_ip"]
    code, out = _exec_tools(lab_api, _loop(f"http://{cluster_ip}/hostname"), timeout_s=TRIES * 6)
    assert code == 0, out
    answers = _answers(out)
    assert len(answers) == TRIES, out
    assert answers == [(NAME, "200")] * TRIES, f"pod {NAME} -> its own Service {cluster_ip}: {out}"


def test_a_pod_reaches_itself_through_its_service_name(lab_api: ApiClient, hairpin_pod: dict[str, Any]) -> None:
    code, out = _exec_tools(lab_api, _loop(f"http://{NAME}/hostname"), timeout_s=TRIES * 6)
    assert code == 0, out
    assert _answers(out) == [(NAME, "200")] * TRIES, f"pod {NAME} -> http://{NAME}/: {out}"


@pytest.mark.parametrize("machine", list(NODES), ids=list(NODES))
def test_the_node_port_answers_on_the_node_loopback(lab_api: ApiClient, machine: str) -> None:
    # The `lab` fixture spreads nginx over both nodes, so backends on this node (through
    # kt0) and on the other one (through eth1) both answer: (2/3)**24 makes missing
    # either by chance negligible.
    node_of = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in wait_nginx_ready(lab_api)}
    code, out = machine_sh(machine, _loop("http://127.0.0.1:30080/hostname", tries=LOOPBACK_TRIES),
                           timeout_s=LOOPBACK_TRIES * 6)
    assert code == 0, out
    answers = _answers(out)
    assert len(answers) == LOOPBACK_TRIES, out
    assert all(code == "200" for _, code in answers), f"{machine} -> 127.0.0.1:30080: {out}"
    answered_from = {node_of.get(name) for name, _ in answers}
    assert answered_from == set(NODES), f"{machine} -> 127.0.0.1:30080 answered from {answered_from}: {out}"

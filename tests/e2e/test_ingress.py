"""Ingress on the real lab: every node's `kajitori-ingress` serves examples/ingress.yaml on ports
80/443 of its lab address; two apps (nginx and hello) by host and by path, one host over TLS
with a self-signed Secret (`curl --resolve`), and a new path added live while a bounded client
counts failed requests (none allowed). Traffic goes only to the nodes' lab addresses."""

from __future__ import annotations

import base64
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kajitori.client import ApiClient, NotFoundError
from tests.e2e.conftest import NODES, ROOT
from tests.e2e.lab_access import wait_for_value, wait_nginx_ready
from tests.support.pki import self_signed

pytestmark = pytest.mark.e2e

INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
SECURE_HOST = "secure.lab.test"


def get(node_ip: str, host: str, path: str) -> tuple[int, str] | None:
    """GET http://node_ip/path with Host: host on a new connection; (status, body) or None."""
    request = urllib.request.Request(f"http://{node_ip}{path}", headers={"Host": host, "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=3) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError:
        return None


def _apply(api: ApiClient, doc: dict[str, Any]) -> None:
    kind, name = doc["kind"], doc["metadata"]["name"]
    plural = {"Deployment": "/apis/apps/v1/namespaces/default/deployments", "Service": "/api/v1/namespaces/default/services",
              "Ingress": INGRESSES, "Secret": "/api/v1/namespaces/default/secrets"}[kind]  # fmt: skip
    try:
        api.request("DELETE", f"{plural}/{name}")
    except NotFoundError:
        pass
    wait_for_value(f"{kind} {name} gone", lambda: _gone(api, f"{plural}/{name}"), timeout_s=60)
    api.request("POST", plural, body=doc)


def _gone(api: ApiClient, path: str) -> bool:
    try:
        api.request("GET", path)
    except NotFoundError:
        return True
    return False




@pytest.fixture(scope="module")
def demo(lab_api: ApiClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """examples/ingress.yaml plus a TLS host; yields the self-signed certificate's file."""
    wait_nginx_ready(lab_api)
    docs = list(yaml.safe_load_all((ROOT / "examples" / "ingress.yaml").read_text()))
    cert, key = self_signed(SECURE_HOST)
    cert_file = tmp_path_factory.mktemp("ingress") / "secure.crt"
    cert_file.write_bytes(cert)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure-lab-tls"}, "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}  # fmt: skip
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    ingress["spec"]["tls"] = [{"hosts": [SECURE_HOST], "secretName": "secure-lab-tls"}]
    ingress["spec"]["rules"].append({"host": SECURE_HOST, "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "hello", "port": {"number": 80}}}}]}})  # fmt: skip
    for doc in [secret, *docs]:
        _apply(lab_api, doc)
    try:
        yield cert_file
    finally:
        for path in (f"{INGRESSES}/demo", "/api/v1/namespaces/default/secrets/secure-lab-tls",
                     "/api/v1/namespaces/default/services/hello", "/apis/apps/v1/namespaces/default/deployments/hello"):  # fmt: skip
            try:
                lab_api.request("DELETE", path)
            except NotFoundError:
                pass
        # The tests after this one (drain) count the pods on a node: hello's must be gone, not
        # only its Deployment (its pods end after their grace period).
        wait_for_value("hello's pods gone", lambda: not lab_api.request(
            "GET", "/api/v1/namespaces/default/pods", params={"labelSelector": "app=hello"})["items"], timeout_s=120)  # fmt: skip


def _pod_name(answer: tuple[int, str] | None, prefix: str) -> bool:
    return answer is not None and answer[0] == 200 and answer[1].startswith(prefix)


@pytest.mark.parametrize("node_ip", list(NODES.values()))
def test_two_apps_by_host_and_by_path_on_every_node(demo: Path, node_ip: str) -> None:
    # Each check waits for its own answer: pods become ready (Endpoints, then a reload) on their own time.
    wait_for_value("hello by host", lambda: _pod_name(get(node_ip, "hello.lab.test", "/hostname"), "hello-"), timeout_s=120)
    wait_for_value("nginx by host", lambda: _pod_name(get(node_ip, "nginx.lab.test", "/hostname"), "nginx-"), timeout_s=60)
    wait_for_value("hello by Exact path", lambda: _pod_name(get(node_ip, "apps.lab.test", "/hostname"), "hello-"), timeout_s=60)

    def nginx_page() -> bool:
        page = get(node_ip, "apps.lab.test", "/")
        return page is not None and page[0] == 200 and "Hello from nginx-" in page[1]

    wait_for_value("nginx by Prefix /", nginx_page, timeout_s=60)
    assert get(node_ip, "other.lab.test", "/") == (404, "default backend - 404\n")


def test_the_ingress_status_lists_the_nodes(lab_api: ApiClient, demo: Path) -> None:
    def addresses() -> list[str] | None:
        status = lab_api.request("GET", f"{INGRESSES}/demo").get("status") or {}
        points = (status.get("loadBalancer") or {}).get("ingress") or []
        return sorted(p["ip"] for p in points) or None

    assert wait_for_value("the Ingress's addresses", addresses, timeout_s=60) == sorted(NODES.values())


def test_tls_with_a_self_signed_secret_through_curl_resolve(demo: Path) -> None:
    node_ip = NODES["node1"]

    def curl() -> str | None:
        proc = subprocess.run(
            ["curl", "-sS", "--max-time", "5", "--resolve", f"{SECURE_HOST}:443:{node_ip}", "--cacert", str(demo),
             f"https://{SECURE_HOST}/hostname"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return proc.stdout if proc.returncode == 0 and proc.stdout.startswith("hello-") else None

    assert wait_for_value("hello over TLS", curl, timeout_s=120).startswith("hello-")


def test_a_new_path_goes_live_without_dropping_requests(lab_api: ApiClient, demo: Path) -> None:
    node_ip = NODES["node2"]
    wait_for_value("nginx by host", lambda: _pod_name(get(node_ip, "nginx.lab.test", "/hostname"), "nginx-"), timeout_s=120)
    stop = threading.Event()
    answers: list[tuple[int, str] | None] = []

    def client() -> None:
        while not stop.is_set() and len(answers) < 5_000:
            answers.append(get(node_ip, "nginx.lab.test", "/hostname"))
            time.sleep(0.02)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        current = lab_api.request("GET", f"{INGRESSES}/demo")
        rule = next(r for r in current["spec"]["rules"] if r["host"] == "nginx.lab.test")
        rule["http"]["paths"].append(
            {"path": "/index.html", "pathType": "Exact", "backend": {"service": {"name": "hello", "port": {"number": 80}}}}
        )
        lab_api.request("PUT", f"{INGRESSES}/demo", body=current)

        def moved() -> bool:
            page = get(node_ip, "nginx.lab.test", "/index.html")
            return page is not None and page[0] == 200 and "Hello from hello-" in page[1]

        wait_for_value("the new path served", moved, timeout_s=60)
        count = len(answers)
        wait_for_value("requests after the change", lambda: len(answers) > count + 20, timeout_s=60)
    finally:
        stop.set()
        thread.join()
    failed = [a for a in answers if not _pod_name(a, "nginx-")]
    assert answers and not failed, f"{len(failed)} of {len(answers)} requests failed: {failed[:5]}"


def test_a_load_balancer_address_in_front_of_the_nodes(lab_api: ApiClient, demo: Path) -> None:
    """examples/ingress-nginx-lb.yaml: a pool address answers for every Ingress and becomes their status."""
    docs = list(yaml.safe_load_all((ROOT / "examples" / "ingress-nginx-lb.yaml").read_text()))
    service_path = "/api/v1/namespaces/kube-system/services/ingress-nginx"
    endpoints_path = "/api/v1/namespaces/kube-system/endpoints/ingress-nginx"
    for path in (service_path, endpoints_path):
        try:
            lab_api.request("DELETE", path)
        except NotFoundError:
            pass
    lab_api.request("POST", "/api/v1/namespaces/kube-system/endpoints", body=next(d for d in docs if d["kind"] == "Endpoints"))
    lab_api.request("POST", "/api/v1/namespaces/kube-system/services", body=next(d for d in docs if d["kind"] == "Service"))
    try:
        def external_ip() -> str | None:
            points = ((lab_api.request("GET", service_path).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return str(points[0]["ip"]) if points and points[0].get("ip") else None

        address = wait_for_value("an address for ingress-nginx", external_ip, timeout_s=30)

        def status() -> bool:
            points = ((lab_api.request("GET", f"{INGRESSES}/demo").get("status") or {}).get("loadBalancer") or {}).get("ingress")
            return points == [{"ip": address}]

        wait_for_value("the Ingress's status naming the load-balancer address", status, timeout_s=60)
        wait_for_value("hello through the load-balancer address",
                   lambda: _pod_name(get(address, "hello.lab.test", "/hostname"), "hello-"), timeout_s=60)  # fmt: skip
    finally:
        for path in (service_path, endpoints_path):
            try:
                lab_api.request("DELETE", path)
            except NotFoundError:
                pass
    # Without the Service the nodes' own addresses are the status again.
    wait_for_value("the nodes' addresses back in the status", lambda: sorted(
        p["ip"] for p in ((lab_api.request("GET", f"{INGRESSES}/demo").get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ) == sorted(NODES.values()), timeout_s=60)  # fmt: skip

"""The ingress controller end to end on this machine (tests/support/ingress_rig.py): a real master,
the `kajitori ingress-controller` process, Debian's nginx in a container it starts, two backends."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import invoker
from tests.support.cluster import wait_for
from tests.support.ingress_rig import (
    INGRESSES,
    PUBLISHED,
    Rig,
    answer,
    events_of,
    ingress_rig,
    post,
    request,
    rule,
    served,
    synced,
)
from tests.support.pki import self_signed
from tests.support.present import present
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with ingress_rig(tmp_path_factory.mktemp("ingress")) as made:
        yield made


def ingress(name: str, *rules: dict[str, Any], tls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": list(rules)}
    if tls:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name}, "spec": spec}




def tls_secret(name: str, cert: bytes, key: bytes) -> dict[str, Any]:
    return {"metadata": {"name": name}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}  # fmt: skip


# --------------------------------------------------------------------------- tests


def test_two_backends_by_host_and_by_path_kubernetes_matching(rig: Rig) -> None:
    body = post(rig.http, INGRESSES, ingress(
        "routes",
        rule("a.test", ("/", "Prefix", "app-a")),
        rule("b.test", ("/", "Prefix", "app-b")),
        rule("paths.test", ("/a", "Prefix", "app-a"), ("/b", "Exact", "app-b"), ("/a/deep", "Prefix", "app-b")),
    ))  # fmt: skip
    assert body["spec"]["ingressClassName"] == "kajitori"
    synced(rig, "routes", body["metadata"]["generation"])
    assert answer(rig, "a.test", "/x") == (200, "app-a /x\n")
    assert answer(rig, "b.test", "/x") == (200, "app-b /x\n")
    assert answer(rig, "paths.test", "/a") == (200, "app-a /a\n")
    assert answer(rig, "paths.test", "/a/x") == (200, "app-a /a/x\n")
    assert answer(rig, "paths.test", "/a/deep/er") == (200, "app-b /a/deep/er\n")  # longest prefix wins
    assert answer(rig, "paths.test", "/b") == (200, "app-b /b\n")
    assert answer(rig, "paths.test", "/ab")[0] == 404  # type: ignore[index]  # element-wise: /a is not a prefix of /ab
    assert answer(rig, "paths.test", "/b/x")[0] == 404  # type: ignore[index]  # Exact
    assert answer(rig, "unknown.test", "/")[0] == 404  # type: ignore[index]
    status = wait_for(
        lambda: rig.http.get(f"{INGRESSES}/routes").json().get("status", {}).get("loadBalancer", {}).get("ingress"),
        timeout=PROCESS_TIMEOUT_S, what="the Ingress's status",
    )  # fmt: skip
    assert status == [{"ip": PUBLISHED}]


def test_tls_with_sni_from_a_kubernetes_tls_secret(rig: Rig) -> None:
    cert, key = self_signed("secure.test")
    post(rig.http, "/api/v1/namespaces/default/secrets", tls_secret("secure-tls", cert, key))
    made = post(rig.http, INGRESSES, ingress("secure", rule("secure.test", ("/", "Prefix", "app-b")),
                                              tls=[{"hosts": ["secure.test"], "secretName": "secure-tls"}]))  # fmt: skip
    synced(rig, "secure", made["metadata"]["generation"])
    # Verified against the Secret's own certificate: SNI chose it. Waited for: the controller may
    # see the Ingress before the Secret (two watches) and serve that generation without it first.
    served(rig, "secure.test", "/s", (200, "app-b /s\n"), tls=True, cafile=cert)
    assert answer(rig, "secure.test", "/s") == (200, "app-b /s\n")  # and plain HTTP too
    with pytest.raises(ssl.SSLError):
        request(rig.nginx_ip, "unknown.test", "/", tls=True)  # no certificate for an unknown name


def test_a_missing_service_is_a_503_naming_it_and_an_event(rig: Rig) -> None:
    made = post(rig.http, INGRESSES, ingress("missing", rule("missing.test", ("/", "Prefix", "nope"))))
    synced(rig, "missing", made["metadata"]["generation"])
    assert answer(rig, "missing.test", "/") == (503, "service default/nope not found\n")
    found = wait_for(lambda: [e for e in events_of(rig, "missing") if e["reason"] == "ServiceNotFound"],
                     timeout=PROCESS_TIMEOUT_S, what="a ServiceNotFound event")  # fmt: skip
    assert found[0]["type"] == "Warning" and "default/nope" in found[0]["message"]
    described = invoker(rig.master)("describe", "ingress", "missing")
    assert described.exit_code == 0, described.output
    text = described.stdout
    assert 'nope:80 (<error: services "nope" not found>)' in text and "Ingress Class:" in text, text
    assert "ServiceNotFound" in text and "service default/nope not found" in text, text


def test_a_broken_ingress_never_breaks_the_others(rig: Rig) -> None:
    made = post(rig.http, INGRESSES, ingress("steady", rule("steady.test", ("/", "Prefix", "app-a"))))
    synced(rig, "steady", made["metadata"]["generation"])
    assert answer(rig, "steady.test", "/") == (200, "app-a /\n")
    garbage = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    post(rig.http, "/api/v1/namespaces/default/secrets", tls_secret("broken-tls", garbage, garbage))
    post(rig.http, INGRESSES, ingress("broken", rule("broken.test", ("/", "Prefix", "app-b")),
                                       tls=[{"hosts": ["broken.test"], "secretName": "broken-tls"}]))  # fmt: skip
    rejected = wait_for(lambda: [e for e in events_of(rig, "broken") if e["reason"] == "RejectedByNginx"],
                        timeout=PROCESS_TIMEOUT_S, what="a RejectedByNginx event")  # fmt: skip
    assert rejected[0]["type"] == "Warning" and "broken-tls" in rejected[0]["message"], rejected
    # Changes after it are still served, and so is everything before it; the broken one is left out.
    made = post(rig.http, INGRESSES, ingress("after", rule("after.test", ("/", "Prefix", "app-b"))))
    synced(rig, "after", made["metadata"]["generation"])
    assert answer(rig, "after.test", "/") == (200, "app-b /\n")
    assert answer(rig, "steady.test", "/") == (200, "app-a /\n")
    assert answer(rig, "broken.test", "/")[0] == 404  # type: ignore[index]


def test_a_new_path_goes_live_without_dropping_a_request(rig: Rig) -> None:
    made = post(rig.http, INGRESSES, ingress("live", rule("live.test", ("/", "Prefix", "app-a"))))
    synced(rig, "live", made["metadata"]["generation"])
    stop = threading.Event()
    results: list[tuple[int, str] | None] = []

    def client() -> None:
        while not stop.is_set() and len(results) < 20_000:
            results.append(answer(rig, "live.test", "/"))

    thread = threading.Thread(target=client)
    thread.start()
    try:
        current = rig.http.get(f"{INGRESSES}/live").json()
        current["spec"]["rules"][0]["http"]["paths"].append(
            {"path": "/new", "pathType": "Prefix", "backend": {"service": {"name": "app-b", "port": {"number": 80}}}}
        )
        r = rig.http.put(f"{INGRESSES}/live", json=current)
        assert r.status_code == 200, r.text
        synced(rig, "live", r.json()["metadata"]["generation"])
        assert answer(rig, "live.test", "/new/x") == (200, "app-b /new/x\n")
        count = len(results)
        wait_for(lambda: len(results) > count + 20, timeout=PROCESS_TIMEOUT_S, what="requests after the reload")
    finally:
        stop.set()
        thread.join()
    failed = [r for r in results if r != (200, "app-a /\n")]
    assert results and not failed, f"{len(failed)} of {len(results)} requests failed: {failed[:5]}"


def _kubectl(rig: Rig, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("kubectl")
    binary = Path(os.path.realpath(found)).parent / f"kubectl.{version}" if found else None
    if binary is None or not binary.exists():
        pytest.skip(f"kubectl.{version} is not installed")
    env = {**os.environ, "KUBECONFIG": str(rig.master.kubeconfig), "HOME": str(rig.master.data_dir)}
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("version", ["1.28", "1.33"])
def test_kubectl_creates_and_lists_ingresses(rig: Rig, version: str) -> None:
    name = f"made-by-kubectl-{version.replace('.', '-')}"
    host = f"{name}.test"
    # 1.33 sends this typed command's body as protobuf.
    made = _kubectl(rig, version, "create", "ingress", name, f"--rule={host}/*=app-a:80")
    assert made.returncode == 0, made.stderr
    synced(rig, name, rig.http.get(f"{INGRESSES}/{name}").json()["metadata"]["generation"])
    assert answer(rig, host, "/k") == (200, "app-a /k\n")
    wait_for(lambda: PUBLISHED in _kubectl(rig, version, "get", "ing", name).stdout, timeout=PROCESS_TIMEOUT_S,
             what="the address in kubectl get ing")  # fmt: skip
    lines = _kubectl(rig, version, "get", "ing", name).stdout.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:5] == [name, "kajitori", host, PUBLISHED, "80"]
    described = _kubectl(rig, version, "describe", "ingress", name)
    assert described.returncode == 0, described.stderr
    assert "Ingress Class:    kajitori" in described.stdout and "app-a:80 (" in described.stdout, described.stdout
    assert "Sync" in described.stdout, described.stdout  # the controller's Event
    classes = _kubectl(rig, version, "get", "ingressclass").stdout.splitlines()
    assert classes[1].split()[:3] == ["kajitori", "kajitori.io/ingress-nginx", "<none>"]


def test_the_official_client_creates_reads_and_lists_ingresses(rig: Rig) -> None:
    import kubernetes

    api = kubernetes.client.NetworkingV1Api(kubernetes.config.new_client_from_config(config_file=str(rig.master.kubeconfig)))
    body = kubernetes.client.V1Ingress(
        metadata=kubernetes.client.V1ObjectMeta(name="from-python"),
        spec=kubernetes.client.V1IngressSpec(rules=[kubernetes.client.V1IngressRule(
            host="python.test",
            http=kubernetes.client.V1HTTPIngressRuleValue(paths=[kubernetes.client.V1HTTPIngressPath(
                path="/", path_type="Prefix",
                backend=kubernetes.client.V1IngressBackend(service=kubernetes.client.V1IngressServiceBackend(
                    name="app-b", port=kubernetes.client.V1ServiceBackendPort(number=80))),
            )]),
        )]),
    )  # fmt: skip
    created = api.create_namespaced_ingress("default", body)
    assert present(created.spec).ingress_class_name == "kajitori"
    synced(rig, "from-python", present(present(created.metadata).generation))
    assert answer(rig, "python.test", "/p") == (200, "app-b /p\n")

    def published() -> list[kubernetes.client.V1IngressLoadBalancerIngress] | None:
        return present(present(api.read_namespaced_ingress_status("from-python", "default").status).load_balancer).ingress

    status = present(wait_for(published, timeout=PROCESS_TIMEOUT_S, what="the status through the official client"))
    assert [point.ip for point in status] == [PUBLISHED]
    assert "from-python" in [present(i.metadata).name for i in api.list_namespaced_ingress("default").items]
    assert [present(c.spec).controller for c in api.list_ingress_class().items] == ["kajitori.io/ingress-nginx"]


def test_nginx_keeps_serving_while_the_controller_restarts(rig: Rig) -> None:
    made = post(rig.http, INGRESSES, ingress("before-restart", rule("before.test", ("/", "Prefix", "app-a"))))
    synced(rig, "before-restart", made["metadata"]["generation"])
    rig.stop_controller()
    try:
        assert answer(rig, "before.test", "/r") == (200, "app-a /r\n")  # nginx runs on without its controller
        made = post(rig.http, INGRESSES, ingress("during-restart", rule("during.test", ("/", "Prefix", "app-b"))))
    finally:
        rig.start_controller()
    # The new controller takes the running nginx over and serves what changed meanwhile.
    synced(rig, "during-restart", made["metadata"]["generation"])
    assert answer(rig, "during.test", "/r") == (200, "app-b /r\n")
    assert answer(rig, "before.test", "/r") == (200, "app-a /r\n")

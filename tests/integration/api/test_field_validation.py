"""Server-side field validation against a real master: ``?fieldValidation=Ignore|Warn|Strict``.

Strict refuses a create, update or patch carrying fields Kubernetes does not have with
kube-apiserver's 400 (every field named) and writes nothing; Warn (also what a request
without the parameter gets) keeps the object and sends one ``Warning: 299`` header per
field; Ignore says nothing. Kubernetes fields Kajitori does not model never count.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from kajitori.api.registry import by_kind
from kajitori.client import ApiClient, ApiError
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
TYPO_WARNINGS = [
    '299 - "unknown field \\"spec.replica\\""',
    '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""',
]
STRICT_MESSAGE = (
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
    'unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolcy"'
)


def deployment(name: str, *, typos: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "web",
        "image": "nginx:1.22",
        # Kubernetes fields Kajitori keeps without modelling: never unknown.
        "securityContext": {"allowPrivilegeEscalation": False},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
    }
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "containers": [container],
                "securityContext": {"runAsNonRoot": True},
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
                ],
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
            },
        },
    }
    if typos:
        spec["replica"] = 3
        container["imagePullPolcy"] = "Always"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def http(master: MasterProcess, api: ApiClient) -> httpx.Client:
    return httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {api.config.token}"}, timeout=10, verify=master.tls())


def revision(http: httpx.Client) -> list[tuple[str, str, str]]:
    """Every Deployment's and namespace's name and resourceVersion: any write of these tests moves it.
    (Not the store's revision: the master renews its own Lease every 2 s whatever the client does.)"""
    found = []
    for path in (DEPLOYMENTS, "/api/v1/namespaces"):
        r = http.get(path)
        assert r.status_code == 200, r.text
        found += [(path, i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in r.json()["items"]]
    return sorted(found)


def assert_strict_refusal(response: httpx.Response, name: str) -> None:
    assert response.status_code == 400, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["reason"] == "BadRequest" and status["code"] == 400
    assert status["message"] == STRICT_MESSAGE
    assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == [
        ("spec.replica", "unknown field"),
        ("spec.template.spec.containers[0].imagePullPolcy", "unknown field"),
    ]
    assert status["details"]["name"] == name
    assert "warning" not in response.headers


# -- Strict ------------------------------------------------------------------------------


def test_strict_create_is_refused_and_writes_nothing(http: httpx.Client) -> None:
    name = unique("strict-create")
    before = revision(http)
    response = http.post(DEPLOYMENTS, params={"fieldValidation": "Strict"}, json=deployment(name, typos=True))
    assert_strict_refusal(response, name)
    assert revision(http) == before
    assert http.get(f"{DEPLOYMENTS}/{name}").status_code == 404


def test_strict_update_and_patch_are_refused_and_write_nothing(http: httpx.Client) -> None:
    name = unique("strict-write")
    created = http.post(DEPLOYMENTS, params={"fieldValidation": "Strict"}, json=deployment(name))
    assert created.status_code == 201 and "warning" not in created.headers
    before = revision(http)

    body = deployment(name, typos=True)
    body["metadata"]["resourceVersion"] = created.json()["metadata"]["resourceVersion"]
    assert_strict_refusal(http.put(f"{DEPLOYMENTS}/{name}", params={"fieldValidation": "Strict"}, json=body), name)

    patch = {"spec": {"replica": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.22", "imagePullPolcy": "Always"}]}}}}
    merge = {"Content-Type": "application/merge-patch+json"}
    patched = http.patch(f"{DEPLOYMENTS}/{name}", params={"fieldValidation": "Strict"}, json=patch, headers=merge)
    assert_strict_refusal(patched, name)

    assert revision(http) == before
    assert http.get(f"{DEPLOYMENTS}/{name}").json() == created.json()


def test_standard_kubernetes_fields_pass_strict(http: httpx.Client) -> None:
    name = unique("standard")
    response = http.post(DEPLOYMENTS, params={"fieldValidation": "Strict"}, json=deployment(name))
    assert response.status_code == 201, response.text
    assert "warning" not in response.headers
    spec = response.json()["spec"]["template"]["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True}
    assert spec["containers"][0]["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "1"]}}}


# -- Warn (and no parameter), Ignore -------------------------------------------------------


@pytest.mark.parametrize("params", [pytest.param({"fieldValidation": "Warn"}, id="Warn"), pytest.param({}, id="default")])
def test_warn_keeps_the_object_with_a_warning_per_field(http: httpx.Client, params: dict[str, str]) -> None:
    name = unique("warn")
    response = http.post(DEPLOYMENTS, params=params, json=deployment(name, typos=True))
    assert response.status_code == 201, response.text
    assert response.headers.get_list("warning") == TYPO_WARNINGS
    stored = http.get(f"{DEPLOYMENTS}/{name}").json()
    assert stored["spec"]["replica"] == 3  # kept as sent, like every unknown field here

    # A later write is warned about its own new fields only, not about those already kept.
    merge = {"Content-Type": "application/merge-patch+json"}
    quiet = http.patch(f"{DEPLOYMENTS}/{name}", params=params, json={"metadata": {"labels": {"a": "b"}}}, headers=merge)
    assert quiet.status_code == 200 and quiet.headers.get_list("warning") == []
    # ... and Strict does not refuse a write for what an earlier one kept.
    strict = http.patch(f"{DEPLOYMENTS}/{name}", params={"fieldValidation": "Strict"}, json={"spec": {"replicas": 2}}, headers=merge)
    assert strict.status_code == 200, strict.text
    louder = http.patch(f"{DEPLOYMENTS}/{name}", params=params, json={"spec": {"minReadySecond": 1}}, headers=merge)
    assert louder.headers.get_list("warning") == ['299 - "unknown field \\"spec.minReadySecond\\""']


def test_warn_on_update(http: httpx.Client) -> None:
    name = unique("warn-put")
    created = http.post(DEPLOYMENTS, json=deployment(name)).json()
    body = deployment(name, typos=True)
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    response = http.put(f"{DEPLOYMENTS}/{name}", params={"fieldValidation": "Warn"}, json=body)
    assert response.status_code == 200, response.text
    assert response.headers.get_list("warning") == TYPO_WARNINGS


def test_ignore_says_nothing(http: httpx.Client) -> None:
    name = unique("ignore")
    response = http.post(DEPLOYMENTS, params={"fieldValidation": "Ignore"}, json=deployment(name, typos=True))
    assert response.status_code == 201 and "warning" not in response.headers


def test_an_unsupported_directive_is_refused(http: httpx.Client) -> None:
    name = unique("bad-directive")
    before = revision(http)
    response = http.post(DEPLOYMENTS, params={"fieldValidation": "strict"}, json=deployment(name))
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid" and status["details"]["causes"][0]["field"] == "fieldValidation"
    assert revision(http) == before


# -- the client ------------------------------------------------------------------------------


def test_the_client_passes_the_directive_and_hands_warnings_over(master: MasterProcess) -> None:
    heard: list[str] = []
    resource = by_kind("apps/v1", "Deployment")
    with master.client(on_warning=heard.append) as client:
        name = unique("client")
        with pytest.raises(ApiError) as refused:
            client.create_raw(resource, deployment(name, typos=True), "default", field_validation="Strict")
        assert refused.value.code == 400 and refused.value.reason == "BadRequest"
        assert refused.value.message == STRICT_MESSAGE
        assert heard == []

        created = client.create_raw(resource, deployment(name, typos=True), "default")
        assert heard == ['unknown field "spec.replica"', 'unknown field "spec.template.spec.containers[0].imagePullPolcy"']
        heard.clear()

        changed = copy.deepcopy(created)
        changed["spec"]["paused"] = True
        changed["spec"]["pased"] = True
        client.update_raw(resource, changed, field_validation="Warn")
        assert heard == ['unknown field "spec.pased"']
        heard.clear()
        client.patch_raw(resource, name, {"spec": {"revisionHistoryLimt": 1}}, "default", field_validation="Ignore")
        assert heard == []


# -- kubectl ----------------------------------------------------------------------------------


KLOG_LINE = re.compile(r"^[IWEF]\d{4} ")


def kubectl_minor() -> int:
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30).stdout
    return int("".join(c for c in json.loads(out)["clientVersion"]["minor"] if c.isdigit()))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (scripts/ensure-host.sh installs it)")
def test_kubectl_hears_kube_apiservers_words(master: MasterProcess, tmp_path: Path) -> None:
    """kubectl >= 1.25 sends fieldValidation=Strict (--validate=strict) by default; older ones send
    nothing, which the server takes as Warn, and print the warnings all the same."""
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(tmp_path)}

    def apply(name: str, *flags: str) -> subprocess.CompletedProcess[str]:
        manifest = tmp_path / f"{name}.json"
        manifest.write_text(json.dumps(deployment(name, typos=True)))
        return subprocess.run(["kubectl", "apply", "-f", str(manifest), *flags], capture_output=True, text=True, timeout=60, env=env)

    warnings = [
        'Warning: unknown field "spec.replica"',
        'Warning: unknown field "spec.template.spec.containers[0].imagePullPolcy"',
    ]
    name = unique("kubectl")
    if kubectl_minor() >= 25:
        refused = apply(name)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f'Error from server (BadRequest): error when creating "{tmp_path / name}.json": {STRICT_MESSAGE}'
        )
        warned = apply(name, "--validate=warn")
    else:
        warned = apply(name)
    assert warned.returncode == 0, warned.stderr
    assert warned.stdout.strip() == f"deployment.apps/{name} created"
    # kubectl >= 1.25 also logs that it cannot confirm server-side validation from /openapi/v3,
    # which this server does not serve; the warnings are the server's.
    assert [line for line in warned.stderr.splitlines() if not KLOG_LINE.match(line)] == warnings

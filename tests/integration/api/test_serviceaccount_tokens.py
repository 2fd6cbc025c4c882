"""ServiceAccounts on a real master: the default one in every namespace, `kubectl create token`
(1.32 and 1.33, protobuf bodies), and the JWT it prints authenticating requests until it
is tampered with, expired, or its ServiceAccount or bound pod is deleted (401 then).
A pod gets ``default`` as its ServiceAccount and is refused (403) naming a missing one."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from kajitori.api.registry import by_name
from kajitori.client import ApiClient, NotFoundError
from master.apiserver.serviceaccount_tokens import ServiceAccountTokens, ensure_signing_key
from tests.integration.api.test_kubectl_protobuf import run, version  # noqa: F401  (the kubectl-version fixture)
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.rbac import bind_cluster_role

pytestmark = pytest.mark.integration

SERVICE_ACCOUNTS = by_name("serviceaccounts")
PODS = by_name("pods")
NAMESPACES = by_name("namespaces")


@pytest.fixture(scope="module")
def full_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    """A master with its controllers (the ServiceAccounts controller among them), no nodes."""
    proc = MasterProcess(tmp_path_factory.mktemp("sa-master")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(full_master: MasterProcess) -> Iterator[ApiClient]:
    client = full_master.client()
    # Authenticated is not authorized: the ServiceAccounts of default may read there (RBAC's view).
    bind_cluster_role(client, "default", "view", group="system:serviceaccounts:default")
    yield client
    client.close()


def status_with(master: MasterProcess, token: str, path: str = "/api/v1/namespaces/default/pods") -> int:
    return httpx.get(f"{master.url}{path}", headers={"Authorization": f"Bearer {token}"}, verify=master.tls(), timeout=30).status_code


def sa_exists(admin: ApiClient, namespace: str, name: str) -> bool:
    try:
        admin.get_raw(SERVICE_ACCOUNTS, name, namespace)
        return True
    except NotFoundError:
        return False


def test_every_namespace_gets_a_default_serviceaccount(full_master: MasterProcess, admin: ApiClient) -> None:
    for ns in ("default", "kube-system"):
        wait_for(partial(sa_exists, admin, ns, "default"), what=f"serviceaccount {ns}/default")
    admin.create_raw(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sa-team"}})
    wait_for(lambda: sa_exists(admin, "sa-team", "default"), what="serviceaccount sa-team/default")
    admin.delete_raw(SERVICE_ACCOUNTS, "default", "sa-team")
    wait_for(lambda: sa_exists(admin, "sa-team", "default"), what="serviceaccount sa-team/default made again")


def test_kubectl_create_token_authenticates_until_the_serviceaccount_goes(
    full_master: MasterProcess, admin: ApiClient, version: str  # noqa: F811
) -> None:
    name = f"reader-{version.replace('.', '-')}"
    run(full_master, version, "create", "serviceaccount", name)
    assert run(full_master, version, "get", "sa", name, "-o", "jsonpath={.metadata.name}").stdout == name
    token = run(full_master, version, "create", "token", name).stdout.strip()
    assert token.count(".") == 2
    assert status_with(full_master, token) == 200

    head, body, sig = token.split(".")
    assert status_with(full_master, f"{head}.{body}.{sig[:-4]}AAAA" if not sig.endswith("AAAA") else f"{head}.{body}.{sig[:-4]}BBBB") == 401

    # A token signed by the master's own key but expired an hour ago.
    uid = admin.get_raw(SERVICE_ACCOUNTS, name, "default")["metadata"]["uid"]
    lookup = lambda key: None  # noqa: E731 (issuing needs no lookups)
    old = ServiceAccountTokens(ensure_signing_key(full_master.data_dir), lookup, clock=lambda: time.time() - 7200)
    assert status_with(full_master, old.issue(namespace="default", name=name, uid=uid, expiration_s=3600).token) == 401

    run(full_master, version, "delete", "serviceaccount", name)
    assert status_with(full_master, token) == 401


def test_a_pod_bound_token_dies_with_its_pod(full_master: MasterProcess, admin: ApiClient, version: str) -> None:  # noqa: F811
    name = f"bound-{version.replace('.', '-')}"
    run(full_master, version, "create", "serviceaccount", name)
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"serviceAccountName": name, "containers": [{"name": "c", "image": "busybox:1"}]},
    }  # fmt: skip
    admin.create_raw(PODS, pod, "default")
    token = run(
        full_master, version, "create", "token", name, "--bound-object-kind", "Pod", "--bound-object-name", name, "--duration", "20m"
    ).stdout.strip()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["kubernetes.io"]["pod"]["name"] == name
    assert claims["exp"] - claims["iat"] == 1200
    assert status_with(full_master, token) == 200
    admin.delete_raw(PODS, name, "default")  # never scheduled: it goes at once
    assert status_with(full_master, token) == 401


def test_token_request_refuses_a_short_expiry(full_master: MasterProcess, admin: ApiClient) -> None:
    wait_for(lambda: sa_exists(admin, "default", "default"), what="serviceaccount default/default")
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 599}}
    with pytest.raises(Exception, match="may not specify a duration less than 10 minutes"):
        admin.request("POST", SERVICE_ACCOUNTS.path("default", "default", "token"), body=body)
    body["spec"] = {}
    answer = admin.request("POST", SERVICE_ACCOUNTS.path("default", "default", "token"), body=body)
    assert answer["spec"]["expirationSeconds"] == 3600 and answer["status"]["token"]


def test_pods_run_as_default_and_a_missing_serviceaccount_is_forbidden(full_master: MasterProcess, admin: ApiClient, tmp_path: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
    created = admin.create_raw(PODS, pod, "default")
    assert created["spec"]["serviceAccountName"] == "default"
    admin.delete_raw(PODS, "plain", "default")
    missing = {**pod, "metadata": {"name": "lost"}, "spec": {**pod["spec"], "serviceAccountName": "nobody"}}  # type: ignore[dict-item]
    answer = httpx.post(
        f"{full_master.url}/api/v1/namespaces/default/pods", json=missing, verify=full_master.tls(),
        headers={"Authorization": f"Bearer {json.loads((full_master.data_dir / 'tokens.json').read_text())['admin']}"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["message"] == (
        'pods "lost" is forbidden: error looking up service account default/nobody: serviceaccount "nobody" not found'
    )

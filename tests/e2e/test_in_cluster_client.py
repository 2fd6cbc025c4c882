"""A program in a pod reaches the API with its own ServiceAccount, as in-cluster clients do.

In a namespace of its own, a ServiceAccount ``lister`` (RBAC's ``view`` there, nothing
elsewhere) and pods running as it. From inside a pod, exactly what the official client's
``load_incluster_config()`` reads is used: ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``
(10.96.0.1:443, through the proxy), ``token`` and ``ca.crt`` under
/var/run/secrets/kubernetes.io/serviceaccount (TLS verified against that CA, no -k). First
with curl in the tools image; then with the official client itself in
kajitori/python-client:1 (Debian's python3-kubernetes; ``KAJITORI_E2E_PYTHON_IMAGE`` names
another image with python3 and the ``kubernetes`` package): it lists the pods of its namespace
and gets 403 listing those of ``default``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from kajitori.client import ApiClient, NotFoundError
from lab.failover import wait_until
from tests.e2e.lab_access import PYTHON_CLIENT_IMAGE, TOOLS_IMAGE, pod_exec
from tests.support.in_cluster_client import LIST_PODS_IN_CLUSTER, SA_DIR, list_forbidden

pytestmark = pytest.mark.e2e

NAMESPACE = "e2e-in-cluster"
# The image lab nodes pull from the lab registry (make lab); the variable may name another.
PYTHON_IMAGE = os.environ.get("KAJITORI_E2E_PYTHON_IMAGE") or PYTHON_CLIENT_IMAGE


@pytest.fixture(scope="module")
def namespace(lab_api: ApiClient) -> Iterator[str]:
    api = lab_api
    try:
        api.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    except Exception:  # left by an earlier run: reuse it
        pass
    try:
        api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", body={"metadata": {"name": "lister"}})
    except Exception:
        pass
    try:  # lister may read its own namespace (RBAC's view), nothing else
        api.request("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings", body={
            "metadata": {"name": "lister-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": NAMESPACE}],
        })  # fmt: skip
    except Exception:
        pass
    yield NAMESPACE
    try:
        api.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")
    except NotFoundError:
        pass


def run_pod(api: ApiClient, name: str, image: str, command: list[str] | None = None) -> None:
    container: dict[str, object] = {"name": "main", "image": image, "imagePullPolicy": "Never"}
    if command:
        container["command"] = command
    api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", body={
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"serviceAccountName": "lister", "terminationGracePeriodSeconds": 1, "restartPolicy": "Never", "containers": [container]},
    })  # fmt: skip


def phase(api: ApiClient, name: str) -> str:
    return str(api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}").get("status", {}).get("phase", ""))


def test_a_pod_lists_pods_of_its_namespace_with_its_serviceaccount_token(lab_api: ApiClient, namespace: str) -> None:
    api = lab_api
    run_pod(api, "curl-lister", TOOLS_IMAGE)
    wait_until("pod curl-lister Running", lambda: phase(api, "curl-lister") == "Running", timeout_s=120)
    script = (
        f'curl -sS --fail --cacert {SA_DIR}/ca.crt -H "Authorization: Bearer $(cat {SA_DIR}/token)" '
        f'"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat {SA_DIR}/namespace)/pods"'
    )
    code, output = pod_exec(api, namespace, "curl-lister", ["sh", "-c", script])
    assert code == 0, output
    assert "curl-lister" in [p["metadata"]["name"] for p in json.loads(output)["items"]]
    code, output = pod_exec(api, namespace, "curl-lister", ["sh", "-c", f'curl -s -o /dev/null -w "%{{http_code}}" --cacert {SA_DIR}/ca.crt '
                                                                       f'-H "Authorization: Bearer forged" https://$KUBERNETES_SERVICE_HOST/api/v1/pods'])  # fmt: skip
    assert output == "401"
    elsewhere = (
        f'curl -s -o /dev/null -w "%{{http_code}}" --cacert {SA_DIR}/ca.crt -H "Authorization: Bearer $(cat {SA_DIR}/token)" '
        '"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods"'
    )
    code, output = pod_exec(api, namespace, "curl-lister", ["sh", "-c", elsewhere])
    assert output == "403", output


def test_the_official_client_in_a_pod_uses_load_incluster_config(lab_api: ApiClient, namespace: str) -> None:
    api = lab_api
    run_pod(api, "official-client", PYTHON_IMAGE, ["python3", "-c", LIST_PODS_IN_CLUSTER, "default"])
    wait_until("pod official-client Succeeded", lambda: phase(api, "official-client") in ("Succeeded", "Failed"), timeout_s=120)
    log = str(api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/official-client/log"))
    assert phase(api, "official-client") == "Succeeded", log
    seen = json.loads(log.strip().splitlines()[-1])
    assert set(seen) == {NAMESPACE, "default"}, seen
    assert seen[NAMESPACE]["status"] == 200, seen
    assert "official-client" in seen[NAMESPACE]["pods"], seen
    assert seen["default"] == {"status": 403, "message": list_forbidden(NAMESPACE, "lister", "default")}

"""kajitori/python-client:1 runs the official client in-cluster against a real master.

The image (Debian's python3-kubernetes) is run with plain Docker on the host network, given
what the agent gives a pod: a ServiceAccount token, the cluster CA and the namespace under
/var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT naming the
master. Inside, ``config.load_incluster_config()`` and ``CoreV1Api().list_namespaced_pod``
list the pods of the home namespace, where a Role allows it, and get 403 elsewhere; a
ServiceAccount without the Role gets 403 at home too, so the list is RBAC's decision and
not merely a valid token's. This is the lab e2e's official-client check
(tests/e2e/test_in_cluster_client.py) without the lab.

Containers carry ``io.kajitori.test=1`` and this session's label, and are removed when their
test ends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from kajitori.api.registry import by_name
from kajitori.client import ApiClient
from tests.support.in_cluster_client import list_forbidden, run_beside_master
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
BUILDER = REPO / "images" / "build.py"
HOME = "pyclient-home"
ELSEWHERE = "pyclient-elsewhere"

NAMESPACES = by_name("namespaces")
SERVICE_ACCOUNTS = by_name("serviceaccounts")
PODS = by_name("pods")
ROLES = by_name("roles")
ROLE_BINDINGS = by_name("rolebindings")


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    # Builds the image if it is missing or its inputs changed; a no-op otherwise.
    subprocess.run([sys.executable, str(BUILDER), "python-client"], check=True)
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path_factory.mktemp("pyclient-master")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(master: MasterProcess) -> Iterator[ApiClient]:
    """Two namespaces; in the home one a pod, ServiceAccounts ``lister`` (Role: list pods) and ``nobody``."""
    client = master.client()
    for namespace in (HOME, ELSEWHERE):
        client.create_raw(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for name in ("lister", "nobody"):
        client.create_raw(SERVICE_ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}, HOME)
    client.create_raw(ROLES, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-lister"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    }, HOME)  # fmt: skip
    client.create_raw(ROLE_BINDINGS, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "lister-lists-pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-lister"},
        "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": HOME}],
    }, HOME)  # fmt: skip
    # A pod in each namespace (no node: they stay Pending), so a list has something to show.
    for namespace, pod in ((HOME, "marker"), (ELSEWHERE, "stranger")):
        client.create_raw(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
            "spec": {"serviceAccountName": "lister" if namespace == HOME else "default",
                     "containers": [{"name": "c", "image": "kajitori/busybox:1"}]},
        }, namespace)  # fmt: skip
    yield client
    client.close()


def token_for(admin: ApiClient, name: str) -> str:
    """A TokenRequest for ServiceAccount ``name`` of the home namespace, as the agent makes for a pod."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    answer = admin.request("POST", SERVICE_ACCOUNTS.path(HOME, name, "token"), body=body)
    return str(answer["status"]["token"])


def run_in_cluster(docker_client: docker.DockerClient, master: MasterProcess, token: str, tmp_path: Path) -> dict[str, Any]:
    """Runs LIST_PODS_IN_CLUSTER in the image as a pod of ``HOME`` would; its JSON line, or an AssertionError with its log."""
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "token").write_text(token)
    (mounted / "ca.crt").write_bytes(master.ca_file.read_bytes())
    (mounted / "namespace").write_text(HOME)
    for path in mounted.iterdir():
        path.chmod(0o644)
    return run_beside_master(docker_client, mounted, master.port, ELSEWHERE)


def test_the_official_client_in_the_image_lists_its_namespace_and_is_refused_elsewhere(
    docker_client: docker.DockerClient, master: MasterProcess, admin: ApiClient, tmp_path: Path
) -> None:
    seen = run_in_cluster(docker_client, master, token_for(admin, "lister"), tmp_path)
    assert seen == {
        HOME: {"status": 200, "pods": ["marker"]},
        ELSEWHERE: {"status": 403, "message": list_forbidden(HOME, "lister", ELSEWHERE)},
    }


def test_a_serviceaccount_without_the_role_is_refused_at_home_too(
    docker_client: docker.DockerClient, master: MasterProcess, admin: ApiClient, tmp_path: Path
) -> None:
    seen = run_in_cluster(docker_client, master, token_for(admin, "nobody"), tmp_path)
    assert {namespace: answer["status"] for namespace, answer in seen.items()} == {HOME: 403, ELSEWHERE: 403}
    assert seen[HOME]["message"] == list_forbidden(HOME, "nobody", HOME)

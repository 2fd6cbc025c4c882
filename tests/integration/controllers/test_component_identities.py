"""The master's own loops each run on their own identity, with only their own rights, on a real master.

The scheduler is ``system:kube-scheduler`` and the controllers ``system:kube-controller-manager``
(certificates of the cluster CA in ``kubeconfigs/``), cluster DNS ``kajitori:cluster-dns`` and
the master-endpoints loop ``kajitori:master-endpoints``. Taking a loop's ClusterRoleBinding away
stops that loop with a 403 in the master's log (so the loop really is that user, not the admin),
and giving it back lets it go on; each identity is refused what its loop does not need, as
``kubectl auth can-i`` also says.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori import config
from kajitori.api.apps import ReplicaSet
from kajitori.api.core import Node, Pod, Secret
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, ApiError
from master.hollow_nodes import HollowCluster
from tests.integration.api.test_kubectl_protobuf import kubectl_binary
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import deployment
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

BINDINGS = by_name("clusterrolebindings")


def _pod(name: str) -> Pod:
    return Pod.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": {"containers": [{"name": "app", "image": "kajitori/busybox:1"}]}})


def _component(master: MasterProcess, name: str) -> Iterator[ApiClient]:
    path = master.data_dir / "kubeconfigs" / f"{name}.kubeconfig"
    assert path.stat().st_mode & 0o777 == 0o600
    c = ApiClient(config.load(path))
    yield c
    c.close()


@pytest.fixture
def scheduler(cluster_master: MasterProcess) -> Iterator[ApiClient]:
    yield from _component(cluster_master, "scheduler")


@pytest.fixture
def controller_manager(cluster_master: MasterProcess) -> Iterator[ApiClient]:
    yield from _component(cluster_master, "controller-manager")


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.code == 403, caught.value.status
    return caught.value.message


def _log_line(master: MasterProcess, *parts: str) -> str:
    """The first line of the master's log holding every part; "" while there is none."""
    assert master.log_path is not None
    return next((line for line in master.log_path.read_text().splitlines() if all(p in line for p in parts)), "")


def _take_binding(client: ApiClient, name: str) -> dict[str, Any]:
    """Delete ClusterRoleBinding ``name``; return it, ready to be created again."""
    kept = client.get_raw(BINDINGS, name)
    client.delete_raw(BINDINGS, name)
    return {k: v for k, v in kept.items() if k != "metadata"} | {"metadata": {"name": name, "labels": kept["metadata"].get("labels")}}


def _kubectl_can_i(master: MasterProcess, user: str, *args: str) -> str:
    binary = kubectl_binary("1.33")
    if binary is None:
        pytest.skip("kubectl.1.33 is not installed")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([binary, "auth", "can-i", *args, "--as", user], capture_output=True, text=True, timeout=60, env=env)
    return proc.stdout.strip()


def test_the_scheduler_binds_as_system_kube_scheduler_and_stops_without_its_binding(
    cluster_master: MasterProcess, client: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    hollow(["n1"])
    client.create(_pod("first"))
    wait_for(lambda: client.get(Pod, "first", "default").spec.nodeName, what="first pod bound")

    kept = _take_binding(client, "system:kube-scheduler")
    client.create(_pod("second"))
    line = wait_for(lambda: _log_line(cluster_master, "403 POST /api/v1/namespaces/default/pods/second/binding"), what="the scheduler's 403 in the master's log")
    assert 'User "system:kube-scheduler" cannot create resource "pods/binding"' in line, line
    assert "(kajitori-scheduler)" in line
    assert client.get(Pod, "second", "default").spec.nodeName is None

    client.create_raw(BINDINGS, kept)
    wait_for(lambda: client.get(Pod, "second", "default").spec.nodeName, timeout=60, what="second pod bound once the binding is back")


def test_the_scheduler_identity_may_bind_but_not_read_secrets_or_delete_nodes(
    cluster_master: MasterProcess, client: ApiClient, scheduler: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    hollow(["n1"])
    client.create(Secret.model_validate({"metadata": {"name": "s", "namespace": "default"}, "stringData": {"k": "v"}}))
    message = _refused(lambda: scheduler.get(Secret, "s", "default"))
    assert message == 'secrets "s" is forbidden: User "system:kube-scheduler" cannot get resource "secrets" in API group "" in the namespace "default"'
    _refused(lambda: scheduler.delete(Node, "n1"))
    _refused(lambda: scheduler.create(_pod("made-by-scheduler")))
    assert client.get(Node, "n1").metadata.name == "n1"
    # What its loop needs: read nodes and pods, bind.
    assert [n.metadata.name for n in scheduler.list(Node).items] == ["n1"]
    # A pod for another scheduler: the running scheduler leaves it alone, so this bind is the only one.
    other = _pod("bind-me")
    other.spec.schedulerName = "another-scheduler"
    client.create(other)
    scheduler.bind("default", "bind-me", "n1")
    assert client.get(Pod, "bind-me", "default").spec.nodeName == "n1"
    assert _kubectl_can_i(cluster_master, "system:kube-scheduler", "create", "pods", "--subresource=binding") == "yes"
    assert _kubectl_can_i(cluster_master, "system:kube-scheduler", "patch", "persistentvolumeclaims") == "yes"  # system:volume-scheduler
    assert _kubectl_can_i(cluster_master, "system:kube-scheduler", "get", "secrets") == "no"
    assert _kubectl_can_i(cluster_master, "system:kube-scheduler", "delete", "nodes") == "no"


def test_the_controllers_run_as_system_kube_controller_manager_and_stop_without_their_binding(
    cluster_master: MasterProcess, client: ApiClient
) -> None:
    kept = _take_binding(client, "kajitori:controllers")
    client.create(deployment("web", replicas=1))
    line = wait_for(lambda: _log_line(cluster_master, "403 POST /apis/apps/v1/namespaces/default/replicasets"), what="the controller manager's 403")
    assert 'User "system:kube-controller-manager" cannot create resource "replicasets"' in line, line
    assert client.list(ReplicaSet, "default").items == []

    client.create_raw(BINDINGS, kept)
    wait_for(lambda: client.list(ReplicaSet, "default").items, timeout=60, what="the ReplicaSet once the binding is back")


def test_the_controller_manager_identity_is_refused_what_no_controller_needs(
    cluster_master: MasterProcess, client: ApiClient, controller_manager: ApiClient
) -> None:
    node = Node.model_validate({"metadata": {"name": "made-up"}})
    message = _refused(lambda: controller_manager.create(node))
    assert message == 'nodes is forbidden: User "system:kube-controller-manager" cannot create resource "nodes" in API group "" at the cluster scope'
    binding = {
        "metadata": {"name": "grab"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "system:kube-controller-manager"}],
    }
    _refused(lambda: controller_manager.create_raw(BINDINGS, binding))
    client.create(_pod("p"))
    _refused(lambda: controller_manager.request("POST", "/api/v1/namespaces/default/pods/p/exec?command=sh&stdout=true"))
    # What its controllers need stays allowed.
    assert _kubectl_can_i(cluster_master, "system:kube-controller-manager", "create", "replicasets.apps") == "yes"
    assert _kubectl_can_i(cluster_master, "system:kube-controller-manager", "update", "certificatesigningrequests", "--subresource=approval") == "yes"
    for verb_resource in (
        ("create", "nodes"),
        ("create", "pods", "--subresource=exec"),
        ("get", "nodes", "--subresource=proxy"),
        ("create", "clusterrolebindings"),
        ("impersonate", "users"),
    ):
        assert _kubectl_can_i(cluster_master, "system:kube-controller-manager", *verb_resource) == "no", verb_resource


def test_cluster_dns_and_master_endpoints_have_narrow_identities(cluster_master: MasterProcess, client: ApiClient) -> None:
    for name in ("cluster-dns", "master-endpoints"):
        path: Path = cluster_master.data_dir / "kubeconfigs" / f"{name}.kubeconfig"
        assert path.stat().st_mode & 0o777 == 0o600
    dns = "kajitori:cluster-dns"
    assert _kubectl_can_i(cluster_master, dns, "list", "services", "-A") == "yes"
    assert _kubectl_can_i(cluster_master, dns, "watch", "endpoints", "-A") == "yes"
    assert _kubectl_can_i(cluster_master, dns, "get", "secrets", "-A") == "no"
    assert _kubectl_can_i(cluster_master, dns, "create", "services") == "no"
    endpoints = "kajitori:master-endpoints"
    assert _kubectl_can_i(cluster_master, endpoints, "update", "endpoints/kubernetes") == "yes"
    assert _kubectl_can_i(cluster_master, endpoints, "update", "leases", "-n", "kube-system") == "yes"
    assert _kubectl_can_i(cluster_master, endpoints, "update", "endpoints/web") == "no"
    assert _kubectl_can_i(cluster_master, endpoints, "list", "pods") == "no"
    # The master's own Lease is written by that identity (its Lease exists and the kubernetes Endpoints list this master).
    wait_for(lambda: client.get_raw(by_name("endpoints"), "kubernetes", "default").get("subsets"), what="kubernetes Endpoints")
    assert not _log_line(cluster_master, "403", "(kajitori-master-endpoints)")
    assert not _log_line(cluster_master, "403", "(kajitori-dns)")

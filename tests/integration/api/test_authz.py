"""Who may do what, against a real master: client certificates, RBAC, the Node authorizer,
NodeRestriction, access reviews and impersonation, seen through kubectl (1.32, 1.33), the
official client and raw HTTPS.

Every user here gets a kubeconfig from ``kajitori certs issue`` (a certificate of the
master's CA: CN the user, O the groups); the admin's own kubeconfig creates what they
are allowed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as kajitori_app
from kajitori import config
from kajitori.client import NotFoundError
from tests.integration.api.test_kubectl_protobuf import kubectl_binary
from tests.support.master_process import MasterProcess
from tests.support.present import present

pytestmark = pytest.mark.integration

VERSIONS = ("1.32", "1.33")
NS = "authz"


def issue(master: MasterProcess, *args: str) -> Path:
    out = master.data_dir / f"{'-'.join(a.strip('-').replace(':', '_') for a in args)}.kubeconfig"
    result = CliRunner().invoke(kajitori_app, ["certs", "issue", "--data-dir", str(master.data_dir), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    return out


def kubectl(master: MasterProcess, version: str, kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = kubectl_binary(version)
    if binary is None:
        pytest.skip(f"kubectl.{version} is not installed")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=90, env=env)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def admin(master: MasterProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return kubectl(master, "1.33", master.kubeconfig, *args)


@pytest.fixture(scope="module")
def alice(master: MasterProcess) -> Path:
    """User alice, allowed by a Role to read pods in NS, and to manage Roles and RoleBindings there."""
    kubeconfig = issue(master, "--user", "alice", "--group", "devs")
    admin(master, "create", "namespace", NS)
    admin(master, "-n", NS, "run", "web", "--image", "busybox", "--restart", "Never")
    admin(master, "-n", NS, "create", "role", "pod-reader", "--verb", "get,list,watch", "--resource", "pods")
    admin(master, "-n", NS, "create", "rolebinding", "alice-reads", "--role", "pod-reader", "--user", "alice")
    admin(master, "-n", NS, "create", "role", "rbac-writer", "--verb", "create,update,patch", "--resource", "roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io")
    admin(master, "-n", NS, "create", "rolebinding", "alice-rbac", "--role", "rbac-writer", "--group", "devs")
    return kubeconfig


@pytest.fixture(params=VERSIONS, ids=lambda v: f"kubectl-{v}")
def version(request: pytest.FixtureRequest) -> str:
    if kubectl_binary(request.param) is None:
        pytest.skip(f"kubectl.{request.param} is not installed")
    return str(request.param)


def test_a_user_certificate_bound_to_a_role_lists_pods_and_is_refused_delete(master: MasterProcess, alice: Path, version: str) -> None:
    listed = kubectl(master, version, alice, "-n", NS, "get", "pods", "-o", "name").stdout.split()
    assert listed == ["pod/web"]
    refused = kubectl(master, version, alice, "-n", NS, "delete", "pod", "web", check=False)
    assert refused.returncode != 0
    assert (
        'Error from server (Forbidden): pods "web" is forbidden: User "alice" cannot delete resource "pods" '
        'in API group "" in the namespace "authz"'
    ) in refused.stderr
    assert kubectl(master, version, alice, "-n", NS, "auth", "can-i", "list", "pods").stdout.strip() == "yes"
    cannot = kubectl(master, version, alice, "-n", NS, "auth", "can-i", "delete", "pods", check=False)
    assert (cannot.returncode, cannot.stdout.strip()) == (1, "no")
    assert kubectl(master, version, alice, "-n", "default", "auth", "can-i", "list", "pods", check=False).stdout.strip() == "no"
    who = kubectl(master, version, alice, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}").stdout
    assert who == 'alice ["devs","system:authenticated"]'
    rules = kubectl(master, version, alice, "-n", NS, "auth", "can-i", "--list").stdout
    assert any(line.split()[:1] == ["pods"] and "[get list watch]" in line for line in rules.splitlines()), rules


def test_the_admin_impersonates_and_a_user_without_impersonate_is_refused(master: MasterProcess, alice: Path, version: str) -> None:
    as_alice = kubectl(master, version, master.kubeconfig, "--as", "alice", "-n", NS, "delete", "pod", "web", "--dry-run=server", check=False)
    assert 'User "alice" cannot delete resource "pods"' in as_alice.stderr
    assert kubectl(master, version, master.kubeconfig, "--as", "alice", "-n", NS, "get", "pods", "-o", "name").stdout.split() == ["pod/web"]
    who = kubectl(master, version, master.kubeconfig, "--as", "carol", "--as-group", "devs", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
    assert who.stdout == 'carol ["devs","system:authenticated"]'
    sa = "system:serviceaccount:authz:reader"
    who = kubectl(master, version, master.kubeconfig, "--as", sa, "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}")
    assert who.stdout == '["system:serviceaccounts","system:serviceaccounts:authz","system:authenticated"]'
    refused = kubectl(master, version, alice, "--as", "bob", "-n", NS, "get", "pods", check=False)
    assert refused.returncode != 0
    assert 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope' in refused.stderr


def test_nobody_grants_what_they_do_not_hold(master: MasterProcess, alice: Path) -> None:
    refused = kubectl(master, "1.33", alice, "-n", NS, "create", "role", "deleter", "--verb", "delete", "--resource", "pods", check=False)
    assert refused.returncode != 0
    assert 'roles.rbac.authorization.k8s.io "deleter" is forbidden: user "alice"' in refused.stderr
    assert "is attempting to grant RBAC permissions not currently held" in refused.stderr
    # What alice holds she may pass on.
    kubectl(master, "1.33", alice, "-n", NS, "create", "role", "reader-too", "--verb", "get", "--resource", "pods")
    kubectl(master, "1.33", alice, "-n", NS, "create", "rolebinding", "bob-reads", "--role", "reader-too", "--user", "bob")
    bound = kubectl(master, "1.33", alice, "-n", NS, "create", "rolebinding", "bob-edits", "--clusterrole", "edit", "--user", "bob", check=False)
    assert bound.returncode != 0
    assert "is attempting to grant RBAC permissions not currently held" in bound.stderr


def test_without_credentials_only_the_public_paths_answer(master: MasterProcess) -> None:
    tls = master.tls()
    assert httpx.get(f"{master.url}/version", verify=tls).status_code == 200
    assert httpx.get(f"{master.url}/healthz", verify=tls).status_code == 200
    anonymous = httpx.get(f"{master.url}/api/v1/namespaces/default/pods", verify=tls)
    assert anonymous.status_code == 401
    assert anonymous.json()["reason"] == "Unauthorized"


def test_the_component_kubeconfigs_carry_their_own_identities(master: MasterProcess) -> None:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    folder = master.data_dir / "kubeconfigs"
    for name in ("admin", "scheduler", "controller-manager", "proxy"):
        assert (folder / f"{name}.kubeconfig").stat().st_mode & 0o777 == 0o600
    proxy = k8s.CoreV1Api(k8s_config.new_client_from_config(str(folder / "proxy.kubeconfig")))
    assert any(present(s.metadata).name == "kubernetes" for s in proxy.list_service_for_all_namespaces().items)
    with pytest.raises(k8s.ApiException) as refused:
        proxy.list_namespaced_secret("default")
    assert refused.value.status == 403
    admin_api = k8s.CoreV1Api(k8s_config.new_client_from_config(str(folder / "admin.kubeconfig")))
    assert present(admin_api.read_namespace("default").metadata).name == "default"


def test_the_ingress_controllers_certificate_has_ingress_nginx_rights_and_no_more(master: MasterProcess) -> None:
    """kubeconfigs/ingress.kubeconfig (kajitori:ingress-controller) watches what an ingress controller
    renders from and writes Ingress status and Events; it changes no Ingress, Secret or pod."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    kubeconfig = master.data_dir / "kubeconfigs" / "ingress.kubeconfig"
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    admin(master, "create", "namespace", "ingress-rights")
    admin(master, "-n", "ingress-rights", "create", "ingress", "web", "--class", "kajitori", "--rule", "web.test/=web:80")
    api_client = k8s_config.new_client_from_config(str(kubeconfig))
    core, networking = k8s.CoreV1Api(api_client), k8s.NetworkingV1Api(api_client)
    assert [present(i.metadata).name for i in networking.list_namespaced_ingress("ingress-rights").items] == ["web"]
    networking.list_ingress_class()
    core.list_service_for_all_namespaces()
    core.list_endpoints_for_all_namespaces()
    core.list_secret_for_all_namespaces()
    ingress = networking.read_namespaced_ingress("web", "ingress-rights")
    ingress.status = k8s.V1IngressStatus(load_balancer=k8s.V1IngressLoadBalancerStatus(ingress=[k8s.V1IngressLoadBalancerIngress(ip="192.168.56.11")]))
    networking.replace_namespaced_ingress_status("web", "ingress-rights", ingress)
    core.create_namespaced_event("ingress-rights", k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(generate_name="web."), involved_object=k8s.V1ObjectReference(kind="Ingress", name="web", namespace="ingress-rights"),
        reason="Sync", message="served", type="Normal",
    ))  # fmt: skip
    refusals = [
        lambda: networking.patch_namespaced_ingress("web", "ingress-rights", {"metadata": {"labels": {"a": "b"}}}),
        lambda: core.create_namespaced_secret("ingress-rights", k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="s"))),
        lambda: core.delete_namespaced_service("kubernetes", "default"),
        lambda: core.create_namespaced_pod("ingress-rights", k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name="p"), spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="busybox")]))),
    ]  # fmt: skip
    for call in refusals:
        with pytest.raises(k8s.ApiException) as refused:
            call()
        assert refused.value.status == 403
        assert 'User "kajitori:ingress-controller" cannot' in json.loads(present(refused.value.body))["message"]
    admin(master, "delete", "namespace", "ingress-rights", "--wait=false")


# -- nodes ------------------------------------------------------------------------------------


class Node:
    """Raw HTTPS as node NAME with its own certificate."""

    def __init__(self, master: MasterProcess, name: str) -> None:
        self.name = name
        cfg = config.load(issue(master, "--node", name))
        self.http = httpx.Client(base_url=master.url, verify=cfg.ssl_context(), timeout=30)

    def __call__(self, method: str, path: str, body: object = None, content_type: str = "application/json") -> httpx.Response:
        if method == "PATCH":
            content_type = "application/merge-patch+json"
        return self.http.request(method, path, json=body, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def nodes(master: MasterProcess) -> Iterator[tuple[Node, Node]]:
    """Nodes a and b registered by themselves; pod pa on a uses Secret sa, pod pb on b uses Secret sb."""
    a, b = Node(master, "node-a"), Node(master, "node-b")
    for node in (a, b):
        assert node("POST", "/api/v1/nodes", {"metadata": {"name": node.name}}).status_code == 201
    admin(master, "create", "namespace", "nodes")
    for suffix in ("a", "b"):
        admin(master, "-n", "nodes", "create", "secret", "generic", f"s{suffix}", f"--from-literal=k={suffix}")
        pod = (
            f'{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{suffix}","namespace":"nodes"}},'
            f'"spec":{{"nodeName":"node-{suffix}","containers":[{{"name":"c","image":"busybox",'
            f'"env":[{{"name":"K","valueFrom":{{"secretKeyRef":{{"name":"s{suffix}","key":"k"}}}}}}]}}]}}}}'
        )
        proc = subprocess.run(
            [kubectl_binary("1.33") or "kubectl", "create", "-f", "-"],
            input=pod, capture_output=True, text=True, timeout=90,
            env={**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    yield a, b
    a.http.close()
    b.http.close()


def test_a_node_reads_only_the_secrets_of_its_own_pods(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    assert a("GET", "/api/v1/namespaces/nodes/secrets/sa").status_code == 200
    refused = a("GET", "/api/v1/namespaces/nodes/secrets/sb")
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'secrets "sb" is forbidden: User "system:node:node-a" cannot get resource "secrets" in API group "" '
        'in the namespace "nodes": no relationship found between node "node-a" and this object'
    )
    assert a("GET", "/api/v1/namespaces/nodes/secrets").status_code == 403


def test_a_node_writes_only_its_own_node_and_lease(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    assert a("PATCH", "/api/v1/nodes/node-a", {"metadata": {"labels": {"ok": "yes"}}}).status_code == 200
    assert a("PATCH", "/api/v1/nodes/node-b", {"metadata": {"labels": {"ok": "no"}}}).status_code == 403
    stolen = {"metadata": {"annotations": {"kajitori.io/serving-certificate": "forged"}}}
    assert a("PATCH", "/api/v1/nodes/node-b", stolen).status_code == 403
    restricted = a("PATCH", "/api/v1/nodes/node-a", {"metadata": {"labels": {"node-restriction.kubernetes.io/x": "y"}}})
    assert restricted.status_code == 403, restricted.text
    lease = {"metadata": {"name": "node-b", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "node-b"}}
    assert b("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease).status_code == 201
    assert a("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {**lease, "metadata": {"name": "node-x", "namespace": "kube-node-lease"}}).status_code == 403
    assert a("PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-b", {"spec": {"holderIdentity": "node-a"}}).status_code == 403
    own = {"metadata": {"name": "node-a", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "node-a"}}
    assert a("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", own).status_code == 201


def test_a_node_creates_no_pods_and_writes_only_its_own_pods_status(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    pod = {"metadata": {"name": "sneaky"}, "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "busybox"}]}}
    assert a("POST", "/api/v1/namespaces/nodes/pods", pod).status_code == 403
    status = {"status": {"phase": "Running"}}
    assert a("PATCH", "/api/v1/namespaces/nodes/pods/pa/status", status).status_code == 200
    assert a("PATCH", "/api/v1/namespaces/nodes/pods/pb/status", status).status_code == 403
    assert a("GET", "/api/v1/namespaces/nodes/pods/pb").status_code == 200  # nodes read every pod, as in Kubernetes
    assert a("DELETE", "/api/v1/namespaces/nodes/pods/pb").status_code == 403
    assert a("DELETE", "/api/v1/namespaces/nodes/pods/gone").status_code == 404  # as NodeRestriction: a pod that is gone is a 404


def test_an_agent_runs_with_its_own_node_certificate(master: MasterProcess, tmp_path: Path) -> None:
    """A hollow agent (fake runtime) on a node certificate registers, renews its Lease, runs a pod
    that reads a Secret and reports its status, and lets it go: everything nodes need, nothing refused."""
    import sys

    from kajitori.api.coordination import Lease
    from kajitori.api.core import Node as NodeObject
    from kajitori.api.core import Pod
    from tests.support.cluster import wait_for
    from tests.support.processes import PROCESS_TIMEOUT_S, stop_process

    kubeconfig = issue(master, "--node", "hollow-authz")
    admin(master, "create", "namespace", "hollow")
    # This master runs no controllers: its ServiceAccounts controller would make "default" (the
    # agent asks a token of it for the pod, which the Node authorizer allows for its pods only).
    admin(master, "-n", "hollow", "create", "serviceaccount", "default")
    admin(master, "-n", "hollow", "create", "secret", "generic", "hs", "--from-literal=a=b")
    log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen(
        [sys.executable, "-m", "cli", "agent", "--kubeconfig", str(kubeconfig), "--node-name", "hollow-authz",
         "--node-ip", "127.0.0.1", "--runtime", "fake", "--pods-root", str(tmp_path / "pods"), "--port", "0",
         "--cert-dir", str(tmp_path / "pki")],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    api = master.client()

    def found(model: Any, name: str, namespace: str | None = None) -> Any:
        try:
            return api.get(model, name, namespace)
        except NotFoundError:
            return None

    try:
        wait_for(lambda: found(Lease, "hollow-authz", "kube-node-lease"), timeout=PROCESS_TIMEOUT_S, what="the node's Lease")
        ready = wait_for(lambda: found(NodeObject, "hollow-authz"), what="the Node")
        assert ready.metadata.name == "hollow-authz"
        pod = (
            '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"hp","namespace":"hollow"},'
            '"spec":{"nodeName":"hollow-authz","containers":[{"name":"c","image":"busybox",'
            '"env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"hs","key":"a"}}}]}]}}'
        )
        created = subprocess.run(
            [kubectl_binary("1.33") or "kubectl", "create", "-f", "-"], input=pod, capture_output=True, text=True, timeout=90,
            env={**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)},
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        # (It read `(found(...) or Pod()).status.phase`: Pod() without a spec fails validation, so a pod not
        # yet found ended the wait with a ValidationError instead of waiting on.)
        def pod_running() -> bool:
            pod = found(Pod, "hp", "hollow")
            return pod is not None and pod.status.phase == "Running"

        wait_for(pod_running, timeout=60, what="the pod Running")
        admin(master, "-n", "hollow", "delete", "pod", "hp", "--wait=true", "--timeout=60s")
    finally:
        stop_process(agent)
        log.close()
        api.close()
    text = (tmp_path / "agent.log").read_text()
    assert "403" not in text and "forbidden" not in text.lower(), text[-3000:]


def test_a_refusal_is_a_status_naming_what_was_refused(master: MasterProcess, alice: Path) -> None:
    cfg = config.load(alice)
    with httpx.Client(base_url=master.url, verify=cfg.ssl_context(), timeout=30) as http:
        refused = http.delete(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
    assert refused.status_code == 403
    assert refused.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'deployments.apps "web" is forbidden: User "alice" cannot delete resource "deployments" in API group "apps" in the namespace "{NS}"',
        "reason": "Forbidden",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 403,
    }


def test_the_exec_websocket_knows_client_certificates_and_authorizes_pods_exec(master: MasterProcess, alice: Path, tmp_path: Path) -> None:
    """The certificate reaches the WebSocket path too: the admin's passes the gates (the pod is not
    found), alice, who may read pods but not create pods/exec, is refused in Kubernetes' words."""
    import websocket

    def handshake(kubeconfig: Path) -> tuple[int, dict[str, Any]]:
        cfg = config.load(kubeconfig)
        assert cfg.client_cert_pem and cfg.client_key_pem and cfg.ca_pem
        files = {}
        for part, data in (("cert", cfg.client_cert_pem), ("key", cfg.client_key_pem), ("ca", cfg.ca_pem)):
            files[part] = tmp_path / f"{kubeconfig.stem}.{part}"
            files[part].write_bytes(data)
        url = master.url.replace("https://", "wss://") + f"/api/v1/namespaces/{NS}/pods/nope/exec?command=true&stdout=1"
        ssl_options = {"certfile": str(files["cert"]), "keyfile": str(files["key"]), "ca_certs": str(files["ca"])}
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, subprotocols=["v5.channel.k8s.io"], sslopt=ssl_options, timeout=30)
        return refused.value.status_code, json.loads(refused.value.resp_body or b"{}")

    code, status = handshake(master.data_dir / "kubeconfigs" / "admin.kubeconfig")
    assert (code, status["reason"]) == (404, "NotFound")
    code, status = handshake(alice)
    assert code == 403
    assert status["message"] == (
        f'pods "nope" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "{NS}"'
    )


def test_a_certificate_of_another_ca_is_refused_even_naming_system_masters(master: MasterProcess, tmp_path: Path) -> None:
    from master.apiserver.certs import write_kubeconfig
    from master.apiserver.tls import ensure_serving_cert

    other = tmp_path / "other"
    ensure_serving_cert(other, "127.0.0.1")  # another cluster's CA, in other/pki
    forged = write_kubeconfig(tmp_path / "forged.kubeconfig", data_dir=other, server_url=master.url, user="kubernetes-admin", groups=("system:masters",))
    cfg = config.load(forged)
    trusting_master = config.ClientConfig(
        server=master.url, ca_pem=master.ca_file.read_bytes(), client_cert_pem=cfg.client_cert_pem, client_key_pem=cfg.client_key_pem
    )
    # The TLS layer verifies a client certificate it is given: the connection ends without an answer.
    with httpx.Client(verify=trusting_master.ssl_context(), timeout=30) as http, pytest.raises(httpx.TransportError):
        http.get(f"{master.url}/api/v1/namespaces/kube-system/secrets")
    assert httpx.get(f"{master.url}/healthz", verify=master.tls()).status_code == 200


def test_subject_access_reviews_answer_for_someone_else(master: MasterProcess, alice: Path) -> None:
    api = master.client()
    try:
        asked: dict[str, Any] = {"resourceAttributes": {"namespace": NS, "verb": "list", "resource": "pods"}, "user": "alice", "groups": ["devs"]}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": asked}
        assert api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)["status"]["allowed"] is True
        local = {**body, "kind": "LocalSubjectAccessReview", "spec": {**asked, "resourceAttributes": {**asked["resourceAttributes"], "verb": "delete"}}}
        answer = api.request("POST", f"/apis/authorization.k8s.io/v1/namespaces/{NS}/localsubjectaccessreviews", body=local)
        assert (answer["kind"], answer["metadata"]["namespace"], answer["status"]["allowed"]) == ("LocalSubjectAccessReview", NS, False)
    finally:
        api.close()
    # alice may ask about herself, not about others.
    cfg = config.load(alice)
    with httpx.Client(base_url=master.url, verify=cfg.ssl_context(), timeout=30) as http:
        assert http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=body).status_code == 403
        mine = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": asked["resourceAttributes"]}}
        assert http.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=mine).json()["status"]["allowed"] is True

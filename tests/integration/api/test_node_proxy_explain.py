"""The node proxy subresource and the agent's explain answers, against a real master and agent (issue 17).

`GET /api/v1/nodes/{node}/proxy/explain/...` is authorized as kube-apiserver authorizes it
(`get` on `nodes/proxy`: the admin may, a `view` user may not until a role grants it), then
answered by that node's agent; the agent itself takes only the node's token or one whose
user may `get nodes/proxy` there. The agent runs the fake runtime: its explain answers come
from what that runtime runs and the machine's own routes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as kajitori_app
from kajitori import config
from kajitori.api.core import Pod
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, ApiError
from kajitori.version import __version__
from tests.integration.agent.agent_process import AgentProcess, make_pod
from tests.integration.api.test_kubectl_protobuf import kubectl_binary
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = pytest.mark.integration

NODE = "explain-node"


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    master = MasterProcess(tmp_path_factory.mktemp("explain-master")).start()
    proc = AgentProcess(master, NODE, tmp_path_factory.mktemp("explain-agent"), runtime="fake")
    try:
        yield proc.start()
    finally:
        proc.stop()
        master.stop()


def user_client(master: MasterProcess, user: str) -> ApiClient:
    out = master.data_dir / f"{user}.kubeconfig"
    result = CliRunner().invoke(kajitori_app, ["certs", "issue", "--data-dir", str(master.data_dir), "--out", str(out), "--user", user])
    assert result.exit_code == 0, result.output
    return ApiClient(config.load(str(out)))


def cluster_role_binding(admin: ApiClient, name: str, role: str, user: str) -> None:
    admin.create_raw(
        by_name("clusterrolebindings"),
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}],
        },
    )


def explain_path(what: str) -> str:
    return f"/api/v1/nodes/{NODE}/proxy/explain/{what}"


def test_the_admin_reads_a_nodes_explain_through_the_master(agent: AgentProcess) -> None:
    answer = agent.master.client().request("GET", explain_path("node"))
    assert answer["node"] == NODE
    assert answer["versions"]["agent"] == __version__
    assert answer["source"] == "net/routes.py"
    assert isinstance(answer["routes"], list)


def test_a_view_user_is_forbidden_nodes_proxy_until_a_role_grants_it(agent: AgentProcess) -> None:
    admin = agent.master.client()
    viewer = user_client(agent.master, "viewer")
    cluster_role_binding(admin, "viewer-view", "view", "viewer")
    with pytest.raises(ApiError) as refused:
        viewer.request("GET", explain_path("node"))
    assert refused.value.code == 403
    assert refused.value.message == (
        f'nodes "{NODE}" is forbidden: User "viewer" cannot get resource "nodes/proxy" in API group "" at the cluster scope'
    )
    admin.create_raw(
        by_name("clusterroles"),
        {"metadata": {"name": "node-proxy-reader"}, "rules": [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]},
    )
    cluster_role_binding(admin, "viewer-node-proxy", "node-proxy-reader", "viewer")
    assert viewer.request("GET", explain_path("node"))["node"] == NODE


def test_a_pods_sandbox_and_containers_are_explained_by_its_node(agent: AgentProcess) -> None:
    api = agent.master.client()
    api.create(make_pod("explained", NODE, [{"name": "c", "image": "busybox:1"}]), "default")
    wait_for(lambda: api.get(Pod, "explained", "default").status.phase == "Running", timeout=PROCESS_TIMEOUT_S, what="the pod Running")
    answer = api.request("GET", explain_path("pod/default/explained"))
    pod_ip = api.get(Pod, "explained", "default").status.podIP
    assert answer["node"] == NODE and answer["source"] == "agent/pod_sync.py"
    assert answer["sandbox"]["id"] and answer["sandbox"]["state"] == "running"
    assert answer["network"]["podIP"] == pod_ip
    assert [(c["name"], c["image"], c["state"], c["restarts"]) for c in answer["containers"]] == [("c", "busybox:1", "running", 0)]


def test_unknown_objects_and_paths_outside_explain_are_404s(agent: AgentProcess) -> None:
    api = agent.master.client()
    for path, words in (
        (explain_path("service/default/absent"), 'services "absent" not found'),
        (explain_path("pod/default/absent"), f'pod "absent" is not bound to node {NODE}'),
        (f"/api/v1/nodes/{NODE}/proxy/exec/default/x/c", "nodes/proxy serves only explain, metrics, healthz"),
        ("/api/v1/nodes/no-such-node/proxy/explain/node", 'nodes "no-such-node" not found'),
    ):
        with pytest.raises(ApiError) as missing:
            api.request("GET", path)
        assert missing.value.code == 404 and words in missing.value.message, path


def test_the_agent_takes_a_token_allowed_nodes_proxy(agent: AgentProcess, tmp_path: Path) -> None:
    admin = agent.master.client()

    def direct(token: str) -> int:
        return httpx.get(f"{agent.url}/explain/node", headers={"Authorization": f"Bearer {token}"}, verify=agent.tls(), timeout=20).status_code

    admin.create_raw(by_name("serviceaccounts"), {"metadata": {"name": "reader"}}, "default")
    admin.create_raw(
        by_name("rolebindings"),
        {
            "metadata": {"name": "reader-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}],
        },
        "default",
    )
    token = admin.request("POST", "/api/v1/namespaces/default/serviceaccounts/reader/token", body={"spec": {}})["status"]["token"]
    assert direct(admin.config.token or "") == 200
    assert direct(token) == 401  # may read pods, not nodes/proxy
    assert direct("wrong") == 401


def test_kajitori_explain_renders_a_pod_a_node_and_a_service_from_the_master_and_agent(agent: AgentProcess) -> None:
    api = agent.master.client()
    if not any(p.metadata.name == "shown" for p in api.list(Pod, "default").items):
        api.create(make_pod("shown", NODE, [{"name": "c", "image": "busybox:1"}]), "default")
    wait_for(lambda: api.get(Pod, "shown", "default").status.phase == "Running", timeout=PROCESS_TIMEOUT_S, what="the pod Running")
    api.create_raw(by_name("services"), {"metadata": {"name": "shown"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "none"}}}, "default")

    def explain(*args: str) -> str:
        result = CliRunner().invoke(kajitori_app, ["explain", *args, "--kubeconfig", str(agent.master.kubeconfig)])
        assert result.exit_code == 0, result.output
        return result.output

    sandbox = api.request("GET", explain_path("pod/default/shown"))["sandbox"]["id"]
    pod_text = explain("pod/shown")
    assert f"  ID:      {sandbox[:12]}" in pod_text and "  c: image busybox:1  running  restarts 0" in pod_text
    node_text = explain(f"node/{NODE}")
    assert f"running agent {__version__}" in node_text and f"Lease kube-node-lease/{NODE}" in node_text
    service_text = explain("svc/shown")
    assert "Endpoints  [kept by master/controllers/endpoints.py" in service_text and f"Node {NODE}: iptables nat" in service_text


def test_kubectl_get_raw_reads_the_node_proxy(agent: AgentProcess) -> None:
    binary = kubectl_binary("1.33")
    if binary is None:
        pytest.skip("kubectl.1.33 is not installed")
    env = {**os.environ, "KUBECONFIG": str(agent.master.kubeconfig), "HOME": str(agent.master.data_dir)}
    proc = subprocess.run([binary, "get", "--raw", explain_path("node")], capture_output=True, text=True, timeout=90, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["node"] == NODE

"""A pod run by a real agent on the real dockerd has its ServiceAccount's identity: the token
volume at /var/run/secrets/kubernetes.io/serviceaccount (a JWT bound to the pod that the
master authenticates, the cluster CA, the namespace), read-only, and the Services' Docker-link
env with KUBERNETES_SERVICE_HOST/PORT. ``automountServiceAccountToken: false`` mounts nothing
and ``enableServiceLinks: false`` keeps only the API's variables."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from kajitori.api.core import Pod, Service
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import (
    SLEEP_FOREVER,
    AgentProcess,
    make_pod,
    running_agent,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.rbac import bind_cluster_role
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

NODE = session_name("agent-test-node")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def agent(master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    # The pods here run as default's ServiceAccount, which lists and execs there (RBAC's edit).
    with master.client() as admin:
        bind_cluster_role(admin, "default", "edit", group="system:serviceaccounts:default")
    with running_agent(master, docker_api, NODE, tmp_path_factory.mktemp("agent")) as proc:
        yield proc


def running(api: ApiClient, pod: str) -> bool:
    return api.get(Pod, pod, "default").status.phase == "Running"


def assert_official_client_in_cluster(master: MasterProcess, token: str, tmp_path: Path) -> None:
    """The official client's in-cluster loader, fed the pod's token and the master's CA, lists pods and
    execs as the ServiceAccount (the pod's own network cannot reach a loopback master: the host stands in)."""
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.config.incluster_config import InClusterConfigLoader
    from kubernetes.stream import stream

    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_bytes(master.ca_file.read_bytes())
    configuration = kubernetes.client.Configuration()
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(master.port)}
    InClusterConfigLoader(str(tmp_path / "token"), str(tmp_path / "ca.crt"), environ=environ).load_and_set(configuration)
    with kubernetes.client.ApiClient(configuration) as api_client:
        core = kubernetes.client.CoreV1Api(api_client)
        assert "ident" in [p.metadata.name for p in core.list_namespaced_pod("default").items]
        out = stream(core.connect_get_namespaced_pod_exec, "ident", "default", command=["cat", f"{SA_DIR}/namespace"],
                     stderr=True, stdin=False, stdout=True, tty=False)  # fmt: skip
        assert out == "default"


def test_a_pod_has_its_token_ca_namespace_and_service_env(api: ApiClient, agent: AgentProcess, master: MasterProcess, tmp_path: Path) -> None:
    api.create(Service.model_validate({
        "metadata": {"name": "web-front", "namespace": "default"},
        "spec": {"selector": {"app": "none"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }))  # fmt: skip
    api.create(make_pod("ident", NODE, [shell("main", SLEEP_FOREVER)]))
    wait_for("pod ident Running", lambda: running(api, "ident"))
    pod = api.get(Pod, "ident", "default")

    code, token = agent.exec("default", "ident", "main", ["cat", f"{SA_DIR}/token"])
    assert code == 0
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["pod"] == {"name": "ident", "uid": pod.metadata.uid}
    assert claims["exp"] - claims["iat"] == 3607
    answer = httpx.get(f"{master.url}/api/v1/namespaces/default/pods", headers={"Authorization": f"Bearer {token}"}, verify=master.tls())
    assert answer.status_code == 200
    assert agent.exec("default", "ident", "main", ["cat", f"{SA_DIR}/namespace"]) == (0, "default")
    assert_official_client_in_cluster(master, token, tmp_path)
    assert agent.exec("default", "ident", "main", ["cat", f"{SA_DIR}/ca.crt"]) == (0, master.ca_file.read_text())
    code, output = agent.exec("default", "ident", "main", ["sh", "-c", f"touch {SA_DIR}/x 2>&1; echo rc=$?"])
    assert "Read-only file system" in output and "rc=1" in output

    code, output = agent.exec("default", "ident", "main", ["env"])
    env = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("10.96.0.1", "443")
    assert env["KUBERNETES_PORT_443_TCP"] == "tcp://10.96.0.1:443"
    ip = api.get(Service, "web-front", "default").spec.clusterIP
    assert env["WEB_FRONT_SERVICE_HOST"] == ip and env["WEB_FRONT_SERVICE_PORT"] == "80"
    assert env["WEB_FRONT_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_FRONT_PORT"] == f"tcp://{ip}:80"
    assert (env["WEB_FRONT_PORT_80_TCP_ADDR"], env["WEB_FRONT_PORT_80_TCP_PORT"], env["WEB_FRONT_PORT_80_TCP_PROTO"]) == (ip, "80", "tcp")

    # The token dies with the pod it is bound to.
    api.delete(Pod, "ident", "default")
    wait_for("pod ident gone", lambda: not any(p.metadata.name == "ident" for p in api.list(Pod, "default").items))
    gone = httpx.get(f"{master.url}/api/v1/namespaces/default/pods", headers={"Authorization": f"Bearer {token}"}, verify=master.tls())
    assert gone.status_code == 401


def test_automount_off_mounts_nothing_and_service_links_off_keeps_the_api(api: ApiClient, agent: AgentProcess) -> None:
    api.create(make_pod("quiet", NODE, [shell("main", SLEEP_FOREVER)], automountServiceAccountToken=False, enableServiceLinks=False))
    wait_for("pod quiet Running", lambda: running(api, "quiet"))
    code, _ = agent.exec("default", "quiet", "main", ["ls", SA_DIR])
    assert code != 0
    code, output = agent.exec("default", "quiet", "main", ["env"])
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in output.splitlines()
    assert not any(line.startswith("WEB_FRONT_") for line in output.splitlines())
    api.delete(Pod, "quiet", "default")

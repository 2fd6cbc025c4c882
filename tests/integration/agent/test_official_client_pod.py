"""The official client of kajitori/python-client:1 with the identity a real agent gives a pod.

A real agent runs a pod of kajitori/python-client:1 as ServiceAccount ``lister``, whom a Role
lets list pods in ``default``. The pod's own network cannot reach a loopback master, so the
image runs once more with plain Docker on the host network (the host stands in for the
``kubernetes`` Service), with the pod's token volume exactly as the agent made it (the token
bound to the pod, ``ca.crt``, ``namespace``) mounted where a pod has it and
KUBERNETES_SERVICE_HOST/PORT naming the master. ``load_incluster_config()`` then lists the
pods of ``default`` (the running pod among them, its status as the agent wrote it, read by
the packaged client's models) and gets 403 in ``kube-system``: what the lab's e2e
(tests/e2e/test_in_cluster_client.py) checks from inside a pod.

The extra container carries ``io.kajitori.test=1`` and this session's label and is removed
when the test ends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from agent.pod_identity import VOLUME
from kajitori.api.core import Pod
from kajitori.api.registry import by_name
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import AgentProcess, make_pod, running_agent, wait_for
from tests.support.in_cluster_client import IMAGE, list_forbidden, run_beside_master
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
NODE = session_name("agent-test-node")


@pytest.fixture(scope="module")
def agent(master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    # Built if missing or changed; a no-op when current (make images builds it before the suite).
    subprocess.run([sys.executable, str(REPO / "images" / "build.py"), "python-client"], check=True)
    with master.client() as admin:
        admin.create_raw(by_name("serviceaccounts"), {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "lister"}}, "default")
        admin.create_raw(by_name("roles"), {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-lister"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        }, "default")  # fmt: skip
        admin.create_raw(by_name("rolebindings"), {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "lister-lists-pods"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-lister"},
            "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": "default"}],
        }, "default")  # fmt: skip
    with running_agent(master, docker_api, NODE, tmp_path_factory.mktemp("agent")) as proc:
        yield proc


def test_the_packaged_official_client_lists_with_the_pods_token_and_is_refused_elsewhere(
    api: ApiClient, agent: AgentProcess, master: MasterProcess
) -> None:
    container = {"name": "main", "image": IMAGE, "command": ["sleep", "infinity"]}
    api.create(make_pod("pyclient", NODE, [container], serviceAccountName="lister"))
    wait_for("pod pyclient Running", lambda: api.get(Pod, "pyclient", "default").status.phase == "Running")
    uid = api.get(Pod, "pyclient", "default").metadata.uid
    volume = agent.work_dir / "pods" / str(uid) / "volumes" / VOLUME
    assert sorted(p.name for p in volume.iterdir()) == ["ca.crt", "namespace", "token"]

    client = docker.from_env(timeout=300)
    try:
        seen = run_beside_master(client, volume, master.port, "kube-system")
    finally:
        client.close()
    assert seen == {
        "default": {"status": 200, "pods": ["pyclient"]},
        "kube-system": {"status": 403, "message": list_forbidden("default", "lister", "kube-system")},
    }
    api.delete(Pod, "pyclient", "default")

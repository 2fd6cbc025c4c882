"""A PersistentVolumeClaim volume on the real agent and dockerd: mounted (subPath too), its data
outliving the pod, and a released local-path volume's directory removed by the node's agent.

The master runs without controllers: the claim names its volume itself (a pre-bound claim),
so what is tested is the agent's half: following claim → volume → directory on this node.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from kajitori.api.core import Node, Pod
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim
from kajitori.api.well_known import VOLUMES_ROOT
from kajitori.client import ApiClient, NotFoundError
from tests.integration.agent.agent_process import (
    SLEEP_FOREVER,
    AgentProcess,
    make_pod,
    running_agent,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

NODE = session_name("agent-test-node-pvc")


@pytest.fixture(scope="module")
def agent(master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    with running_agent(master, docker_api, NODE, tmp_path_factory.mktemp("agent-pvc")) as proc:
        yield proc


def local_path_volume(name: str, agent: AgentProcess) -> PersistentVolume:
    return PersistentVolume.model_validate({
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": "kajitori.io/local-path"}},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
                 "storageClassName": "local-path",
                 "hostPath": {"path": str(agent.volumes_root / name), "type": "DirectoryOrCreate"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}]}]}}},
    })  # fmt: skip


def writer_pod(name: str, script: str) -> Pod:
    mounts = [{"name": "data", "mountPath": "/data"}, {"name": "data", "mountPath": "/logs", "subPath": "logs"}]
    return make_pod(name, NODE, [shell("main", f"{script}; {SLEEP_FOREVER}", volumeMounts=mounts)],
                    volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "www"}}])  # fmt: skip


def gone(api: ApiClient, pod: str) -> bool:
    try:
        api.get(Pod, pod, "default")
    except NotFoundError:
        return True
    return False


def test_a_claims_data_survives_the_pod_and_a_released_volume_is_removed(api: ApiClient, agent: AgentProcess) -> None:
    volume_name = session_name("pvc-test-volume")
    api.create(local_path_volume(volume_name, agent))
    claim = PersistentVolumeClaim.model_validate({
        "metadata": {"name": "www", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "local-path", "volumeName": volume_name},
    })  # fmt: skip
    api.create(claim)
    node = wait_for("the node's volumes root published", lambda: api.get(Node, NODE))
    assert (node.metadata.annotations or {})[VOLUMES_ROOT] == str(agent.volumes_root)

    api.create(writer_pod("web-0", "echo hello-from-web-0 > /data/index.html; echo line > /logs/app.log"))
    wait_for("web-0 Running", lambda: api.get(Pod, "web-0", "default").status.phase == "Running")
    directory = agent.volumes_root / volume_name
    assert wait_for("the data on the node", lambda: (directory / "index.html").is_file() and (directory / "logs" / "app.log").is_file())
    assert agent.exec("default", "web-0", "main", ["cat", "/data/index.html"]) == (0, "hello-from-web-0\n")

    # The pod goes (its containers and pod directory with it); the claim's data stays.
    api.delete(Pod, "web-0", "default")
    wait_for("web-0 gone", lambda: gone(api, "web-0"))
    assert (directory / "index.html").read_text() == "hello-from-web-0\n"

    api.create(writer_pod("web-0", "true"))
    wait_for("web-0 Running again", lambda: api.get(Pod, "web-0", "default").status.phase == "Running")
    assert agent.exec("default", "web-0", "main", ["cat", "/data/index.html"]) == (0, "hello-from-web-0\n")
    assert agent.exec("default", "web-0", "main", ["cat", "/logs/app.log"]) == (0, "line\n")
    api.delete(Pod, "web-0", "default")
    wait_for("web-0 gone", lambda: gone(api, "web-0"))

    # Released (what the PV controller writes once the claim is gone): the node's agent removes it.
    released = api.get(PersistentVolume, volume_name)
    released.status.phase = "Released"
    api.update_status(released)
    api.patch(PersistentVolume, volume_name, {"metadata": {"finalizers": None}})
    wait_for("the released volume deleted", lambda: _volume_gone(api, volume_name), timeout=90.0)
    assert not directory.exists()


def test_a_pod_waits_for_its_claim_to_be_bound(api: ApiClient, agent: AgentProcess) -> None:
    api.create(PersistentVolumeClaim.model_validate({
        "metadata": {"name": "unbound", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": ""},
    }))  # fmt: skip
    pod = make_pod("waiter", NODE, [shell("main", SLEEP_FOREVER)], volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "unbound"}}])
    api.create(pod)

    def waiting_reason() -> str | None:
        for status in api.get(Pod, "waiter", "default").status.containerStatuses or []:
            waiting = status.state.waiting if status.state else None
            if waiting is not None and 'persistentvolumeclaim "unbound" is not bound' in (waiting.message or ""):
                return waiting.reason
        return None

    assert wait_for("ContainerCreating naming the unbound claim", waiting_reason) == "ContainerCreating"
    api.delete(Pod, "waiter", "default")
    wait_for("waiter gone", lambda: gone(api, "waiter"))


def _volume_gone(api: ApiClient, name: str) -> bool:
    try:
        api.get(PersistentVolume, name)
    except NotFoundError:
        return True
    return False

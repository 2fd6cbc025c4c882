"""A pod's explain answer from a real agent on the real dockerd (issue 17): the pause container's
Docker name and network namespace, the host side of its veth and the bridge it hangs on, read
back with Docker's inspect and pyroute2, checked against what Docker and the kernel say."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import httpx
import pytest
from pyroute2 import IPRoute

from kajitori.api.core import Pod
from tests.integration.agent.agent_process import (
    BUSYBOX,
    SLEEP_FOREVER,
    TEST_POD_NETWORK,
    AgentProcess,
    make_pod,
    running_agent,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

NODE = session_name("agent-explain-node")


@pytest.fixture(scope="module")
def agent(master: MasterProcess, docker_api: docker.APIClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    with running_agent(master, docker_api, NODE, tmp_path_factory.mktemp("agent-explain")) as proc:
        yield proc


def test_a_pods_sandbox_netns_veth_and_bridge_are_what_docker_and_the_kernel_say(agent: AgentProcess, docker_api: docker.APIClient) -> None:
    api = agent.master.client()
    api.create(make_pod("explained", NODE, [shell("main", SLEEP_FOREVER)]), "default")
    wait_for("the pod Running", lambda: api.get(Pod, "explained", "default").status.phase == "Running")
    answer = httpx.get(
        f"{agent.url}/explain/pod/default/explained", headers={"Authorization": f"Bearer {agent.token}"}, verify=agent.tls(), timeout=30
    ).json()
    sandbox = docker_api.inspect_container(answer["sandbox"]["id"])
    assert answer["sandbox"]["name"] == sandbox["Name"].lstrip("/") and answer["sandbox"]["name"].startswith("k8s_POD_explained_default_")
    assert answer["sandbox"]["netns"] == sandbox["NetworkSettings"]["SandboxKey"] and answer["sandbox"]["pid"] == sandbox["State"]["Pid"]
    network = docker_api.inspect_network(TEST_POD_NETWORK)
    assert answer["network"]["podIP"] == api.get(Pod, "explained", "default").status.podIP
    assert answer["network"]["bridge"] == f"br-{network['Id'][:12]}"
    with IPRoute() as ipr:
        veth = ipr.link("get", ifname=answer["network"]["hostVeth"])[0]
        bridge = ipr.link("get", index=veth.get_attr("IFLA_MASTER"))[0]
    assert bridge.get_attr("IFLA_IFNAME") == answer["network"]["bridge"]
    [main] = answer["containers"]
    assert (main["name"], main["image"], main["state"]) == ("main", BUSYBOX, "running")
    mounts = docker_api.inspect_container(main["id"])["Mounts"]
    assert mounts and main["mounts"] == [{"source": m["Source"], "destination": m["Destination"], "readOnly": not m["RW"]} for m in mounts]

"""A node agent that dies or loses its master: pods keep running, nothing restarts, leftovers go.

- kill -9 of the agent, then a new agent: every container keeps its ID and restartCount.
- a pod deleted from the API while the agent was away: the new agent removes its containers.
- the master stopped and started again: pods keep running, and the agent's heartbeat returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from kajitori.api.coordination import Lease
from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import (
    SLEEP_FOREVER,
    AgentProcess,
    container_status,
    make_pod,
    node_containers,
    remove_node_objects,
    remove_test_network,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

pytestmark = pytest.mark.integration

NODE = session_name("agent-adoption-node")  # other sessions' agents on this dockerd must not take its pods
CRASH_ONCE = f"[ -f /data/ran ] || {{ touch /data/ran; exit 1; }}; {SLEEP_FOREVER}"
"""Fails on its first run only (the mark survives in the pod's emptyDir): restartCount becomes 1."""


@pytest.fixture
def clean_node(docker_api: docker.APIClient) -> Iterator[str]:
    remove_node_objects(docker_api, NODE)
    yield NODE
    remove_node_objects(docker_api, NODE)
    remove_test_network(docker_api)


def ids_and_counts(api: ApiClient, pod: str) -> dict[str, tuple[str, int]]:
    status = api.get(Pod, pod, "default").status
    return {s.name: (s.containerID or "", s.restartCount) for s in status.containerStatuses or []}


def all_running(api: ApiClient, pod: str) -> bool:
    status = api.get(Pod, pod, "default").status
    return status.phase == "Running" and all(s.state.running for s in status.containerStatuses or [])


def test_killed_agent_restarts_nothing_and_keeps_restart_counts(
    tmp_master: MasterProcess, clean_node: str, docker_api: docker.APIClient, tmp_path: Path
) -> None:
    tmp_master.start()
    api = tmp_master.client()
    agent = AgentProcess(tmp_master, clean_node, tmp_path / "agent").start()
    try:
        api.create(
            make_pod(
                "survivor",
                clean_node,
                [shell("steady", SLEEP_FOREVER),
                 shell("flaky", CRASH_ONCE, volumeMounts=[{"name": "data", "mountPath": "/data"}])],
                volumes=[{"name": "data", "emptyDir": {}}],
            )
        )  # fmt: skip
        wait_for(
            "both running, flaky restarted once",
            lambda: all_running(api, "survivor") and (s := container_status(api, "survivor", "flaky")) and s["restartCount"] == 1,
        )
        before = ids_and_counts(api, "survivor")
        uid = api.get(Pod, "survivor", "default").metadata.uid or ""
        docker_before = sorted(c["Id"] for c in node_containers(docker_api, clean_node, uid))

        agent.kill()
        agent = AgentProcess(tmp_master, clean_node, tmp_path / "agent", port=agent.port).start()
        # Let the new agent sync the pod a few times (informer, runtime listing, relist).
        renewed = api.get(Lease, clean_node, "kube-node-lease").spec.renewTime
        wait_for("the new agent's heartbeat", lambda: api.get(Lease, clean_node, "kube-node-lease").spec.renewTime != renewed)
        agent.exec("default", "survivor", "steady", ["true"])

        assert ids_and_counts(api, "survivor") == before
        assert sorted(c["Id"] for c in node_containers(docker_api, clean_node, uid)) == docker_before
        assert all_running(api, "survivor")
    finally:
        agent.stop()
        api.close()


def test_new_agent_removes_containers_of_pods_deleted_while_it_was_away(
    tmp_master: MasterProcess, clean_node: str, docker_api: docker.APIClient, tmp_path: Path
) -> None:
    tmp_master.start()
    api = tmp_master.client()
    agent = AgentProcess(tmp_master, clean_node, tmp_path / "agent").start()
    try:
        api.create(make_pod("left-behind", clean_node, [shell("main", SLEEP_FOREVER)]))
        wait_for("pod running", lambda: all_running(api, "left-behind"))
        uid = api.get(Pod, "left-behind", "default").metadata.uid or ""
        agent.kill()
        api.delete(Pod, "left-behind", "default")  # sets deletionTimestamp: an agent must finish it
        api.delete(Pod, "left-behind", "default", grace_period_seconds=0)  # forced, as after a node loss
        assert len(node_containers(docker_api, clean_node, uid)) == 2
        agent = AgentProcess(tmp_master, clean_node, tmp_path / "agent", port=agent.port).start()
        wait_for("orphaned containers removed", lambda: node_containers(docker_api, clean_node, uid) == [])
        # Its volumes' directory goes after its containers, in the same cleanup: waited for, not read at once.
        wait_for("the pod's directory removed", lambda: not (tmp_path / "agent" / "pods" / uid).exists())
    finally:
        agent.stop()
        api.close()


def test_pods_keep_running_while_the_master_is_down_and_the_heartbeat_returns(
    tmp_master: MasterProcess, clean_node: str, docker_api: docker.APIClient, tmp_path: Path
) -> None:
    tmp_master.start()
    api = tmp_master.client()
    agent = AgentProcess(tmp_master, clean_node, tmp_path / "agent").start()
    try:
        api.create(make_pod("steadfast", clean_node, [shell("main", SLEEP_FOREVER)]))
        wait_for("pod running", lambda: all_running(api, "steadfast"))
        before = ids_and_counts(api, "steadfast")
        tmp_master.stop()
        # The agent retries in the background; its pods are untouched meanwhile: the container
        # runs and answers. Asked through dockerd: the agent authorizes every exec with the
        # master (a SubjectAccessReview, as the kubelet's webhook authorizer), which is down.
        main = before["main"][0].removeprefix("docker://")
        assert docker_api.inspect_container(main)["State"]["Running"]
        probe = docker_api.exec_create(main, ["true"])["Id"]
        docker_api.exec_start(probe)
        assert docker_api.exec_inspect(probe)["ExitCode"] == 0
        tmp_master.start()
        renewed_before = api.get(Lease, clean_node, "kube-node-lease").spec.renewTime
        wait_for(
            "a lease renewal after the master returned",
            lambda: api.get(Lease, clean_node, "kube-node-lease").spec.renewTime != renewed_before,
        )
        assert agent.proc is not None and agent.proc.poll() is None
        assert ids_and_counts(api, "steadfast") == before
        # Level-triggered: a pod made while the agent reconnects is started too.
        api.create(make_pod("newcomer", clean_node, [shell("main", SLEEP_FOREVER)]))
        wait_for("the new pod running", lambda: all_running(api, "newcomer"))
    finally:
        agent.stop()
        api.close()

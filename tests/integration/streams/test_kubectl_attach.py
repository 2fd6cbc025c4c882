"""kubectl attach to a container's main process: its output streams until it exits, with its exit code."""

from __future__ import annotations

import os
import subprocess

import pytest

from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import AgentProcess, make_pod, shell, wait_for
from tests.integration.streams.conftest import NODE, kubectl_binary, run_kubectl
from tests.support.master_process import MasterProcess
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration

TALKER = "talker"
# Talks until the test asks it to stop, so attaching never races the process's end.
TALK = "while [ ! -f /tmp/stop ]; do echo tick; sleep 0.2; done; echo bye; exit 7"


def test_attach_streams_the_main_process_until_it_exits(master: MasterProcess, api: ApiClient, agent: AgentProcess) -> None:
    api.create(make_pod(TALKER, NODE, [shell("main", TALK)], restartPolicy="Never"))
    wait_for("the talker running", lambda: api.get(Pod, TALKER, "default").status.phase == "Running")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen([kubectl_binary("1.33"), "attach", TALKER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"tick\n"
        stopped = run_kubectl(master, "1.33", "exec", TALKER, "--", "touch", "/tmp/stop")
        assert stopped.returncode == 0, stopped.stderr
        rest = proc.stdout.read()
        assert rest.endswith(b"bye\n")
        assert proc.wait(30) == 7
    finally:
        stop_process(proc)


def test_exec_into_an_exited_container_says_so(master: MasterProcess, api: ApiClient, agent: AgentProcess) -> None:
    # The agent refuses the WebSocket; kubectl retries as SPDY and must read the agent's reason, not "SPDY not served".
    api.create(make_pod("quitter", NODE, [shell("main", "exit 0")], restartPolicy="Never"))
    wait_for("the quitter done", lambda: api.get(Pod, "quitter", "default").status.phase == "Succeeded")
    done = run_kubectl(master, "1.33", "exec", "quitter", "--", "true")
    assert done.returncode != 0
    assert b"cannot exec into a container in a completed pod" in done.stderr or b'container not found ("main")' in done.stderr, done.stderr


def test_exec_into_a_pod_whose_container_is_not_running_yet_says_container_not_found(master: MasterProcess, api: ApiClient, agent: AgentProcess) -> None:
    api.create(make_pod("sleeper", NODE, [shell("main", "sleep 3600")], initContainers=[shell("wait", "sleep 3600")]))
    wait_for("the init container running", lambda: api.get(Pod, "sleeper", "default").status.phase == "Pending" and _init_running(api))
    done = run_kubectl(master, "1.33", "exec", "sleeper", "-c", "main", "--", "true")
    assert done.returncode != 0
    assert b'container not found ("main")' in done.stderr, done.stderr


def _init_running(api: ApiClient) -> bool:
    statuses = api.get(Pod, "sleeper", "default").status.initContainerStatuses or []
    return any(s.state and s.state.running for s in statuses)

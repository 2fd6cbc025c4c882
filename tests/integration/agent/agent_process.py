"""A real `kajitori agent` process against a test master, and helpers for pod tests.

Each agent runs as its own node, ``system:node:<name>`` in ``system:nodes``: a client
certificate of the master's CA in its work dir (``tests.support.node_identity``), as a node
that joined has one; the Node authorizer and NodeRestriction judge it as any node.
Every container the agent makes carries `io.kajitori.node=<node name>`; `remove_node_objects`
removes exactly those (and nothing else on this dockerd). Pods go on a plain bridge network
of this test session's own (`kajitori-test-pods-<session>`), not on the node's podCIDR network.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import httpx

from agent.pod_sync import LABEL_NODE
from kajitori import config
from kajitori.api.core import Node, Pod
from kajitori.client import ApiClient, NotFoundError
from tests.support.master_process import MasterProcess, free_port
from tests.support.node_identity import node_kubeconfig
from tests.support.processes import PROCESS_TIMEOUT_S, kill_process, stop_process
from tests.support.session_names import session_name

TEST_POD_NETWORK = session_name("kajitori-test-pods")
BUSYBOX = "kajitori/busybox:1"
SLEEP_FOREVER = "trap 'exit 0' TERM; sleep 3600 & wait"
"""A shell that stops at once on SIGTERM, so deletions take no grace period."""

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.2) -> T:
    """Poll until `probe` returns something truthy; fail naming `what` (a limit, not a timed assert)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except NotFoundError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what}; last seen: {last!r}")


@dataclass
class AgentProcess:
    master: MasterProcess
    node_name: str
    work_dir: Path
    port: int = field(default_factory=free_port)
    runtime: str = "docker"
    network: str = TEST_POD_NETWORK
    """The plain bridge its pods go on (a suite of its own takes its own name: another's teardown may remove the shared one)."""
    proc: subprocess.Popen[bytes] | None = None
    kubeconfig: Path | None = None
    """Its kubeconfig (e.g. a joined node's); by default one with this node's certificate, made at start."""

    @property
    def log_path(self) -> Path:
        return self.work_dir / f"agent-{self.node_name}.log"

    @property
    def node_kubeconfig(self) -> Path:
        return self.kubeconfig or self.work_dir / f"{self.node_name}.kubeconfig"

    @property
    def token(self) -> str:
        """A token the agent accepts for its pods, metrics and explain: the admin's, which the master
        lets do all (as ``kajitori logs`` comes with the admin kubeconfig); a node has no token."""
        return config.load(self.master.kubeconfig).token or ""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def volumes_root(self) -> Path:
        """The agent's --volumes-root: local-path volumes of this test's node, inside its tmp dir."""
        return self.work_dir / "volumes"

    @property
    def cert_dir(self) -> Path:
        return self.work_dir / "pki"

    def tls(self) -> ssl.SSLContext:
        """Trusts exactly the agent's own serving certificate, as the master does."""
        return ssl.create_default_context(cafile=str(self.cert_dir / f"{self.node_name}.crt"))

    def start(self, timeout: float = PROCESS_TIMEOUT_S) -> AgentProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.kubeconfig is None and not self.node_kubeconfig.exists():
            node_kubeconfig(self.master.data_dir, self.node_name, self.node_kubeconfig, self.master.url)
        cmd = [
            sys.executable, "-m", "cli", "agent",
            "--kubeconfig", str(self.node_kubeconfig), "--node-name", self.node_name,
            "--node-ip", "127.0.0.1", "--runtime", self.runtime, "--network", self.network,
            "--port", str(self.port), "--pods-root", str(self.work_dir / "pods"), "--cert-dir", str(self.cert_dir),
            "--volumes-root", str(self.volumes_root),
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5, verify=self.tls()).status_code == 200:
                    return self
            except (httpx.TransportError, FileNotFoundError):
                pass  # not serving yet, or its certificate not written yet
            time.sleep(0.1)
        self.stop()  # an agent that never served must not outlive its test
        raise RuntimeError(f"agent did not serve in {timeout}s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9, what a crash does."""
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def exec(self, namespace: str, pod: str, container: str, command: list[str], token: str | None = None) -> tuple[int, str]:
        answer = httpx.post(
            f"{self.url}/exec/{namespace}/{pod}/{container}",
            json={"command": command},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30.0,
            verify=self.tls(),
        )
        answer.raise_for_status()
        body = answer.json()
        return int(body["exitCode"]), str(body["output"])

    def logs(self, namespace: str, pod: str, container: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/containerLogs/{namespace}/{pod}/{container}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
            verify=self.tls(),
        )


def node_containers(docker_api: docker.APIClient, node_name: str, pod_uid: str | None = None) -> list[dict[str, Any]]:
    labels = [f"{LABEL_NODE}={node_name}"]
    if pod_uid:
        labels.append(f"io.kajitori.pod.uid={pod_uid}")
    return list(docker_api.containers(all=True, filters={"label": labels}))


def remove_node_objects(docker_api: docker.APIClient, node_name: str) -> None:
    """Removes the containers the agent of `node_name` made. Test modules name their node per
    pytest session (with its pid), so two sessions on one dockerd never remove each other's."""
    for summary in node_containers(docker_api, node_name):
        try:
            docker_api.remove_container(summary["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: its removal is already under way (the agent's own)
                raise


def remove_test_network(docker_api: docker.APIClient, name: str = TEST_POD_NETWORK) -> None:
    for network in docker_api.networks(names=[name], filters={"label": ["io.kajitori.network=plain"]}):
        try:
            docker_api.remove_network(network["Id"])
        except docker.errors.APIError:
            pass  # still used by another test's pods; the next test removes it


def make_pod(name: str, node: str, containers: list[dict[str, Any]], **spec: Any) -> Pod:
    return Pod.model_validate(
        {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2, "containers": containers, **spec},
        }
    )


def shell(name: str, script: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": BUSYBOX, "command": ["sh", "-c", script], **fields}


def container_status(api: ApiClient, pod: str, container: str) -> dict[str, Any] | None:
    status = api.get(Pod, pod, "default").status
    for found in [*(status.containerStatuses or []), *(status.initContainerStatuses or [])]:
        if found.name == container:
            return found.to_dict()
    return None


def condition(api: ApiClient, pod: str, type_: str) -> str | None:
    for found in api.get(Pod, pod, "default").status.conditions or []:
        if found.type == type_:
            return found.status
    return None


def node_ready(api: ApiClient, name: str) -> bool:
    try:
        node = api.get(Node, name)
    except NotFoundError:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


@contextmanager
def running_agent(master: MasterProcess, docker_api: docker.APIClient, node: str, data_dir: Path) -> Iterator[AgentProcess]:
    """An agent for NODE for the length of a test module: the node's leftovers removed before
    and after, and the pod network the agents share removed at the end."""
    remove_node_objects(docker_api, node)
    proc = AgentProcess(master, node, data_dir).start()
    try:
        yield proc
    finally:
        proc.stop()
        remove_node_objects(docker_api, node)
        remove_test_network(docker_api)

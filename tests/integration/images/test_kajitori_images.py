"""The images built by images/build.py, run on the real dockerd.

Every container started here carries ``io.kajitori.test=images`` and this session's
label, and is removed (with its anonymous volumes) when its test ends, or at a later
session's start if its run was killed; another live session's containers are left alone
(tests/support/session_names.py).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import paramiko
import pytest
from docker.models.containers import Container

from tests.support.processes import PROCESS_TIMEOUT_S
from tests.support.session_names import SESSION, SESSION_LABEL, is_gone

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
BUILDER = REPO / "images" / "build.py"
TEST_LABEL = {"io.kajitori.test": "images", SESSION_LABEL: SESSION}
VAGRANT_PRIVATE_KEY_GLOB = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant"
# The run flags PLATFORM.md found to work for node containers (--privileged fails here).
NODE_RUN_OPTIONS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
    "tmpfs": {"/run": "", "/run/lock": "", "/tmp": ""},
    "sysctls": {"net.ipv4.ip_forward": "1"},
}


def wait_for(condition: Callable[[], Any], *, what: str, deadline_s: float = 60.0) -> Any:
    """Polls until condition() is truthy; a deadline only keeps a broken run from hanging."""
    give_up = time.monotonic() + deadline_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def remove_test_containers(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"label": "io.kajitori.test=images"}):
        session = container.labels.get(SESSION_LABEL)
        if session == SESSION or is_gone(session):
            container.remove(force=True, v=True)


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure-host.sh")], check=True)
    docker_client = docker.from_env(timeout=300)
    remove_test_containers(docker_client)
    # Builds whatever is missing or changed; a no-op when every image is current.
    subprocess.run([sys.executable, str(BUILDER)], check=True)
    yield docker_client
    remove_test_containers(docker_client)
    docker_client.close()


@pytest.fixture
def start(client: docker.DockerClient) -> Iterator[Callable[..., Container]]:
    """Starts labelled, detached containers and removes them when the test ends."""
    started: list[Container] = []

    def run(image: str, command: Any = None, **options: Any) -> Container:
        container = client.containers.run(image, command, detach=True, labels=TEST_LABEL, **options)
        started.append(container)
        return container

    yield run
    for container in started:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


def exec_ok(container: Container, command: str) -> str:
    exit_code, output = container.exec_run(["sh", "-c", command])
    text = output.decode(errors="replace")
    assert exit_code == 0, f"{command!r} exited {exit_code}: {text}"
    return text


def test_every_image_is_labelled_with_its_name(client: docker.DockerClient) -> None:
    listing = subprocess.run([sys.executable, str(BUILDER), "--list"], check=True, capture_output=True, text=True)
    names = dict(line.split("\t") for line in listing.stdout.splitlines())
    assert names == {
        "pause": "kajitori/pause:3.9",
        "busybox": "kajitori/busybox:1",
        "nginx": "nginx:1.22",
        "tools": "kajitori/tools:1",
        "python-client": "kajitori/python-client:1",
        "node": "kajitori/node:bookworm",
    }
    for name, tag in names.items():
        labels = client.images.get(tag).labels
        assert labels["io.kajitori.image"] == name
        assert len(labels["io.kajitori.inputs-hash"]) == 64


def test_second_build_changes_nothing(client: docker.DockerClient) -> None:
    before = {tag: client.images.get(tag).id for tag in ("kajitori/pause:3.9", "kajitori/busybox:1")}
    result = subprocess.run(
        [sys.executable, str(BUILDER), "pause", "busybox"], check=True, capture_output=True, text=True
    )
    assert "0 built, 2 up to date" in result.stdout
    assert {tag: client.images.get(tag).id for tag in before} == before


@pytest.mark.parametrize("signal", [pytest.param("SIGTERM", id="sigterm"), pytest.param("SIGINT", id="sigint")])
def test_pause_exits_zero_on_signal(start: Callable[..., Container], signal: str) -> None:
    pause = start("kajitori/pause:3.9")
    pause.reload()
    assert pause.status == "running"
    pause.kill(signal=signal)
    # A limit, not a window: a busy dockerd (a lab provisioning beside) answered the wait
    # after more than 10 s although pause had exited at once.
    assert pause.wait(timeout=PROCESS_TIMEOUT_S)["StatusCode"] == 0


def test_pause_reaps_orphans_in_a_shared_pid_namespace(start: Callable[..., Container]) -> None:
    pause = start("kajitori/pause:3.9")
    # The subshell exits at once, so its short sleep is re-parented to pause (PID 1).
    worker = start(
        "kajitori/busybox:1", ["sh", "-c", "(sleep 0.5 &); exec sleep 600"], pid_mode=f"container:{pause.id}"
    )

    def processes() -> list[str]:
        return exec_ok(worker, "ps -o pid,ppid,stat,args").splitlines()[1:]

    def orphan_gone() -> list[str] | None:
        listing = [line for line in processes() if "ps -o" not in line and "sh -c ps" not in line]
        return listing if not any("sleep 0.5" in line for line in listing) else None

    remaining = wait_for(orphan_gone, what="the orphaned sleep to exit")
    # Reaped means gone, not a zombie (state Z) still parented to pause.
    assert not [line for line in remaining if line.split()[2].startswith("Z")], remaining
    assert len(remaining) == 2, remaining  # pause and the worker's sleep 600


def test_busybox_runs_a_shell(client: docker.DockerClient) -> None:
    output = client.containers.run(
        "kajitori/busybox:1", ["sh", "-c", "echo hi"], remove=True, labels=TEST_LABEL
    )
    assert output == b"hi\n"


def test_tools_image_has_its_tools(start: Callable[..., Container]) -> None:
    tools = start("kajitori/tools:1")
    for command in ("curl --version", "dig -v", "nc -h", "ip -V", "ps --version", "test -x /usr/bin/ping"):
        exec_ok(tools, command)


def test_nginx_names_its_pod(start: Callable[..., Container]) -> None:
    nginx = start("nginx:1.22", hostname="web-7f9c-x2v4q")
    nginx.reload()
    address = nginx.attrs["NetworkSettings"]["IPAddress"]

    def answer() -> httpx.Response | None:
        try:
            return httpx.get(f"http://{address}/", timeout=2)
        except httpx.TransportError:
            return None

    response = wait_for(answer, what="nginx to answer")
    assert response.status_code == 200
    assert "web-7f9c-x2v4q" in response.text
    # nginx writes its access log after it has answered; docker hands the line on a moment later.
    wait_for(lambda: b"GET / HTTP/1.1" in nginx.logs(stdout=True, stderr=False), what="the request in nginx's log")


@pytest.fixture(scope="module")
def node(client: docker.DockerClient) -> Iterator[Container]:
    container = client.containers.run(
        "kajitori/node:bookworm", detach=True, labels=TEST_LABEL, hostname="kt-images-node",
        **NODE_RUN_OPTIONS,
    )
    try:
        def booted() -> str | None:
            # Until systemd's bus is up this prints an error rather than a state.
            state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
            return state if state in ("running", "degraded", "maintenance", "stopping") else None

        state = wait_for(booted, what="systemd in the node to finish booting", deadline_s=120)
        _, failed = container.exec_run(["systemctl", "--failed", "--no-legend", "--plain"])
        print(f"node systemd state: {state}; failed units: {failed.decode().strip() or 'none'}")
        yield container
    finally:
        container.remove(force=True, v=True)


def test_node_boots_systemd(node: Container) -> None:
    # On a loaded machine systemctl can answer nothing once (its D-Bus call timed out): ask again.
    state = ""
    for _ in range(10):
        _, output = node.exec_run(["systemctl", "is-system-running"])
        state = output.decode().strip()
        if state:
            break
        time.sleep(1)
    _, failed = node.exec_run(["systemctl", "--failed", "--no-legend", "--plain"])
    assert state in ("running", "degraded"), failed.decode()
    for unit in ("ssh", "docker", "containerd", "dbus"):
        assert exec_ok(node, f"systemctl is-active {unit}").strip() == "active"


def test_node_selects_legacy_iptables(node: Container) -> None:
    assert "legacy" in exec_ok(node, "iptables --version")
    assert "legacy" in exec_ok(node, "ip6tables --version")


def test_node_lets_vagrant_in_with_its_key_and_sudo(node: Container) -> None:
    keys = sorted(Path("/").glob(VAGRANT_PRIVATE_KEY_GLOB.lstrip("/")))
    assert keys, "the vagrant package ships its insecure key"
    node.reload()
    address = node.attrs["NetworkSettings"]["IPAddress"]
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        ssh.connect(address, username="vagrant", key_filename=str(keys[-1]), timeout=10,
                    allow_agent=False, look_for_keys=False)
        _, stdout, _ = ssh.exec_command("sudo -n id -u")
        assert stdout.read().decode().strip() == "0"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        ssh.close()


def test_node_runs_containers_in_its_own_dockerd(client: docker.DockerClient, node: Container) -> None:
    # No registry: the image goes in as `docker save` output, like a pre-loaded node.
    saved = b"".join(client.images.get("kajitori/busybox:1").save(named=True))
    wrapper = io.BytesIO()
    with tarfile.open(fileobj=wrapper, mode="w") as archive:
        entry = tarfile.TarInfo("busybox.tar")
        entry.size = len(saved)
        archive.addfile(entry, io.BytesIO(saved))
    assert node.put_archive("/root", wrapper.getvalue())
    wait_for(lambda: node.exec_run(["docker", "info"]).exit_code == 0, what="the nested dockerd")
    exec_ok(node, "docker load -i /root/busybox.tar")
    assert exec_ok(node, "docker info --format '{{.Driver}}'").strip() == "overlay2"
    assert exec_ok(node, "docker run --rm kajitori/busybox:1 sh -c 'echo inner-hi'") == "inner-hi\n"

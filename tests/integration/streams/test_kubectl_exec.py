"""kubectl exec over WebSocket (v5.channel.k8s.io), with the kubectl binaries named, against a real agent.

Each test runs a command in the busybox pod through master -> agent -> docker exec and
checks what kubectl prints and how it exits.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from kajitori.api.core import Pod
from kajitori.client import ApiClient
from kajitori.version import PAUSE_IMAGE
from tests.integration.agent.agent_process import AgentProcess, make_pod, wait_for
from tests.integration.streams.conftest import KUBECTL_VERSIONS, NODE, kubectl_binary, run_kubectl
from tests.support.master_process import MasterProcess
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_prints_the_pods_hostname(master: MasterProcess, pod: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", pod, "--", "hostname")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == pod


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_exits_with_the_commands_code(master: MasterProcess, pod: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == b"out\n"
    assert b"err\n" in done.stderr


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_with_stdin_echoes_a_file_and_ends(master: MasterProcess, pod: str, version: str, tmp_path: Path) -> None:
    payload = b"".join(b"line %d of a file that cat gives back\n" % i for i in range(20000))  # ~0.8 MB, both ways at once
    done = run_kubectl(master, version, "exec", "-i", pod, "--", "cat", input=payload)
    assert done.returncode == 0, done.stderr
    assert done.stdout == payload


# What kubectl shows on Kubernetes with Docker as the runtime (dockershim, cri-dockerd): the
# runtime's OCI message as the command's output and its exit code, 126.
@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_of_a_missing_binary_exits_126_with_the_oci_message(master: MasterProcess, pod: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", pod, "--", "nosuchbinary")
    assert done.returncode == 126, done.stderr
    assert b'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchbinary": executable file not found in $PATH' in done.stdout
    assert done.stderr == b"command terminated with exit code 126\n"


@pytest.fixture(scope="module")
def shellless(api: ApiClient, agent: AgentProcess) -> str:
    """A pod of an image without a shell (the pause image: one static binary)."""
    api.create(make_pod("shellless", NODE, [{"name": "main", "image": PAUSE_IMAGE}]))
    wait_for("the shell-less pod running", lambda: api.get(Pod, "shellless", "default").status.phase == "Running")
    return "shellless"


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_of_a_shell_in_an_image_without_one_exits_126(master: MasterProcess, shellless: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", shellless, "--", "sh", "-c", "true")
    assert done.returncode == 126, done.stderr
    assert b'exec: "sh": executable file not found in $PATH' in done.stdout
    done = run_kubectl(master, version, "exec", "-i", shellless, "--", "sh", input=b"true\n")  # with stdin, as exec -it does
    assert done.returncode == 126, done.stderr
    assert b'exec: "sh": executable file not found in $PATH' in done.stdout


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_in_a_missing_container_is_a_clear_error(master: MasterProcess, pod: str, version: str) -> None:
    done = run_kubectl(master, version, "exec", pod, "-c", "nope", "--", "true")
    assert done.returncode != 0
    assert b"container nope is not valid for pod" in done.stderr


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_cp_a_file_into_and_out_of_the_pod(master: MasterProcess, pod: str, version: str, tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_bytes(b"copied through exec\n" * 100)
    into = run_kubectl(master, version, "cp", str(source), f"default/{pod}:/tmp/hello-{version}.txt")
    assert into.returncode == 0, into.stderr
    back = tmp_path / "back.txt"
    out = run_kubectl(master, version, "cp", f"default/{pod}:/tmp/hello-{version}.txt", str(back))
    assert out.returncode == 0, out.stderr
    assert back.read_bytes() == source.read_bytes()


def test_kubectl_1_29_is_told_which_versions_are_served(master: MasterProcess, pod: str) -> None:
    done = run_kubectl(master, "1.29", "exec", pod, "--", "true")
    assert done.returncode != 0
    assert b"use kubectl 1.30 or newer" in done.stderr


def read_until(fd: int, wanted: bytes, limit_s: float = 30.0) -> bytes:
    """What the terminal showed, up to and including `wanted` (a limit, not a timing assert)."""
    seen = b""
    deadline = time.monotonic() + limit_s
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {wanted!r}; saw {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal closed (kubectl exited)
                chunk = b""
            assert chunk, f"the terminal closed before {wanted!r}; saw {seen!r}"
            seen += chunk
    return seen


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_exec_it_runs_a_shell_on_a_terminal_that_resizes(master: MasterProcess, pod: str, version: str) -> None:
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir), "TERM": "dumb"}
    proc = subprocess.Popen([kubectl_binary(version), "exec", "-it", pod, "--", "sh"], stdin=terminal, stdout=terminal, stderr=terminal, env=env, start_new_session=True)
    os.close(terminal)
    try:
        # The marker is computed by the shell, so the terminal's echo of the typed line never matches it.
        # kubectl sends the terminal's size as the stream opens; the runtime applies it to the exec's
        # terminal once that has started, so the shell's first line may come before it: ask until it shows.
        deadline = time.monotonic() + 30
        while True:
            os.write(controller, b"stty size; echo SHOWN-$((40+2))\r")
            if b"33 101" in read_until(controller, b"SHOWN-42"):
                break
            assert time.monotonic() < deadline, "kubectl's terminal size never reached the pod's terminal"
        fcntl.ioctl(controller, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        proc.send_signal(signal.SIGWINCH)  # what the terminal does on a resize
        deadline = time.monotonic() + 30
        while True:  # the resize travels asynchronously: ask until the shell sees it
            os.write(controller, b"stty size; echo ASKED-$((40+2))\r")
            if b"40 120" in read_until(controller, b"ASKED-42"):
                break
            assert time.monotonic() < deadline, "the resize never reached the pod's terminal"
        os.write(controller, b"exit 5\r")
        assert proc.wait(30) == 5
    finally:
        stop_process(proc)
        os.close(controller)


def test_an_exec_whose_client_goes_away_leaves_no_process_behind(master: MasterProcess, pod: str) -> None:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen([kubectl_binary("1.33"), "exec", pod, "--", "sleep", "4242"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sleepers() -> int:
        listed = run_kubectl(master, "1.33", "exec", pod, "--", "ps", "-o", "args")
        return sum(1 for line in listed.stdout.decode().splitlines() if line.strip() == "sleep 4242")

    try:
        deadline = time.monotonic() + 30
        while sleepers() != 1:
            assert time.monotonic() < deadline, "the exec never started"
    finally:
        stop_process(proc)  # kubectl goes away mid-stream
    deadline = time.monotonic() + 30
    while sleepers() != 0:
        assert time.monotonic() < deadline, "the exec's process outlived its client"


def link_sockets(agent_port: int) -> list[str]:
    """`ss` lines of the established TCP sockets on the agent's port, both ends, with their timers."""
    listed = subprocess.run(
        ["ss", "-tnoH", "state", "established", f"( sport = :{agent_port} or dport = :{agent_port} )"], capture_output=True, text=True, check=True
    )
    return listed.stdout.splitlines()


def test_the_link_of_a_live_exec_has_tcp_keepalive_on_both_ends(master: MasterProcess, agent: AgentProcess, pod: str) -> None:
    # A node that vanishes sends no FIN: only keepalive ends an idle exec's link then.
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.Popen([kubectl_binary("1.33"), "exec", pod, "--", "sleep", "4343"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def keepalive_ends() -> set[str]:
            ends = set()
            for line in link_sockets(agent.port):
                if "timer:(keepalive" in line:
                    local = line.split()[2]
                    ends.add("agent" if local.endswith(f":{agent.port}") else "master")
            return ends if ends == {"agent", "master"} else set()

        wait_for("both ends of the exec's link with keepalive", keepalive_ends)
    finally:
        stop_process(proc)

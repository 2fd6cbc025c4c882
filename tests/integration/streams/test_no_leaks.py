"""Nothing left behind: after many exec and port-forward sessions the master and the agent hold the files and sockets they held before.

The counts are read from /proc/PID/fd of the two processes. The baseline is taken after
one session of each kind (the first opens connections that are kept on purpose), and the
end is a condition waited for: the counts come back to it once every session's sockets
are closed, whatever the machine's load.

The agent's connections to dockerd's API are not counted: they are requests' pool
(``max_pool_size`` 32, ``agent.docker_runtime``), which keeps as many idle connections as
the busiest moment needed, and the sessions' own streams are busier than the round
before the baseline: CI once saw 7 more after 8 rounds, held for good. A session that
leaked its docker stream would also leak its connection from the master (the relay
closes both together, ``agent.stream_relay``), and that one is counted.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.agent.agent_process import AgentProcess, wait_for
from tests.integration.streams.conftest import HTTP_PORT, kubectl_binary, run_kubectl
from tests.integration.streams.test_kubectl_port_forward import http_get, port_forwards
from tests.support.master_process import MasterProcess
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration

SESSIONS = 8


DOCKER_SOCKETS = {"/var/run/docker.sock", "/run/docker.sock"}


def docker_clients() -> set[str]:
    """The socket inodes of every client connected to dockerd's API (dockerd's accepted ends name their peers)."""
    listed = subprocess.run(["ss", "-x", "-a", "-n"], capture_output=True, text=True, check=True).stdout
    clients = set()
    for line in listed.splitlines()[1:]:
        fields = line.split()
        # Netid State Recv-Q Send-Q Local-Address Port Peer-Address Port
        if len(fields) >= 8 and fields[4] in DOCKER_SOCKETS and fields[1] == "ESTAB":
            clients.add(fields[7])
    return clients


def open_files(pid: int) -> tuple[int, int]:
    """(open file descriptors, of which sockets) of a process, leaving out its connections to dockerd."""
    pooled = docker_clients()
    fds = sockets = 0
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(entry)
        except FileNotFoundError:
            continue  # closed while we looked
        if target.startswith("socket:[") and target[len("socket:[") : -1] in pooled:
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return fds, sockets


def connected_to(master: MasterProcess, pod: str, port: int) -> bool:
    listed = run_kubectl(master, "1.33", "exec", pod, "--", "netstat", "-tn").stdout.decode()
    return any(f":{port} " in line and "ESTABLISHED" in line for line in listed.splitlines())


def one_of_each(master: MasterProcess, pod: str, round_: int) -> None:
    done = run_kubectl(master, "1.33", "exec", "-i", pod, "--", "cat", input=b"x" * 100_000)
    assert done.returncode == 0 and len(done.stdout) == 100_000, done.stderr
    done = run_kubectl(master, "1.33", "exec", pod, "--", "sh", "-c", "exit 3")
    assert done.returncode == 3, done.stderr
    with port_forwards(master, "1.33", f"pod/{pod}", [HTTP_PORT]) as ((local,), _proc):
        for _ in range(2):
            assert http_get(local).rstrip().endswith(b"pong")
    # A client that goes away in the middle of an exec and of a forwarded connection.
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    marker = f"sleep 41{round_:02d}"
    proc = subprocess.Popen([kubectl_binary("1.33"), "exec", pod, "--", "sh", "-c", marker], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the exec running", lambda: marker in run_kubectl(master, "1.33", "exec", pod, "--", "ps", "-o", "args").stdout.decode())
    finally:
        stop_process(proc)
    with port_forwards(master, "1.33", f"pod/{pod}", [HTTP_PORT]) as ((local,), forward), socket.create_connection(("127.0.0.1", local), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n")  # half a request: the connection is open at the pod
        wait_for("the connection to reach the pod", lambda: connected_to(master, pod, HTTP_PORT))
        stop_process(forward)  # kubectl goes away with the connection open


def test_exec_and_port_forward_sessions_leave_no_file_or_socket_open(master: MasterProcess, agent: AgentProcess, pod: str) -> None:
    assert master.proc is not None and agent.proc is not None
    pids = {"master": master.proc.pid, "agent": agent.proc.pid}
    one_of_each(master, pod, 0)

    def settled() -> dict[str, tuple[int, int]]:
        return {name: open_files(pid) for name, pid in pids.items()}

    # The baseline once the first round's sockets are gone (two equal readings in a row).
    previous: list[dict[str, tuple[int, int]]] = [settled()]

    def steady() -> dict[str, tuple[int, int]] | None:
        now = settled()
        same = now == previous[0]
        previous[0] = now
        return now if same else None

    baseline = wait_for("the counts to settle", steady, interval=1.0)
    for round_ in range(1, SESSIONS + 1):
        one_of_each(master, pod, round_)
    last: list[dict[str, tuple[int, int]]] = []

    def back_to_baseline() -> bool:
        last[:] = [settled()]
        return all(fds <= baseline[n][0] and socks <= baseline[n][1] for n, (fds, socks) in last[0].items())

    try:
        wait_for("the open files and sockets back to the baseline", back_to_baseline, timeout=120)
    except AssertionError:
        raise AssertionError(f"(files, sockets) after {SESSIONS} rounds: {last[0]}; before: {baseline}") from None
    # And no process of an ended exec is left in the pod (the agent kills it just after closing its socket).
    def no_sleeper() -> bool:
        listed = run_kubectl(master, "1.33", "exec", pod, "--", "ps", "-o", "args").stdout.decode()
        return not [line for line in listed.splitlines() if line.strip().startswith("sleep 41")]

    wait_for("no abandoned exec's process left in the pod", no_sleeper)

"""`kajitori exec` and `kajitori attach` over WebSocket, against a real master, agent and pod.

The same checks the kubectl tests make, with our own CLI: stdin through and closed,
the remote exit code as ours, a terminal that resizes, and each refusal in one line.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from kajitori.api.core import Pod
from kajitori.client import ApiClient
from tests.integration.agent.agent_process import AgentProcess, make_pod, shell, wait_for
from tests.integration.streams.conftest import NODE
from tests.integration.streams.test_kubectl_exec import read_until
from tests.support.master_process import MasterProcess
from tests.support.processes import stop_process

pytestmark = pytest.mark.integration


def cli(master: MasterProcess, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    # The kubeconfig goes right after the command's name: after `--` it would be part of exec's command.
    command = [sys.executable, "-m", "cli", args[0], "--kubeconfig", str(master.kubeconfig), *args[1:]]
    return subprocess.run(command, input=input, capture_output=True, timeout=60)


def test_exec_with_stdin_prints_it_back(master: MasterProcess, pod: str) -> None:
    done = cli(master, "exec", "-i", pod, "--", "cat", input=b"x\n")
    assert (done.returncode, done.stdout) == (0, b"x\n"), done.stderr


def test_exec_with_a_large_stdin_ends_at_its_end(master: MasterProcess, pod: str) -> None:
    payload = b"".join(b"line %d of a file that cat gives back\n" % i for i in range(20000))
    done = cli(master, "exec", "-i", pod, "--", "cat", input=payload)
    assert done.returncode == 0, done.stderr
    assert done.stdout == payload


def test_exec_prints_the_hostname_and_exits_with_the_commands_code(master: MasterProcess, pod: str) -> None:
    assert cli(master, "exec", pod, "--", "hostname").stdout.decode().strip() == pod
    done = cli(master, "exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3
    assert done.stdout == b"out\n"
    assert done.stderr == b"err\ncommand terminated with exit code 3\n"


def test_exec_in_a_missing_container_or_pod_is_one_line(master: MasterProcess, pod: str) -> None:
    container = cli(master, "exec", pod, "-c", "nope", "--", "true")
    assert container.returncode == 1
    assert (
        container.stderr
        == f"error: unable to upgrade connection: container nope is not valid for pod {pod}\n".encode()
    )
    missing = cli(master, "exec", "no-such-pod", "--", "true")
    assert missing.returncode == 1
    assert missing.stderr == b'Error from server (NotFound): pods "no-such-pod" not found\n'


def test_exec_it_runs_a_shell_on_a_terminal_that_resizes(master: MasterProcess, pod: str) -> None:
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    command = [
        sys.executable,
        "-m",
        "cli",
        "exec",
        "-it",
        pod,
        "--kubeconfig",
        str(master.kubeconfig),
        "--",
        "sh",
    ]
    proc = subprocess.Popen(
        command,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "dumb"},
        start_new_session=True,
    )
    os.close(terminal)
    try:
        # Typed once the prompt shows: busybox's line editor drops what arrives while it asks the cursor position.
        read_until(controller, b"/ # ")
        # The marker is computed by the shell, so the terminal's echo of the typed line never matches it.
        os.write(controller, b"stty size; echo SHOWN-$((40+2))\r")
        assert b"33 101" in read_until(controller, b"SHOWN-42")
        fcntl.ioctl(controller, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        proc.send_signal(signal.SIGWINCH)
        deadline = time.monotonic() + 30
        while True:  # the resize travels asynchronously: ask until the shell sees it
            os.write(controller, b"stty size; echo ASKED-$((40+2))\r")
            if b"40 120" in read_until(controller, b"ASKED-42"):
                break
            assert time.monotonic() < deadline, "the resize never reached the pod's terminal"
        assert not termios.tcgetattr(controller)[3] & termios.ECHO  # raw mode while the shell runs
        os.write(controller, b"exit 5\r")
        assert proc.wait(30) == 5
        assert termios.tcgetattr(controller)[3] & termios.ECHO  # and the terminal given back as it was
    finally:
        stop_process(proc)
        os.close(controller)


def test_attach_streams_the_main_process_until_it_exits(
    master: MasterProcess, api: ApiClient, agent: AgentProcess
) -> None:
    api.create(
        make_pod(
            "cli-talker",
            NODE,
            [shell("main", "while [ ! -f /tmp/stop ]; do echo tick; sleep 0.2; done; echo bye; exit 7")],
            restartPolicy="Never",
        )
    )
    wait_for("the talker running", lambda: api.get(Pod, "cli-talker", "default").status.phase == "Running")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "attach", "cli-talker", "--kubeconfig", str(master.kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"tick\n"
        assert cli(master, "exec", "cli-talker", "--", "touch", "/tmp/stop").returncode == 0
        assert proc.stdout.read().endswith(b"bye\n")
        assert proc.wait(30) == 7
    finally:
        stop_process(proc)


def test_exec_timeout_ends_a_command_that_runs_too_long(master: MasterProcess, pod: str) -> None:
    done = cli(master, "exec", "--timeout", "2", pod, "--", "sleep", "300")
    assert (done.returncode, done.stderr) == (1, b"error: timed out waiting for the command\n")

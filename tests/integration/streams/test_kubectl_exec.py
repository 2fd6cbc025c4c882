"""kubectl exec over WebSocket (v5.channel.k8s.io), with the kubectl binaries named, against a real agent.

Each test runs a command in the busybox pod through master -> agent -> docker exec and
checks what kubectl prints and how it exits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.streams.conftest import KUBECTL_VERSIONS, run_kubectl
from tests.support.master_process import MasterProcess

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

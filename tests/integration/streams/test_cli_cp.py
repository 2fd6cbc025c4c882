"""`kajitori cp` both ways (tar through exec) with a real master, agent and busybox pod."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def cli(master: MasterProcess, *args: str) -> subprocess.CompletedProcess[bytes]:
    # The kubeconfig goes right after the command's name: after `--` it would be part of exec's command.
    command = [sys.executable, "-m", "cli", args[0], "--kubeconfig", str(master.kubeconfig), *args[1:]]
    return subprocess.run(command, capture_output=True, timeout=60)


def test_cp_a_file_into_and_out_of_the_pod(master: MasterProcess, pod: str, tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_bytes(b"copied through exec\n" * 5000)
    into = cli(master, "cp", str(source), f"{pod}:/tmp/cli-hello.txt")
    assert (into.returncode, into.stderr) == (0, b"")
    seen = cli(master, "exec", pod, "--", "wc", "-c", "/tmp/cli-hello.txt")
    assert seen.stdout.split()[0] == str(len(source.read_bytes())).encode()
    back = tmp_path / "back.txt"
    out = cli(master, "cp", f"default/{pod}:/tmp/cli-hello.txt", str(back))
    assert (out.returncode, out.stderr) == (0, b"")
    assert back.read_bytes() == source.read_bytes()


def test_cp_a_directory_into_a_pods_directory_and_back(
    master: MasterProcess, pod: str, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a\n")
    (tree / "sub" / "b.txt").write_text("b\n")
    assert cli(master, "exec", pod, "--", "mkdir", "-p", "/tmp/cli-dir").returncode == 0
    assert (
        cli(master, "cp", str(tree), f"{pod}:/tmp/cli-dir").returncode == 0
    )  # an existing directory: copied into it
    assert cli(master, "exec", pod, "--", "cat", "/tmp/cli-dir/tree/sub/b.txt").stdout == b"b\n"
    local = tmp_path / "out"
    assert cli(master, "cp", f"{pod}:/tmp/cli-dir/tree", str(local)).returncode == 0
    assert (local / "a.txt").read_text() == "a\n"
    assert (local / "sub" / "b.txt").read_text() == "b\n"


def test_cp_errors_are_one_line(master: MasterProcess, pod: str, tmp_path: Path) -> None:
    missing = cli(master, "cp", "no-such-pod:/etc/hostname", str(tmp_path / "x"))
    assert (missing.returncode, missing.stderr) == (
        1,
        b'Error from server (NotFound): pods "no-such-pod" not found\n',
    )
    container = cli(master, "cp", "-c", "nope", f"{pod}:/etc/hostname", str(tmp_path / "x"))
    assert (container.returncode, container.stderr) == (
        1,
        f"error: unable to upgrade connection: container nope is not valid for pod {pod}\n".encode(),
    )
    no_file = cli(master, "cp", f"{pod}:/no/such/file", str(tmp_path / "x"))
    assert no_file.returncode == 1
    assert len(no_file.stderr.splitlines()) == 1 and b"No such file or directory" in no_file.stderr, (
        no_file.stderr
    )

"""Secret and configMap files on the node have their mode from their first byte, under a 0750 pods root.

An audit hook sees every chmod the process makes (``os.chmod``, ``Path.chmod``, ``os.fchmod``):
none may touch a file that already holds content, which is what ``write then chmod`` did —
between the two, a Secret's key sat world-readable (0644 under the usual umask).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.volumes import PODS_ROOT_MODE, VolumeManager
from kajitori.api.core import Pod

SECRET = {"token": b"s3cret", "nested": b"n"}


class Secrets:
    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return None

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        return dict(SECRET) if name == "creds" else None


@pytest.fixture
def chmods_of_written_files() -> Iterator[list[str]]:
    """Every chmod of a regular file that already had bytes in it, while the test runs."""
    seen: list[str] = []
    active = True

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not active or event != "os.chmod":
            return
        target = args[0]
        try:
            found = os.fstat(target) if isinstance(target, int) else os.stat(target)
        except OSError:
            return
        if stat.S_ISREG(found.st_mode) and found.st_size > 0:
            seen.append(str(target))

    sys.addaudithook(hook)  # hooks cannot be removed; this one goes quiet after the test
    yield seen
    active = False


def secret_pod(**secret: Any) -> Pod:
    return Pod.model_validate({
        "metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1",
                                 "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}],
                 "volumes": [{"name": "creds", "secret": {"secretName": "creds", **secret}}]},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("secret", "modes"),
    [
        pytest.param({"defaultMode": 0o400}, {"token": 0o400, "nested": 0o400}, id="defaultMode"),
        pytest.param(
            {"items": [{"key": "token", "path": "a/token", "mode": 0o440}, {"key": "nested", "path": "n"}],
             "defaultMode": 0o600},
            {"a/token": 0o440, "n": 0o600}, id="items",
        ),
        pytest.param({"defaultMode": 0o666}, {"token": 0o666, "nested": 0o666}, id="wider-than-the-umask"),
    ],
)
def test_secret_files_are_created_with_their_mode_under_a_private_pods_root(
    tmp_path: Path, chmods_of_written_files: list[str], secret: dict[str, Any], modes: dict[str, int]
) -> None:
    root = tmp_path / "pods"
    volumes = VolumeManager(root, Secrets())
    volumes.setup(secret_pod(**secret))
    target = volumes.volume_dir("uid-1", "creds")
    found = {str(p.relative_to(target)): stat.S_IMODE(p.stat().st_mode) for p in target.rglob("*") if p.is_file()}
    assert found == modes
    assert chmods_of_written_files == []
    assert stat.S_IMODE(root.stat().st_mode) == PODS_ROOT_MODE


def test_a_pods_root_made_0755_by_an_older_agent_is_narrowed(tmp_path: Path) -> None:
    root = tmp_path / "pods"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    VolumeManager(root, Secrets()).setup(secret_pod())
    assert stat.S_IMODE(root.stat().st_mode) == PODS_ROOT_MODE

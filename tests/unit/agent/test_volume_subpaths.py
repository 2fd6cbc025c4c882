"""A volumeMount's subPath never takes the agent out of its volume: not by '/', '..' or a symlink."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agent.env import ContainerConfigError
from agent.volumes import VolumeManager
from kajitori.api.core import Pod


class NoConfigs:
    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return None

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        return None


def pod_with(sub_path: str, **volume: Any) -> Pod:
    pod = Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
            "spec": {
                "containers": [{"name": "c", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/m", "subPath": "ok"}]}],
                "volumes": [{"name": "v", **(volume or {"emptyDir": {}})}],
            },
        }
    )
    # Set after parsing: the API refuses '/' and '..' too, but the agent must not rely on
    # it (a pod stored before that check, or a hostile API).
    (pod.spec.containers[0].volumeMounts or [])[0].subPath = sub_path
    return pod


def everything_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def roots(tmp_path: Path) -> tuple[VolumeManager, Path]:
    (tmp_path / "outside").mkdir()
    return VolumeManager(tmp_path / "pods", NoConfigs()), tmp_path / "outside"


@pytest.mark.parametrize(
    "sub_path",
    [
        pytest.param("/etc", id="absolute"),
        pytest.param("../../../../tmp/x", id="dotdot"),
        pytest.param("a/../../b", id="dotdot-inside"),
    ],
)
def test_absolute_and_dotdot_sub_paths_are_refused(roots: tuple[VolumeManager, Path], sub_path: str) -> None:
    volumes, _ = roots
    pod = pod_with(sub_path)
    volumes.setup(pod)
    before = everything_under(volumes.pods_root.parent)
    with pytest.raises(ContainerConfigError):
        volumes.mounts(pod, pod.spec.containers[0])
    assert everything_under(volumes.pods_root.parent) == before


def test_a_symlink_planted_in_the_volume_is_not_followed_out(roots: tuple[VolumeManager, Path]) -> None:
    volumes, outside = roots
    pod = pod_with("escape/made-by-agent")
    volumes.setup(pod)
    # What a container of the pod could do in its emptyDir: ln -s <somewhere on the node> escape
    os.symlink(outside, volumes.volume_dir("uid-1", "v") / "escape")
    with pytest.raises(ContainerConfigError):
        volumes.mounts(pod, pod.spec.containers[0])
    assert not (outside / "made-by-agent").exists()
    os.symlink(outside / "etc-passwd", volumes.volume_dir("uid-1", "v") / "file")
    with pytest.raises(ContainerConfigError):
        volumes.mounts(pod_with("file"), pod.spec.containers[0])


def test_sub_paths_inside_the_volume_are_made_and_mounted(roots: tuple[VolumeManager, Path]) -> None:
    volumes, _ = roots
    pod = pod_with("a/b")
    volumes.setup(pod)
    base = volumes.volume_dir("uid-1", "v")
    os.symlink("a", base / "alias")  # a symlink that stays inside is fine
    (mount,) = volumes.mounts(pod, pod.spec.containers[0])
    assert Path(mount.host_path) == base.resolve() / "a" / "b" and Path(mount.host_path).is_dir()
    (mount,) = volumes.mounts(pod_with("alias/b"), pod.spec.containers[0])
    assert Path(mount.host_path) == base.resolve() / "a" / "b"


def test_a_host_path_sub_path_stays_in_the_host_path(roots: tuple[VolumeManager, Path]) -> None:
    volumes, outside = roots
    host = outside / "shared"
    host.mkdir()
    pod = pod_with("../../root", hostPath={"path": str(host)})
    with pytest.raises(ContainerConfigError):
        volumes.mounts(pod, pod.spec.containers[0])

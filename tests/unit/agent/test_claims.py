"""The node's half of reclaimPolicy Delete: only Released local-path volumes pinned to this node,
and only directories inside the agent's volumes root, are ever removed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent.claims import reclaim_released_volumes
from kajitori.api.storage import PersistentVolume

NODE = "node1"


def volume(name: str, path: Path, *, node: str = NODE, phase: str = "Released", policy: str = "Delete",
           provisioner: str | None = "kajitori.io/local-path") -> PersistentVolume:  # fmt: skip
    return PersistentVolume.model_validate({
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner} if provisioner else None},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": policy,
                 "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}},
        "status": {"phase": phase},
    })  # fmt: skip


class Client:
    def __init__(self, volumes: list[PersistentVolume]) -> None:
        self.volumes = volumes
        self.deleted: list[str] = []

    def list(self, model: Any) -> Any:
        return SimpleNamespace(items=self.volumes)

    def delete(self, model: Any, name: str, namespace: str | None = None) -> None:
        self.deleted.append(name)


@pytest.mark.parametrize(
    ("kwargs", "inside", "removed"),
    [
        pytest.param({}, True, True, id="released-local-path-here"),
        pytest.param({"node": "node2"}, True, False, id="another-nodes"),
        pytest.param({"phase": "Bound"}, True, False, id="still-bound"),
        pytest.param({"policy": "Retain"}, True, False, id="retained"),
        pytest.param({"provisioner": None}, True, False, id="not-provisioned-by-us"),
        pytest.param({}, False, False, id="outside-the-volumes-root"),
    ],
)
def test_what_the_agent_removes(tmp_path: Path, kwargs: dict[str, Any], inside: bool, removed: bool) -> None:
    root = tmp_path / "volumes"
    directory = (root if inside else tmp_path / "elsewhere") / "pvc-1"
    directory.mkdir(parents=True)
    (directory / "data").write_text("keep me unless released")
    client = Client([volume("pvc-1", directory, **kwargs)])
    assert reclaim_released_volumes(client, NODE, root) == (["pvc-1"] if removed else [])  # type: ignore[arg-type]
    assert client.deleted == (["pvc-1"] if removed else [])
    assert directory.exists() is not removed


def test_the_root_itself_is_never_removed(tmp_path: Path) -> None:
    root = tmp_path / "volumes"
    root.mkdir()
    client = Client([volume("pvc-root", root)])
    assert reclaim_released_volumes(client, NODE, root) == []  # type: ignore[arg-type]
    assert root.exists()

"""What `kajitori drain` decides for each pod of a node before it evicts anything (kubectl's filters)."""

from __future__ import annotations

from typing import Any

import pytest

from cli.node_maintenance_cmd import parse_duration, plan_drain
from cli.session import CliError


def pod(name: str, *, owner: str | None = "ReplicaSet", empty_dir: bool = False, phase: str = "Running") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "x", "uid": "u", "controller": True}]
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if empty_dir:
        spec["volumes"] = [{"name": "v", "emptyDir": {}}]
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


PODS = [pod("web"), pod("ds", owner="DaemonSet"), pod("bare", owner=None), pod("cache", empty_dir=True),
        pod("bare-cache", owner=None, empty_dir=True), pod("done", owner=None, empty_dir=True, phase="Succeeded")]  # fmt: skip


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_without_flags_only_replicated_pods_pass_and_every_refusal_names_its_pods() -> None:
    plan = plan_drain(PODS, ignore_daemonsets=False, delete_emptydir_data=False, force=False)
    assert plan.error_lines() == [
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/bare-cache, default/cache",
        "cannot delete Pods declare no controller (use --force to override): default/bare",
    ]
    assert names(plan.evict) == ["done", "web"]  # a finished pod goes whatever it is


def test_each_flag_lifts_its_refusal_into_a_warning() -> None:
    plan = plan_drain(PODS, ignore_daemonsets=True, delete_emptydir_data=True, force=True)
    assert plan.error_lines() == []
    assert plan.warning_lines() == [
        "ignoring DaemonSet-managed Pods: default/ds",
        "deleting Pods with local storage: default/bare-cache, default/cache",
        "deleting Pods that declare no controller: default/bare, default/bare-cache",
    ]
    assert names(plan.evict) == ["bare", "bare-cache", "cache", "done", "web"]  # never the DaemonSet's


def test_timeouts_read_like_kubectls() -> None:
    assert [parse_duration(t) for t in ("0", "0s", "90s", "2m", "1h30m", "500ms", "12")] == [0, 0, 90, 120, 5400, 0.5, 12]
    for bad in ("", "ten", "5d", "-1s"):
        with pytest.raises(CliError):
            parse_duration(bad)

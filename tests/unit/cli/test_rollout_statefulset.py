"""`kajitori rollout status statefulset/NAME` says what kubectl's StatefulSetStatusViewer says."""

from __future__ import annotations

from typing import Any

import pytest

from cli.rollout_cmd import statefulset_progress
from cli.session import CliError


def sts(*, generation: int = 2, observed: int = 2, replicas: int = 3, ready: int = 3, updated: int = 3,
        partition: int | None = 0, current: str = "web-b", update: str = "web-b") -> dict[str, Any]:  # fmt: skip
    strategy: dict[str, Any] = {"type": "RollingUpdate"}
    if partition is not None:
        strategy["rollingUpdate"] = {"partition": partition}
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": replicas, "updateStrategy": strategy},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": updated, "currentReplicas": updated,
                       "currentRevision": current, "updateRevision": update}}  # fmt: skip


@pytest.mark.parametrize(
    ("obj", "done", "message"),
    [
        pytest.param(sts(observed=1), False, "Waiting for statefulset spec update to be observed...", id="not-observed"),
        pytest.param(sts(ready=1), False, "Waiting for 2 pods to be ready...", id="not-ready"),
        pytest.param(sts(partition=1, updated=1), False, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", id="partition"),
        pytest.param(sts(), True, "partitioned roll out complete: 3 new pods have been updated...", id="partition-done"),
        pytest.param(sts(partition=None, current="web-a"), False, "waiting for statefulset rolling update to complete 3 pods at revision web-b...", id="rolling"),
        pytest.param(sts(partition=None), True, "statefulset rolling update complete 3 pods at revision web-b...", id="rolled"),
    ],
)
def test_statefulset_progress(obj: dict[str, Any], done: bool, message: str) -> None:
    assert statefulset_progress(obj) == (done, message)


def test_on_delete_has_no_rollout_status() -> None:
    with pytest.raises(CliError, match="only available for RollingUpdate"):
        statefulset_progress({"metadata": {"name": "web"}, "spec": {"updateStrategy": {"type": "OnDelete"}}, "status": {}})

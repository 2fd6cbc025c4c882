"""Hollow nodes end an annotated pod after its run time even when their own watch is late."""

from __future__ import annotations

import threading
import time
from typing import Any

from kajitori.api.core import Pod
from master.hollow_nodes import EXIT_CODE_ANNOTATION, HollowCluster


class RecordingClient:
    """Takes the status patches the hollow node writes."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def patch(self, _model: type, _name: str, body: dict[str, Any], _namespace: str | None = None, **_kw: Any) -> None:
        with self.lock:
            self.patches.append(body)


class LateCache:
    """A pod cache whose watch shows the pod Running only from the `late`-th look on."""

    def __init__(self, pod: Pod, late: int) -> None:
        self.pod, self.late, self.looks = pod, late, 0

    def get(self, _key: str) -> Pod:
        self.looks += 1
        shown = self.pod.model_copy(deep=True)
        shown.status.phase = "Running" if self.looks >= self.late else "Pending"
        return shown

    def stop(self) -> None:
        pass


def test_a_pod_ends_after_the_watch_catches_up_with_its_running_status() -> None:
    pod = Pod.model_validate({
        "metadata": {"name": "p", "namespace": "default", "uid": "u1", "annotations": {EXIT_CODE_ANNOTATION: "0"}},
        "spec": {"nodeName": "node-a", "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
    })  # fmt: skip
    client = RecordingClient()
    cluster = HollowCluster(client, ["node-a"])  # type: ignore[arg-type]
    cache = LateCache(pod, late=3)
    cluster.pods = cache  # type: ignore[assignment]
    try:
        cluster._exit_containers(pod)
        deadline = time.monotonic() + 10
        while not client.patches and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p["status"]["phase"] for p in client.patches] == ["Succeeded"]
        assert cache.looks >= 3
    finally:
        cluster.stop()

"""The pod workers run on the controllers' loop: a failed sync backs off, a later look is a Requeue."""

from __future__ import annotations

from typing import Any

from agent.pod_workers import PodWorkers
from agent.runtime import ContainerRuntimeError
from kajitori.api.core import Pod


class OnePodCache:
    def __init__(self, pod: Pod) -> None:
        self.pod = pod

    def add_index(self, name: str, func: Any) -> None:
        pass

    def get(self, key: str) -> Pod | None:
        return self.pod if key == "default/web" else None


class ScriptedSyncer:
    def __init__(self, *outcomes: float | Exception | None) -> None:
        self.outcomes = list(outcomes)

    def sync(self, pod: Pod) -> float | None:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def workers_with(*outcomes: float | Exception | None) -> PodWorkers:
    pod = Pod.model_validate({"metadata": {"name": "web", "namespace": "default"}, "spec": {"containers": [{"name": "app", "image": "kajitori/busybox:1"}]}})
    return PodWorkers(ScriptedSyncer(*outcomes), OnePodCache(pod), workers=1)  # type: ignore[arg-type]


def test_a_sync_the_runtime_fails_backs_off_and_a_later_success_forgets_it() -> None:
    workers = workers_with(ContainerRuntimeError("dockerd is gone"), ContainerRuntimeError("still gone"), 5.0)
    workers.controller.process("default/web")
    workers.controller.process("default/web")
    assert workers.queue.failures("default/web") == 2
    workers.controller.process("default/web")  # succeeds, and asks for a look in 5 s
    assert workers.queue.failures("default/web") == 0
    assert len(workers.queue) == 0  # not due yet: waiting, not ready


def test_a_pod_gone_from_the_cache_needs_no_sync() -> None:
    workers = workers_with()
    workers.controller.process("default/gone")
    assert workers.queue.failures("default/gone") == 0

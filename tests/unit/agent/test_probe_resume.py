"""Probes of a container adopted after an agent restart resume from its reported status."""

from __future__ import annotations

import pytest

from agent.fake_runtime import FakeRuntime
from agent.probes import ProbeManager, Prober, ProbeTarget
from agent.runtime import ContainerId
from kajitori.api.core import Container


@pytest.mark.parametrize(
    ("was_ready", "was_started", "expected"),
    [
        pytest.param(False, False, (False, False), id="new-container-starts-unready"),
        pytest.param(True, True, (True, True), id="adopted-ready-container-stays-ready"),
    ],
)
def test_probe_state_before_the_first_probe(was_ready: bool, was_started: bool, expected: tuple[bool, bool]) -> None:
    # Probes far in the future: only the initial results are seen.
    never = {"exec": {"command": ["true"]}, "initialDelaySeconds": 3600}
    container = Container.model_validate({"name": "web", "image": "nginx", "readinessProbe": never, "startupProbe": never})
    manager = ProbeManager(Prober(FakeRuntime()), lambda _key: None)
    target = ProbeTarget(pod_key="default/web", pod_uid="u1", pod_ip="10.244.1.2", container=container,
                         container_id=ContainerId("c1"), started_at=None, was_ready=was_ready, was_started=was_started)
    manager.ensure(target)
    try:
        state = manager.state(container, ContainerId("c1"))
        assert (state.ready, state.started) == expected
    finally:
        manager.forget_container(ContainerId("c1"))

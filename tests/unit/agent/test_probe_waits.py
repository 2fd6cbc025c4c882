"""A probe's seconds come from the pod: however large, they are waits, never what ends its thread.

The models hold the probe fields to int32 now; these run the prober and a probe worker
with 2**62 (as an older master or a hand-made object could still carry) to show the
agent itself does not depend on that.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agent.fake_runtime import FakeRuntime
from agent.probes import MAX_PROBE_WAIT_S, ProbeKind, ProbeManager, Prober, ProbeTarget, _Worker
from agent.runtime import ContainerId
from kajitori.api.core import Container, Probe

HUGE = 2**62


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def target(probe: Probe) -> ProbeTarget:
    container = Container.model_validate({"name": "web", "image": "nginx"}).model_copy(update={"livenessProbe": probe})
    return ProbeTarget(pod_key="default/web", pod_uid="u1", pod_ip="127.0.0.1", container=container,
                       container_id=ContainerId("c1"), started_at=None)  # fmt: skip


def test_a_tcp_probe_with_a_timeout_of_2_to_the_62_seconds_connects(listener: int) -> None:
    probe = Probe.model_validate({"tcpSocket": {"port": listener}}).model_copy(update={"timeoutSeconds": HUGE})
    assert Prober(FakeRuntime(), network=True).run(probe, target(probe)) == (True, "")


class RecordedStop(threading.Event):
    """The worker's stop event: records each wait and then stops it, so its loop runs once here."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.set()
        return True


@pytest.mark.parametrize("field", ["initialDelaySeconds", "periodSeconds"])
def test_a_probe_waits_at_most_a_day(field: str) -> None:
    probe = Probe.model_validate({"exec": {"command": ["true"]}}).model_copy(update={field: HUGE})
    worker = _Worker(ProbeManager(Prober(FakeRuntime()), lambda _key: None), ProbeKind.LIVENESS, probe, target(probe))
    stop = worker._stop = RecordedStop()
    worker._run()  # what its thread runs; an Event.wait of 2**62 s raised OverflowError there
    assert stop.waits and max(stop.waits) <= MAX_PROBE_WAIT_S

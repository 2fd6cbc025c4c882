"""The event TTL loop deletes an Event once it is older than the TTL, and not before."""

from __future__ import annotations

import pytest

from kajitori.api.core import Event
from kajitori.clock import FakeClock, format_time
from kajitori.controller import Requeue
from master.controllers.context import LoopContext
from master.controllers.event_ttl import EventTTLController
from master.settings import ControllerSettings
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder, fake


def make(clock: FakeClock) -> tuple[EventTTLController, RecordingClient]:
    client = RecordingClient()
    ctx = LoopContext(
        client=client,
        informers=FakeInformers(),
        recorder=RecordingRecorder(),
        clock=clock,
        settings=ControllerSettings(event_ttl_s=3600),
    )
    return EventTTLController(ctx), client


def event(name: str, last: float) -> Event:
    return Event.model_validate(
        {
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "lastTimestamp": format_time(last),
        }
    )


@pytest.mark.parametrize(
    ("age_s", "deleted"),
    [pytest.param(10, False, id="fresh"), pytest.param(3599, False, id="just-young"), pytest.param(3601, True, id="expired")],
)
def test_event_is_deleted_only_past_the_ttl(age_s: float, deleted: bool) -> None:
    clock = FakeClock()
    loop, client = make(clock)
    fake(loop.events).add(event("e", clock.time() - age_s))
    if deleted:
        loop.reconcile("default/e")
        assert client.writes == [("delete", "Event", "e", {"uid": "uid-e"})]
    else:
        with pytest.raises(Requeue) as wait:
            loop.reconcile("default/e")
        assert wait.value.after_s == pytest.approx(3600 - age_s, abs=1)
        assert client.writes == []


def test_a_gone_event_needs_nothing() -> None:
    loop, client = make(FakeClock())
    loop.reconcile("default/missing")
    assert client.writes == []

"""What every loop of the master is built from: the client, the shared informers, events, the clock, settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from kajitori.clock import Clock
from kajitori.seams import ApiWriter, InformerSource, Recorder
from master.settings import ControllerSettings


@dataclass
class LoopContext:
    client: ApiWriter
    """The API client (``kajitori.client.ApiClient``, or a recording fake in unit tests)."""
    informers: InformerSource
    """The shared informer source: ``informers.informer(Pod)`` (``InformerFactory`` or a fake)."""
    recorder: Recorder
    """The event recorder (``kajitori.events.EventRecorder`` or a fake)."""
    clock: Clock = field(default_factory=Clock)
    """Wall and monotonic time; tests pass a ``FakeClock``."""
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    """Grace periods, timeouts, worker counts."""

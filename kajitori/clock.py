"""Time as the API writes it (RFC 3339, UTC, whole seconds), behind a clock that tests replace."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """The real clock. Tests pass a ``FakeClock`` instead of sleeping."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def rfc3339(self, offset_seconds: float = 0) -> str:
        return format_time(self.time() + offset_seconds)


class FakeClock(Clock):
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 0.0

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


# The last second RFC 3339 can write: a grace period of 2^62 s ends there, not in an OSError.
_LAST_SECOND = 253402300799.0  # 9999-12-31T23:59:59Z


def format_time(ts: float) -> str:
    return datetime.fromtimestamp(min(max(ts, 0.0), _LAST_SECOND), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class ScaledClock(Clock):
    """A clock whose wall time runs ``speed`` times faster than another's from the moment it is made.

    For tests of schedules against a real master (``--cronjob-clock-speed 60``: a minute a
    second); never for production, where CronJobs use the real clock.
    """

    def __init__(self, base: Clock, speed: float) -> None:
        self.base = base
        self.speed = speed
        self._origin = base.time()
        self._mono_origin = base.monotonic()

    def time(self) -> float:
        return self._origin + (self.base.time() - self._origin) * self.speed

    def monotonic(self) -> float:
        return self._mono_origin + (self.base.monotonic() - self._mono_origin) * self.speed

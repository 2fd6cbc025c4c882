"""Cron schedules as a CronJob writes them: parse once, then ask for the next start time after an instant.

The syntax is the five-field one Kubernetes accepts (robfig/cron's standard parser):
minute, hour, day of month, month, day of week; each field a ``*``, a number, a range
``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n`` (from a to the field's end), or a comma
list of those; months and days of the week also by their three-letter English names
(``jan``, ``mon``; any case); ``?`` means ``*``. The macros ``@yearly``/``@annually``,
``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and ``@hourly`` stand for their
five fields. As cron does, when both day fields are restricted a day matching either
runs; when one is ``*`` only the other decides.

Times are wall-clock times in a time zone (zoneinfo; UTC when none is given). Around
DST changes, as robfig/cron: a wall time the clocks skip does not run that day, and a
wall time that happens twice (clocks set back) runs at both instants. ``next_after``
searches at most five years ahead and answers None past that (``0 0 30 2 *``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
DAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
SEARCH_YEARS = 5
REPEAT_LOOKAHEAD_S = 4 * 3600  # longer than any zone's setting back of its clocks (Troll: 2 h)


class ScheduleError(ValueError):
    """A schedule that does not parse; the message says which part and why."""


class TimeZoneError(ValueError):
    """A time zone name the zoneinfo database does not know."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("day of week", 0, 6, DAYS),
)


def _number(text: str, field: _Field) -> int:
    if field.names and text.lower() in field.names:
        return field.names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}: invalid syntax")
    return int(text)


def _parse_field(text: str, field: _Field) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is unrestricted (a ``*`` or ``?`` without step)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_text, _, step_text = part.partition("/")
        if not range_text:
            raise ScheduleError(f"empty range in {field.name} field {text!r}")
        step = 1
        if step_text or part.endswith("/"):
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"invalid step {step_text!r} in {field.name} field")
            step = int(step_text)
        if range_text in ("*", "?"):
            low, high = field.low, field.high
            star = star or step == 1
        else:
            low_text, dash, high_text = range_text.partition("-")
            low = _number(low_text, field)
            # "a/n" runs from a to the field's end, as robfig/cron.
            high = _number(high_text, field) if dash else (field.high if step_text else low)
        if low < field.low or high > field.high:
            raise ScheduleError(f"{field.name} out of range ({field.low}-{field.high}): {range_text}")
        if low > high:
            raise ScheduleError(f"beginning of range ({low}) beyond end of range ({high}): {range_text}")
        values.update(range(low, high + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    """The day-of-month field is ``*``."""
    any_weekday: bool
    """The day-of-week field is ``*``."""
    zone: ZoneInfo

    def day_matches(self, t: datetime) -> bool:
        day = t.day in self.days
        weekday = (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def next_after(self, after: float) -> float | None:
        """The first start time strictly after ``after`` (seconds since the epoch), or None within five years."""
        # Walk wall-clock times of the zone from `after`'s own. When the clocks are about to
        # be set back, the wall times just before it happen again (fold=1) after `after`:
        # start that much earlier so that their second pass is not stepped over.
        here = datetime.fromtimestamp(after, self.zone)
        soon = datetime.fromtimestamp(after + REPEAT_LOOKAHEAD_S, self.zone)
        repeated = max(timedelta(0), (here.utcoffset() or timedelta(0)) - (soon.utcoffset() or timedelta(0)))
        start = here.replace(tzinfo=None, second=0, microsecond=0) - repeated
        t = start
        limit = start + timedelta(days=366 * SEARCH_YEARS)
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self.day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            instants = [i for i in self._instants(t) if i > after]
            if instants:
                return min(instants)
            t += timedelta(minutes=1)
        return None

    def _instants(self, wall: datetime) -> list[float]:
        """The instants a wall time of the zone names: none (skipped), one, or two (repeated)."""
        found = set()
        for fold in (0, 1):
            aware = wall.replace(tzinfo=self.zone, fold=fold)
            instant = aware.timestamp()
            if datetime.fromtimestamp(instant, self.zone).replace(tzinfo=None) == wall:
                found.add(instant)
        return sorted(found)


def load_zone(name: str | None) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeZoneError(f'unknown time zone "{name}"') from exc


def parse(text: str, time_zone: str | None = None) -> Schedule:
    """A schedule from its text (five fields or a macro) in ``time_zone``; ScheduleError/TimeZoneError if bad."""
    zone = load_zone(time_zone)
    spec = text.strip()
    if spec.upper().startswith(("TZ=", "CRON_TZ=")):
        # Kubernetes refuses these: the zone belongs in spec.timeZone.
        raise ScheduleError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    if spec.startswith("@"):
        if spec.lower() not in MACROS:
            raise ScheduleError(f"unrecognized descriptor: {spec}")
        spec = MACROS[spec.lower()]
    parts = spec.split()
    if len(parts) != len(FIELDS):
        raise ScheduleError(f"expected exactly 5 fields, found {len(parts)}: {text!r}")
    parsed = [_parse_field(part, field) for part, field in zip(parts, FIELDS, strict=True)]
    return Schedule(
        minutes=parsed[0][0],
        hours=parsed[1][0],
        days=parsed[2][0],
        months=parsed[3][0],
        weekdays=parsed[4][0],
        any_day=parsed[2][1],
        any_weekday=parsed[4][1],
        zone=zone,
    )


def utc(text: str) -> float:
    """Seconds since the epoch of an ISO time (tests and tables write times this way)."""
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()

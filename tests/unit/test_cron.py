"""Cron schedules: the next start times after an instant, macros, names, time zones and DST; bad schedules."""

from __future__ import annotations

from datetime import datetime

import pytest

from kajitori import cron
from kajitori.api.batch import CronJob


def next_times(schedule: str, after: str, zone: str | None = None, count: int = 3) -> list[str]:
    parsed = cron.parse(schedule, zone)
    t, out = cron.utc(after), []
    for _ in range(count):
        nxt = parsed.next_after(t)
        assert nxt is not None
        out.append(datetime.fromtimestamp(nxt, parsed.zone).isoformat())
        t = nxt
    return out


@pytest.mark.parametrize(
    ("schedule", "after", "zone", "expected"),
    [
        pytest.param("* * * * *", "2024-01-01T00:00:30+00:00", None,
                     ["2024-01-01T00:01:00+00:00", "2024-01-01T00:02:00+00:00", "2024-01-01T00:03:00+00:00"], id="every-minute-strictly-after"),
        pytest.param("*/15 * * * *", "2024-01-01T00:15:00+00:00", None,
                     ["2024-01-01T00:30:00+00:00", "2024-01-01T00:45:00+00:00", "2024-01-01T01:00:00+00:00"], id="step"),
        pytest.param("5-10/5,50 3 * * *", "2024-01-01T00:00:00+00:00", None,
                     ["2024-01-01T03:05:00+00:00", "2024-01-01T03:10:00+00:00", "2024-01-01T03:50:00+00:00"], id="range-step-list"),
        pytest.param("50/5 * * * *", "2024-01-01T00:00:00+00:00", None,
                     ["2024-01-01T00:50:00+00:00", "2024-01-01T00:55:00+00:00", "2024-01-01T01:50:00+00:00"], id="start-slash-step"),
        pytest.param("0 9 * JAN-mar Mon-FRI", "2024-03-29T10:00:00+00:00", None,
                     ["2025-01-01T09:00:00+00:00", "2025-01-02T09:00:00+00:00", "2025-01-03T09:00:00+00:00"], id="names"),
        pytest.param("0 0 13 * fri", "2024-09-12T00:00:00+00:00", None,
                     ["2024-09-13T00:00:00+00:00", "2024-09-20T00:00:00+00:00", "2024-09-27T00:00:00+00:00"], id="both-days-either"),
        pytest.param("0 0 */10 * *", "2024-01-25T00:00:00+00:00", None,
                     ["2024-01-31T00:00:00+00:00", "2024-02-01T00:00:00+00:00", "2024-02-11T00:00:00+00:00"], id="dom-step"),
        pytest.param("0 0 29 2 *", "2024-03-01T00:00:00+00:00", None,
                     ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"], id="leap-day"),
        pytest.param("@yearly", "2024-06-01T00:00:00+00:00", None,
                     ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"], id="yearly"),
        pytest.param("@annually", "2024-06-01T00:00:00+00:00", None,
                     ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"], id="annually"),
        pytest.param("@monthly", "2024-01-31T12:00:00+00:00", None,
                     ["2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00", "2024-04-01T00:00:00+00:00"], id="monthly"),
        pytest.param("@weekly", "2024-01-01T00:00:00+00:00", None,
                     ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00", "2024-01-21T00:00:00+00:00"], id="weekly-sundays"),
        pytest.param("@daily", "2024-01-01T00:00:00+00:00", None,
                     ["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"], id="daily"),
        pytest.param("@midnight", "2024-01-01T23:59:00+00:00", None,
                     ["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00"], id="midnight"),
        pytest.param("@hourly", "2024-01-01T00:00:00+00:00", None,
                     ["2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00", "2024-01-01T03:00:00+00:00"], id="hourly"),
        pytest.param("0 9 * * *", "2023-12-31T12:00:00+00:00", "Asia/Tokyo",
                     ["2024-01-01T09:00:00+09:00", "2024-01-02T09:00:00+09:00", "2024-01-03T09:00:00+09:00"], id="time-zone"),
        pytest.param("30 2 * * *", "2024-03-09T00:00:00+00:00", "America/New_York",
                     ["2024-03-09T02:30:00-05:00", "2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"], id="dst-skipped-wall-time-does-not-run"),
        pytest.param("0 * * * *", "2024-11-03T04:30:00+00:00", "America/New_York",
                     ["2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"], id="dst-repeated-hour-runs-twice"),
        pytest.param("0 * * * *", "2024-11-03T05:30:00+00:00", "America/New_York",
                     ["2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00", "2024-11-03T03:00:00-05:00"], id="dst-second-pass-of-an-earlier-wall-time"),
        pytest.param("0 3 * * *", "2024-03-30T12:00:00+00:00", "Europe/Berlin",
                     ["2024-03-31T03:00:00+02:00", "2024-04-01T03:00:00+02:00", "2024-04-02T03:00:00+02:00"], id="dst-after-the-jump"),
    ],
)  # fmt: skip
def test_next_times(schedule: str, after: str, zone: str | None, expected: list[str]) -> None:
    assert next_times(schedule, after, zone) == expected


def test_an_impossible_date_has_no_next_time() -> None:
    assert cron.parse("0 0 30 2 *").next_after(cron.utc("2024-01-01T00:00:00+00:00")) is None


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param("* * * *", id="four-fields"),
        pytest.param("* * * * * *", id="six-fields"),
        pytest.param("60 * * * *", id="minute-out-of-range"),
        pytest.param("* 24 * * *", id="hour-out-of-range"),
        pytest.param("* * 0 * *", id="day-zero"),
        pytest.param("* * * 13 *", id="month-13"),
        pytest.param("* * * * 7", id="weekday-7"),
        pytest.param("*/0 * * * *", id="step-zero"),
        pytest.param("5-1 * * * *", id="backwards-range"),
        pytest.param("x * * * *", id="not-a-number"),
        pytest.param("@every-so-often", id="unknown-macro"),
        pytest.param("TZ=UTC * * * * *", id="tz-prefix"),
    ],
)
def test_bad_schedules(schedule: str) -> None:
    with pytest.raises(cron.ScheduleError):
        cron.parse(schedule)


def test_unknown_time_zone() -> None:
    with pytest.raises(cron.TimeZoneError):
        cron.parse("* * * * *", "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"schedule": "61 * * * *"}, "spec.schedule", id="bad-schedule"),
        pytest.param({"schedule": "@fortnightly"}, "spec.schedule", id="bad-macro"),
        pytest.param({"timeZone": "Mars/Base"}, "spec.timeZone", id="unknown-zone"),
        pytest.param({"timeZone": ""}, "spec.timeZone", id="empty-zone"),
        pytest.param({"timeZone": "Local"}, "spec.timeZone", id="local-zone"),
    ],
)
def test_a_cronjob_names_the_bad_field(spec: dict[str, str], field: str) -> None:
    template = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}
    with pytest.raises(ValueError, match=f"{field}: Invalid value"):
        CronJob.model_validate({"metadata": {"name": "a"}, "spec": {"schedule": "* * * * *", "jobTemplate": template, **spec}})

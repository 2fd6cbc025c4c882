"""describe's layout: aligned `Key: value` blocks, titles breaking them, event ages and sections."""

from __future__ import annotations

from cli.describers import DescribeWriter, event_age, events_section
from kajitori.clock import format_time

NOW = 1_700_000_000.0


def test_fields_align_until_a_title() -> None:
    w = DescribeWriter()
    w.field(0, "Name", "web")
    w.mapping(0, "Labels", {"b": "2", "a": "1"})
    w.field(0, "IP", None)
    w.section(0, "Containers")
    w.section(1, "nginx")
    w.field(2, "Image", "nginx:1.22")
    w.field(3, "Started", "now")
    w.text(1, "free text")
    assert w.render().split("\n") == [
        "Name:    web",
        "Labels:  a=1",
        "         b=2",
        "IP:      <none>",
        "Containers:",
        "  nginx:",
        "    Image:      nginx:1.22",
        "      Started:  now",
        "  free text",
        "",
    ]


def test_event_age_counts_repeats() -> None:
    once = {"lastTimestamp": format_time(NOW - 10)}
    repeated = {"lastTimestamp": format_time(NOW - 10), "firstTimestamp": format_time(NOW - 600), "count": 4}
    assert event_age(once, NOW) == "10s"
    assert event_age(repeated, NOW) == "10s (x4 over 10m)"


def test_events_section() -> None:
    assert events_section([], NOW) == "Events:  <none>\n"
    event = {"type": "Warning", "reason": "BackOff", "lastTimestamp": format_time(NOW - 5), "message": "m",
             "source": {"component": "kubelet", "host": "node1"}}  # fmt: skip
    lines = events_section([event], NOW).split("\n")
    assert lines[0] == "Events:"
    assert lines[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[3].split() == ["Warning", "BackOff", "5s", "kubelet,", "node1", "m"]

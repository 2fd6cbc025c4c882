"""The watch stream is split on b"\\n" only: JSON carries U+2028, U+2029 and U+0085 raw."""

from __future__ import annotations

import orjson
import pytest

from kajitori.client import ndjson_lines

EVENT = orjson.dumps({"type": "ADDED", "object": {"metadata": {"annotations": {"a": "x\u2028y\u2029z\u0085w\rv"}}}})


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([EVENT + b"\n" + EVENT + b"\n"], id="one-chunk"),
        pytest.param([bytes([b]) for b in EVENT + b"\n" + EVENT + b"\n"], id="byte-by-byte"),
        pytest.param([EVENT[:7], EVENT[7:] + b"\n" + EVENT[:3], EVENT[3:]], id="split-no-final-newline"),
    ],
)
def test_events_survive_unicode_line_separators(chunks: list[bytes]) -> None:
    lines = list(ndjson_lines(chunks))
    assert lines == [EVENT, EVENT]
    assert orjson.loads(lines[0])["object"]["metadata"]["annotations"]["a"] == "x\u2028y\u2029z\u0085w\rv"

"""Quantities are bounded where they are parsed: no input makes the conversion slow or unbounded."""

from __future__ import annotations

import pytest

from kajitori.api.quantity import MAX_QUANTITY, cpu_millicores, memory_bytes, parse_quantity


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1e999999", id="huge-exponent"),
        pytest.param("1e999999999999", id="huger-exponent"),
        pytest.param("9223372036854775808", id="int64-plus-one"),
        pytest.param("8Ei", id="8Ei"),
        pytest.param(10**30, id="big-int"),
        pytest.param(1e308, id="big-float"),
        pytest.param("1e-999999", id="tiny"),
        pytest.param("1" * 65, id="too-long"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(None, id="null"),
        pytest.param([1], id="list"),
        pytest.param(True, id="bool"),
    ],
)
def test_out_of_range_or_malformed_quantities_are_refused_at_once(value: object) -> None:
    # (The old code converted "1e999999" after tens of seconds instead of refusing it.)
    with pytest.raises(ValueError):
        memory_bytes(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cpu_millicores(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "millicores", "bytes_"),
    [
        pytest.param("7Ei", 7 * 2**60 * 1000, 7 * 2**60, id="7Ei"),
        pytest.param(str(MAX_QUANTITY), MAX_QUANTITY * 1000, MAX_QUANTITY, id="int64-max"),
        pytest.param("0.1", 100, 1, id="fraction"),
        pytest.param("1m", 1, 1, id="milli"),
        pytest.param(2, 2000, 2, id="int"),
        pytest.param("0", 0, 0, id="zero"),
    ],
)
def test_quantities_kubernetes_takes_still_parse(value: str | int, millicores: int, bytes_: int) -> None:
    assert cpu_millicores(value) == millicores
    assert memory_bytes(value) == bytes_
    assert parse_quantity(value) >= 0

"""Resource quantities ("500m", "2", "128Mi", "1G") parsed to millicores and bytes, bounded.

A quantity is user input that the scheduler, the agent and status code turn into
integers, so it is bounded where it is parsed, as Kubernetes' ``resource.Quantity``
is: at most ``MAX_QUANTITY_CHARS`` characters and a value of at most
``MAX_QUANTITY`` (2^63 - 1) base units, checked on the exponent before any
arithmetic. Without that bound ``"1e999999"`` passes the regular expression and its
conversion to an integer holds the GIL for tens of seconds. ``Quantity`` is the
model field type: it accepts a string or a number, keeps the text, and refuses
anything else with a ValueError pydantic reports under the field's own path
(``spec.containers[0].resources.requests.memory``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

MAX_QUANTITY = 2**63 - 1  # base units (bytes, cores): Kubernetes' int64
MAX_QUANTITY_CHARS = 64
# 10^19 > 2^63; with the largest factor (2^60 ~ 10^18) a number past 10^40 can never fit.
_MAX_ADJUSTED_EXPONENT = 40
# Below 10^-40 the value rounds up to the smallest unit anyway; refusing it keeps Decimal cheap.
_MIN_ADJUSTED_EXPONENT = -40

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),  # metrics-server writes CPU usage in nanocores
    "u": Decimal("1e-6"),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_REGEX_TEXT = "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity as a number of base units; ValueError naming the value if malformed or out of range."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"quantity must be a string or a number, not {type(value).__name__}")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_QUANTITY_CHARS:
        raise ValueError(f"quantity {text[:MAX_QUANTITY_CHARS]!r}... is longer than {MAX_QUANTITY_CHARS} characters")
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"quantity {text!r} must match the regular expression {_REGEX_TEXT}")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        raise ValueError(f"quantity {text!r} is not a number") from None
    if number < 0:
        raise ValueError(f"quantity {text!r} must be greater than or equal to 0")
    if number == 0:
        return Decimal(0)
    exponent = number.adjusted()
    if exponent > _MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"quantity {text!r} is too large: at most {MAX_QUANTITY}")
    if exponent < _MIN_ADJUSTED_EXPONENT:
        raise ValueError(f"quantity {text!r} is too small a fraction")
    result = number * _FACTORS[match.group(2) or ""]
    if result > MAX_QUANTITY:
        raise ValueError(f"quantity {text!r} is too large: at most {MAX_QUANTITY}")
    return result


def cpu_millicores(value: str | int | float) -> int:
    """CPU quantity in millicores, rounded up like Kubernetes ("0.1" -> 100, "1m" -> 1)."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(value: str | int | float) -> int:
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def _checked(value: Any) -> Any:
    parse_quantity(value)  # raises ValueError with the value named
    return value if isinstance(value, str) else str(value)


# A model field holding a quantity: "500m", 2, 0.5 in; the text (as a string) kept.
Quantity = Annotated[str, BeforeValidator(_checked)]


def format_millicores(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_bytes(n: int) -> str:
    for suffix, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n % factor == 0 and n >= factor:
            return f"{n // factor}{suffix}"
    return str(n)

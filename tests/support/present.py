"""present(): a test's way to say an Optional value must be there (the API models and the
kubernetes client type most fields as Optional) and to narrow it for the type checker."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, failing the test where it is None."""
    assert value is not None
    return value

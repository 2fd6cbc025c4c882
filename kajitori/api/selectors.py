"""`labelSelector` and `fieldSelector` query strings: parsing and matching.

Label selector grammar (as kubectl sends it): terms separated by commas, each one of
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k``.
Field selectors support ``=``, ``==`` and ``!=`` on the fields the API documents
for filtering (metadata.name, metadata.namespace, spec.nodeName, status.phase, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kajitori.api.meta import check_label_value, check_qualified_name


class SelectorError(ValueError):
    """The selector string does not parse; the message says where."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present  # "!"


@dataclass(frozen=True)
class LabelQuery:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


_SET_TERM = re.compile(r"^\s*(!?)\s*([^\s=!(),]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise SelectorError(f"unbalanced parentheses in selector {text!r}")
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> LabelQuery:
    if not text or not text.strip():
        return LabelQuery()
    requirements = []
    for term in _split_terms(text):
        try:
            requirements.append(_parse_term(term))
        except ValueError as exc:
            raise SelectorError(f"unable to parse requirement {term.strip()!r}: {exc}") from None
    return LabelQuery(tuple(requirements))


def _parse_term(term: str) -> Requirement:
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = term.partition(op)
            key, value = key.strip(), value.strip()
            check_qualified_name(key)
            check_label_value(value)
            return Requirement(key, "!=" if op == "!=" else "=", (value,))
    match = _SET_TERM.match(term)
    if not match:
        raise ValueError("expected 'key', '!key', 'key=value', 'key!=value', 'key in (...)' or 'key notin (...)'")
    bang, key, op, values = match.groups()
    check_qualified_name(key)
    if op:
        if bang:
            raise ValueError("'!' may not be combined with in/notin")
        vals = tuple(v.strip() for v in values.split(",") if v.strip())
        for v in vals:
            check_label_value(v)
        return Requirement(key, op, vals)
    return Requirement(key, "!" if bang else "exists")


# Field selectors ---------------------------------------------------------------

FIELD_GETTERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name") or "",
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace") or "",
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName") or "",
    "status.phase": lambda o: (o.get("status") or {}).get("phase") or "",
    "spec.unschedulable": lambda o: str(bool((o.get("spec") or {}).get("unschedulable"))).lower(),
    "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name") or "",
    "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind") or "",
    "involvedObject.namespace": lambda o: (o.get("involvedObject") or {}).get("namespace") or "",
    "involvedObject.uid": lambda o: (o.get("involvedObject") or {}).get("uid") or "",
    "type": lambda o: o.get("type") or "",
}


@dataclass(frozen=True)
class FieldQuery:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((FIELD_GETTERS[f](obj) == v) == eq for f, eq, v in self.terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def value_of(self, field: str) -> str | None:
        """The value an equality term fixes for `field`, if any (lets the server narrow a list)."""
        for f, eq, v in self.terms:
            if f == field and eq:
                return v
        return None


def parse_field_selector(text: str | None) -> FieldQuery:
    if not text or not text.strip():
        return FieldQuery()
    terms = []
    for term in text.split(","):
        if not term.strip():
            continue
        for op in ("!=", "==", "="):
            if op in term:
                field, _, value = term.partition(op)
                field = field.strip()
                if field not in FIELD_GETTERS:
                    raise SelectorError(f'"{field}" is not a known field selector: only {", ".join(FIELD_GETTERS)}')
                terms.append((field, op != "!=", value.strip()))
                break
        else:
            raise SelectorError(f"invalid field selector term {term.strip()!r}: expected field=value or field!=value")
    return FieldQuery(tuple(terms))

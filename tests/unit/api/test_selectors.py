"""Label and field selector strings, as kubectl sends them."""

from __future__ import annotations

import pytest

from kajitori.api.meta import LabelSelector
from kajitori.api.selectors import SelectorError, parse_field_selector, parse_label_selector

LABELS = {"app": "web", "tier": "front", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        pytest.param("app=web", True, id="eq"),
        pytest.param("app==web", True, id="eqeq"),
        pytest.param("app!=web", False, id="neq"),
        pytest.param("app!=db", True, id="neq-other"),
        pytest.param("tier in (front, back)", True, id="in"),
        pytest.param("tier notin (front)", False, id="notin"),
        pytest.param("env", True, id="exists"),
        pytest.param("!env", False, id="not-exists"),
        pytest.param("!missing", True, id="not-exists-missing"),
        pytest.param("app=web,tier in (back)", False, id="and"),
        pytest.param("app=web,tier in (front,back),!missing", True, id="and-all"),
        pytest.param("", True, id="empty"),
    ],
)
def test_label_selector(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("bad", ["app=we b", "tier in (a", "!app in (x)", "a b c"])
def test_bad_label_selectors_are_refused(bad: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(bad)


def test_field_selector() -> None:
    obj = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "node1"}, "status": {"phase": "Running"}}
    assert parse_field_selector("spec.nodeName=node1").matches(obj)
    assert not parse_field_selector("spec.nodeName=node2").matches(obj)
    assert parse_field_selector("status.phase!=Pending,metadata.name=p").matches(obj)
    assert parse_field_selector("spec.nodeName=").matches({"metadata": {}, "spec": {}})
    with pytest.raises(SelectorError, match="not a known field selector"):
        parse_field_selector("spec.image=x")


def test_label_selector_object_round_trips_to_query() -> None:
    sel = LabelSelector.model_validate(
        {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}
    )
    assert sel.matches(LABELS)
    assert parse_label_selector(sel.to_query()).matches(LABELS)
    assert not sel.matches({"app": "web"})

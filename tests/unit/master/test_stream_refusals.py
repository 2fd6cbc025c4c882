"""A refused WebSocket upgrade is handed, once and for a while, to the SPDY retry of the same URL from the same client."""

from __future__ import annotations

from master.apiserver.errors import ApiError
from master.apiserver.stream_refusals import RecentRefusals


def test_a_refusal_is_recalled_once_by_the_same_client_and_url() -> None:
    now = [100.0]
    refusals = RecentRefusals(keep_s=30.0, clock=lambda: now[0])
    error = ApiError(404, "NotFound", 'container not found ("main")')
    refusals.remember("10.0.0.1", "/api/v1/namespaces/default/pods/p/exec?command=true", error)
    assert refusals.recall("10.0.0.2", "/api/v1/namespaces/default/pods/p/exec?command=true") is None
    assert refusals.recall("10.0.0.1", "/api/v1/namespaces/default/pods/p/exec?command=ls") is None
    assert refusals.recall("10.0.0.1", "/api/v1/namespaces/default/pods/p/exec?command=true") is error
    assert refusals.recall("10.0.0.1", "/api/v1/namespaces/default/pods/p/exec?command=true") is None


def test_an_old_refusal_is_forgotten() -> None:
    now = [100.0]
    refusals = RecentRefusals(keep_s=30.0, clock=lambda: now[0])
    refusals.remember("c", "/u", ApiError(400, "BadRequest", "x"))
    now[0] += 31
    assert refusals.recall("c", "/u") is None

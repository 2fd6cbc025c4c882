"""Bad query parameters answer 400 naming the parameter; a watch ends at its timeoutSeconds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from master.store import SQLiteStore
from tests.unit.master.inprocess import api_server

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, SQLiteStore]]:
    with api_server(tmp_path_factory.mktemp("query")) as pair:
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
        assert pair[0].post(PODS, json=pod).status_code == 201
        yield pair


@pytest.mark.parametrize(
    ("method", "path", "query", "parameter"),
    [
        pytest.param("GET", PODS, "resourceVersion=abc", "resourceVersion", id="list-rv"),
        pytest.param("GET", PODS, "resourceVersion=-1", "resourceVersion", id="list-rv-negative"),
        pytest.param("GET", f"{PODS}/p", "resourceVersion=abc", "resourceVersion", id="get-rv"),
        pytest.param("GET", PODS, "watch=true&timeoutSeconds=2&resourceVersion=abc", "resourceVersion", id="watch-rv"),
        pytest.param("GET", PODS, "limit=-1", "limit", id="limit-negative"),
        pytest.param("GET", PODS, "limit=ten", "limit", id="limit-word"),
        pytest.param("GET", PODS, "timeoutSeconds=x", "timeoutSeconds", id="list-timeout"),
        pytest.param("GET", PODS, "watch=true&timeoutSeconds=x", "timeoutSeconds", id="watch-timeout"),
        pytest.param("GET", PODS, "watch=true&timeoutSeconds=-5", "timeoutSeconds", id="watch-timeout-negative"),
        pytest.param("GET", PODS, "resourceVersion=1&resourceVersionMatch=Newest", "resourceVersionMatch", id="match-unknown"),
        pytest.param("GET", PODS, "resourceVersionMatch=Exact", "resourceVersionMatch", id="match-without-rv"),
        pytest.param("GET", PODS, "resourceVersion=0&resourceVersionMatch=Exact", "resourceVersionMatch", id="match-exact-0"),
        pytest.param("GET", PODS, "watch=true&timeoutSeconds=2&resourceVersion=1&resourceVersionMatch=Exact", "resourceVersionMatch", id="match-on-watch"),
        pytest.param("GET", PODS, "limit=1&continue=x&resourceVersion=5", "resourceVersion", id="continue-with-rv"),
        pytest.param("POST", PODS, "dryRun=Maybe", "dryRun", id="dry-run-create"),
        pytest.param("DELETE", f"{PODS}/p", "dryRun=Maybe", "dryRun", id="dry-run-delete"),
        pytest.param("PATCH", f"{PODS}/p", "dryRun=Maybe", "dryRun", id="dry-run-patch"),
    ],
)
def test_bad_parameter_is_400_naming_it(server: tuple[TestClient, SQLiteStore], method: str, path: str, query: str, parameter: str) -> None:
    http, _ = server
    headers = {"content-type": "application/merge-patch+json"}
    r = http.request(method, f"{path}?{query}", content=b"{}", headers=headers)
    assert r.status_code == 400, r.text
    status = r.json()
    assert status["reason"] == "BadRequest" and status["message"].startswith(f"{parameter}: ")
    assert [c["field"] for c in status["details"]["causes"]] == [parameter]


def test_good_parameters_still_answer(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    for query in ("resourceVersion=0", "resourceVersion=", f"resourceVersion={store.revision}", "limit=0", "timeoutSeconds=5", "dryRun="):
        assert http.get(f"{PODS}?{query}").status_code == 200, query


def test_watch_ends_at_its_timeout_seconds(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    start = time.monotonic()
    with http.stream("GET", PODS, params={"watch": "true", "resourceVersion": str(store.revision), "timeoutSeconds": "1"}) as r:
        assert r.status_code == 200
        assert [line for line in r.iter_lines() if line] == []  # nothing happened; the server closed the stream
    assert time.monotonic() - start < 30  # ended by the server, long before the 30-minute default


def test_watch_of_one_named_object(server: tuple[TestClient, SQLiteStore]) -> None:
    """``GET pods/NAME?watch=true`` is a watch of that object, as in Kubernetes."""
    http, _ = server
    with http.stream("GET", f"{PODS}/p", params={"watch": "true", "timeoutSeconds": "1"}) as r:
        events = [orjson.loads(line) for line in r.iter_lines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "p")]

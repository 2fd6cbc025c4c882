"""``limit``/``continue`` pages are a snapshot at the first page's revision; expired tokens answer 410."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from master.apiserver.paging import EXPIRED_CONTINUE, decode_continue, encode_continue
from master.store import SQLiteStore
from tests.unit.master.inprocess import api_server

CM = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"set": "page"}}, "data": {"v": value}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore]]:
    with api_server(tmp_path) as (http, store):
        for i in range(12):
            assert http.post(CM, json=configmap(f"c{i:02}")).status_code == 201
        yield http, store


def names(body: dict[str, Any]) -> list[str]:
    return [i["metadata"]["name"] for i in body["items"]]


def all_pages(http: TestClient, path: str, limit: int, **params: str) -> list[dict[str, Any]]:
    pages = [http.get(path, params={"limit": str(limit), **params}).json()]
    while token := pages[-1]["metadata"].get("continue"):
        r = http.get(path, params={"limit": str(limit), "continue": token, **params})
        assert r.status_code == 200, r.text
        pages.append(r.json())
    return pages


def test_three_pages_of_five_with_remaining_counts(server: tuple[TestClient, SQLiteStore]) -> None:
    http, _ = server
    pages = all_pages(http, CM, 5)
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    assert [p["metadata"].get("remainingItemCount") for p in pages] == [7, 2, None]
    assert [n for p in pages for n in names(p)] == [f"c{i:02}" for i in range(12)]
    assert len({p["metadata"]["resourceVersion"] for p in pages}) == 1
    assert "continue" not in pages[-1]["metadata"]


def test_later_pages_show_the_first_pages_snapshot(server: tuple[TestClient, SQLiteStore]) -> None:
    http, _ = server
    first = http.get(CM, params={"limit": "5"}).json()
    # After the first page: one object changes, one goes, one arrives, one before the cursor goes.
    http.patch(f"{CM}/c07", json={"data": {"v": "changed"}}, headers={"content-type": "application/merge-patch+json"})
    http.delete(f"{CM}/c08")
    http.post(CM, json=configmap("c99"))
    http.delete(f"{CM}/c01")
    rest = http.get(CM, params={"limit": "100", "continue": first["metadata"]["continue"]}).json()
    assert names(rest) == [f"c{i:02}" for i in range(5, 12)]
    assert [i["data"]["v"] for i in rest["items"]] == ["1"] * 7
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    fresh = http.get(CM).json()
    assert "c99" in names(fresh) and "c08" not in names(fresh)


def test_selectors_page_the_matching_objects_without_a_remaining_count(server: tuple[TestClient, SQLiteStore]) -> None:
    http, _ = server
    http.post(CM, json={"metadata": {"name": "other"}})
    pages = all_pages(http, CM, 5, labelSelector="set=page")
    assert [n for p in pages for n in names(p)] == [f"c{i:02}" for i in range(12)]
    assert all("remainingItemCount" not in p["metadata"] for p in pages)


def test_pages_in_a_meta_table(server: tuple[TestClient, SQLiteStore]) -> None:
    """kubectl get --chunk-size asks for Tables: the continue token rides in the Table's metadata."""
    http, _ = server
    accept = {"accept": "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"}
    first = http.get(CM, params={"limit": "5"}, headers=accept).json()
    assert first["kind"] == "Table" and len(first["rows"]) == 5 and first["metadata"]["remainingItemCount"] == 7
    second = http.get(CM, params={"limit": "5", "continue": first["metadata"]["continue"]}, headers=accept).json()
    assert [r["cells"][0] for r in second["rows"]] == [f"c{i:02}" for i in range(5, 10)]


def test_an_expired_token_is_410_with_kubernetes_words_and_an_inconsistent_token(tmp_path: Path) -> None:
    with api_server(tmp_path, history=5) as (http, _):
        for i in range(6):
            http.post(CM, json=configmap(f"c{i}"))
        first = http.get(CM, params={"limit": "2"}).json()
        for i in range(6):  # more writes than the history keeps
            http.post(CM, json=configmap(f"d{i}"))
        r = http.get(CM, params={"limit": "2", "continue": first["metadata"]["continue"]})
        assert r.status_code == 410
        status = r.json()
        assert (status["reason"], status["message"]) == ("Expired", EXPIRED_CONTINUE)
        # That token goes on from now, past the same key: the list continues, inconsistently.
        rest = http.get(CM, params={"limit": "100", "continue": status["metadata"]["continue"]}).json()
        assert names(rest) == ["c2", "c3", "c4", "c5", "d0", "d1", "d2", "d3", "d4", "d5"]


@pytest.mark.parametrize("token", ["garbage", encode_continue(1, "x")[:-3], "eyJ2IjoibWV0YS5rOHMuaW8vdjIifQ"])
def test_a_token_this_server_did_not_make_is_400(server: tuple[TestClient, SQLiteStore], token: str) -> None:
    http, _ = server
    r = http.get(CM, params={"limit": "5", "continue": token})
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest"


def test_token_round_trip() -> None:
    assert decode_continue(encode_continue(42, "/core/pods/default/web")) == (42, "/core/pods/default/web")


def test_resource_version_match(server: tuple[TestClient, SQLiteStore]) -> None:
    http, store = server
    then = str(store.revision)
    http.delete(f"{CM}/c00")
    http.patch(f"{CM}/c01", json={"data": {"v": "2"}}, headers={"content-type": "application/merge-patch+json"})
    exact = http.get(CM, params={"resourceVersion": then, "resourceVersionMatch": "Exact"}).json()
    assert exact["metadata"]["resourceVersion"] == then
    assert names(exact)[:2] == ["c00", "c01"] and exact["items"][1]["data"]["v"] == "1"
    newer = http.get(CM, params={"resourceVersion": then, "resourceVersionMatch": "NotOlderThan"}).json()
    assert newer["metadata"]["resourceVersion"] == str(store.revision) and "c00" not in names(newer)
    legacy = http.get(CM, params={"resourceVersion": then}).json()  # no match: not older than
    assert legacy["metadata"]["resourceVersion"] == str(store.revision)
    future = http.get(CM, params={"resourceVersion": str(store.revision + 10), "resourceVersionMatch": "NotOlderThan"})
    assert future.status_code == 504 and "Too large resource version" in future.json()["message"]


def test_resource_version_match_too_old_is_410(tmp_path: Path) -> None:
    with api_server(tmp_path, history=3) as (http, store):
        then = str(store.revision)
        for i in range(5):
            http.post(CM, json=configmap(f"c{i}"))
        r = http.get(CM, params={"resourceVersion": then, "resourceVersionMatch": "Exact"})
        assert r.status_code == 410 and r.json()["reason"] == "Expired"

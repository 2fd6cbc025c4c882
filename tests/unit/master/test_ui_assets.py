"""The web view's files (master.ui): served from the package without credentials, with a
type a browser runs, and nothing but them; the API beside them still wants a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from master.apiserver.app import ServerState, create_app
from master.apiserver.auth import Tokens
from master.apiserver.resources import ResourceAPI
from master.store import SQLiteStore
from master.ui import install


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = SQLiteStore(tmp_path_factory.mktemp("ui") / "state.db")
    app = create_app(ServerState(store=store, api=ResourceAPI(store), tokens=Tokens(admin="admin-token")))
    install(app)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        pytest.param("/ui/", "text/html", id="index"),
        pytest.param("/ui/index.html", "text/html", id="index-by-name"),
        pytest.param("/ui/app.js", "text/javascript", id="module"),
        pytest.param("/ui/style.css", "text/css", id="style"),
    ],
)
def test_files_are_served_without_a_token(client: TestClient, path: str, media_type: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media_type)
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_shipped_script_is_a_module_the_index_reaches(client: TestClient) -> None:
    static = Path(__file__).resolve().parents[3] / "master" / "ui" / "static"
    for script in static.glob("*.js"):
        assert client.get(f"/ui/{script.name}").status_code == 200, script.name
    assert '<script type="module" src="app.js">' in client.get("/ui/").text


def test_ui_without_slash_redirects(client: TestClient) -> None:
    answer = client.get("/ui", follow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["location"] == "/ui/"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/ui/nothing.js", id="unknown-file"),
        pytest.param("/ui/%2e%2e/api/v1/secrets", id="encoded-dot-dot"),
        pytest.param("/ui/static/app.js", id="folder"),
        pytest.param("/ui/__init__.py", id="package-source"),
    ],
)
def test_only_shipped_files_are_served(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json()["kind"] == "Status"
    assert answer.json()["reason"] == "NotFound"


def test_the_api_beside_the_files_still_wants_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/pods").status_code == 401
    assert client.get("/uix/app.js").status_code == 401  # only /ui/ itself is public, not every path starting so
    assert client.get("/api/v1/pods", headers={"Authorization": "Bearer admin-token"}).status_code == 200

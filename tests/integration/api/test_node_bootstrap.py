"""Node bootstrap against a real master: bootstrap tokens (``kajitori token``), what they
authenticate as, and their expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kajitori import bootstrap_token
from kajitori.api.registry import by_kind
from kajitori.client import ApiClient
from tests.support.cli import invoker
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

SECRETS = by_kind("v1", "Secret")


def whoami(master: MasterProcess, token: str) -> httpx.Response:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    return httpx.post(
        f"{master.url}/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=master.tls(),
    )


def user_info(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()["status"]["userInfo"]  # type: ignore[no-any-return]


def test_kajitori_token_create_list_delete(master: MasterProcess) -> None:
    run = invoker(master)
    created = run("token", "create", "--ttl", "1h", "--description", "for node7")
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    assert bootstrap_token.TOKEN_RE.match(token), token
    listed = run("token", "list")
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith(token))
    assert line.split()[1] in ("59m", "1h") and "authentication,signing" in line and "for node7" in line
    assert "system:bootstrappers:kajitori:default-node-token" in line
    info = user_info(whoami(master, token))
    assert info["username"] == f"system:bootstrap:{token[:6]}"
    assert info["groups"] == ["system:bootstrappers", "system:bootstrappers:kajitori:default-node-token", "system:authenticated"]
    deleted = run("token", "delete", token[:6])
    assert deleted.exit_code == 0, deleted.output
    assert f'bootstrap token "{token[:6]}" deleted' in deleted.output
    assert whoami(master, token).status_code == 401


def test_an_expired_bootstrap_token_gets_401(master: MasterProcess, api: ApiClient) -> None:
    token = bootstrap_token.generate()
    past = datetime.now(UTC) - timedelta(minutes=1)
    api.create_raw(SECRETS, bootstrap_token.secret_manifest(token, expires=past), "kube-system")
    refused = whoami(master, str(token))
    assert refused.status_code == 401
    assert refused.json()["reason"] == "Unauthorized"
    fresh = bootstrap_token.generate()
    api.create_raw(SECRETS, bootstrap_token.secret_manifest(fresh, expires=datetime.now(UTC) + timedelta(minutes=5)), "kube-system")
    assert user_info(whoami(master, str(fresh)))["username"] == f"system:bootstrap:{fresh.id}"

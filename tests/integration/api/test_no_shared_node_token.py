"""No shared node token: a master writes none, and the one an older version left in its data dir is dead.

Masters before per-node certificates made a node token at first start (``tokens.json``'s
``node``), wrote it into ``node.kubeconfig`` at every start and bootstrapped a
``kajitori:legacy-node`` ClusterRole and binding giving its group broad rights. A real master is
given such a data dir (its files and its RBAC objects as that version left them) and started
again: the old token is answered 401 as any unknown token, ``node.kubeconfig`` is gone and not
written again, the token is no longer in ``tokens.json``, the old role and binding are removed;
the admin's token still works.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from kajitori import config
from kajitori.api.registry import by_name
from kajitori.client import AlreadyExistsError, NotFoundError
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

LEGACY = "kajitori:legacy-node"
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def status_with(master: MasterProcess, token: str, path: str = "/api/v1/nodes") -> int:
    return httpx.get(f"{master.url}{path}", headers={"Authorization": f"Bearer {token}"}, verify=master.tls(), timeout=20).status_code


def assert_no_legacy_rbac(master: MasterProcess) -> None:
    """Neither the shared token's ClusterRole nor its binding is in the store."""
    admin = master.client()
    try:
        for plural in ("clusterroles", "clusterrolebindings"):
            with pytest.raises(NotFoundError):
                admin.get_raw(by_name(plural), LEGACY)
    finally:
        admin.close()


def test_a_fresh_master_writes_no_node_token(tmp_path: Path) -> None:
    master = MasterProcess(tmp_path / "master").start()
    try:
        assert not (master.data_dir / "node.kubeconfig").exists()
        assert set(json.loads((master.data_dir / "tokens.json").read_text())) == {"admin"}
        assert_no_legacy_rbac(master)
    finally:
        master.stop()


def test_the_node_token_of_an_older_data_dir_no_longer_authenticates(tmp_path: Path) -> None:
    master = MasterProcess(tmp_path / "master").start()
    try:
        # What an older version bootstrapped into the store: the token's role and binding.
        admin = master.client()
        for plural, body in (
            ("clusterroles", {"rules": [{"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]}]}),
            ("clusterrolebindings", {
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": LEGACY},
                "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "kajitori:legacy-node-token"}],
            }),
        ):  # fmt: skip
            try:
                admin.create_raw(by_name(plural), {"metadata": {"name": LEGACY, "annotations": AUTOUPDATE}, **body})
            except AlreadyExistsError:
                pass  # an older master's own (what this test then runs on to prove it can fail)
        admin.close()
    finally:
        master.stop()
    # ... and into the data dir: the token beside the admin's, and its kubeconfig.
    tokens = master.data_dir / "tokens.json"
    admin_token = json.loads(tokens.read_text())["admin"]
    node_token = secrets.token_urlsafe(32)
    tokens.write_text(json.dumps({"admin": admin_token, "node": node_token}))
    legacy_kubeconfig = master.data_dir / "node.kubeconfig"
    config.write(legacy_kubeconfig, master.url, node_token, user="node", ca_pem=master.ca_file.read_bytes())

    master.start()
    try:
        assert status_with(master, node_token) == 401
        assert status_with(master, node_token, "/api/v1/nodes/n1/status") == 401
        assert status_with(master, admin_token) == 200
        assert not legacy_kubeconfig.exists()
        assert json.loads(tokens.read_text()) == {"admin": admin_token}
        assert_no_legacy_rbac(master)
    finally:
        master.stop()

"""kubeadm's cluster-info discovery against a real master: ``kube-public/cluster-info`` readable
without credentials, signed per bootstrap token by the bootstrap signer, and ``kajitori node join
--token ... --discovery-token-ca-cert-hash ...`` joining with no CA file (a wrong pin refused
before the token is used)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from kajitori import bootstrap_token, ca_pin, config, jws
from kajitori.api.registry import by_kind
from kajitori.client import NotFoundError
from tests.integration.api.test_node_bootstrap import new_token
from tests.support.cli import invoker
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
NODES = by_kind("v1", "Node")
SECRETS = by_kind("v1", "Secret")


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path_factory.mktemp("discovery") / "master").start()
    yield proc
    proc.stop()


def _anonymous(master: MasterProcess, path: str) -> httpx.Response:
    return httpx.get(f"{master.url}{path}", verify=master.tls(), timeout=30)


def test_cluster_info_is_readable_anonymously_and_signed_per_token(master: MasterProcess) -> None:
    token = bootstrap_token.parse(new_token(master))
    key = jws.KEY_PREFIX + token.id

    def signed() -> dict[str, str]:
        answer = _anonymous(master, CLUSTER_INFO)
        assert answer.status_code == 200, answer.text
        data: dict[str, str] = answer.json()["data"]
        return data if key in data else {}

    data = wait_for(signed, what="the token's JWS in cluster-info")
    assert jws.verify_detached(data[key], data["kubeconfig"].encode(), token.id, token.secret)
    assert not jws.verify_detached(data[key], data["kubeconfig"].encode() + b" ", token.id, token.secret)
    cluster = yaml.safe_load(data["kubeconfig"])["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == master.ca_file.read_bytes()
    assert cluster["server"] == master.url
    # Anonymous reads end there: any other object, and any write, is a 401.
    assert _anonymous(master, "/api/v1/namespaces/kube-public/configmaps").status_code == 401
    assert _anonymous(master, "/api/v1/namespaces/kube-system/configmaps/cluster-info").status_code == 401
    assert httpx.delete(f"{master.url}{CLUSTER_INFO}", verify=master.tls(), timeout=30).status_code == 401
    # A deleted token's signature goes.
    admin = master.client()
    admin.delete_raw(SECRETS, token.secret_name, "kube-system")
    wait_for(lambda: key not in _anonymous(master, CLUSTER_INFO).json()["data"], what="the deleted token's JWS removed")
    admin.close()


def test_join_with_only_the_pin_reads_the_ca_from_cluster_info(master: MasterProcess, tmp_path: Path) -> None:
    token = new_token(master)
    pin = ca_pin.ca_cert_hash(master.ca_file.read_bytes())
    out = tmp_path / "node.kubeconfig"
    run = invoker(master)
    wrong = run("node", "join", "--token", token, "--server", master.url, "--discovery-token-ca-cert-hash", "sha256:" + "0" * 64,
                "--node-name", "disc0", "--out", str(out), "--timeout", "60")  # fmt: skip
    assert wrong.exit_code == 1
    assert "cluster CA is not pinned" in wrong.output, wrong.output
    assert not out.exists()
    joined = run("node", "join", "--token", token, "--server", master.url, "--discovery-token-ca-cert-hash", pin,
                 "--node-name", "disc1", "--out", str(out), "--timeout", "60")  # fmt: skip
    assert joined.exit_code == 0, joined.output
    assert "node 'disc1' joined" in joined.output
    loaded = config.load(out)
    assert loaded.ca_pem == master.ca_file.read_bytes()
    with httpx.Client(verify=loaded.ssl_context(), timeout=30) as http:
        who = http.post(f"{master.url}/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})  # fmt: skip
    assert who.json()["status"]["userInfo"]["username"] == "system:node:disc1"
    try:
        master.client().delete_raw(NODES, "disc1")
    except NotFoundError:
        pass

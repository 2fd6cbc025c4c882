"""Node bootstrap against a real master with its controllers: bootstrap tokens (``kajitori
token``), ``kajitori node join --token`` through an auto-approved CertificateSigningRequest,
the certificate it gets (a node the Node authorizer limits), CSRs of another shape left
Pending until ``kubectl certificate approve`` (1.28, 1.32, 1.33), and renewal."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from agent.client_certificate import Rotation
from kajitori import bootstrap_token, config
from kajitori.api.registry import by_kind
from kajitori.certificate_request import csr_manifest, key_pem, new_key, request_pem
from kajitori.client import ApiClient, ApiError, NotFoundError
from tests.integration.agent.agent_process import AgentProcess
from tests.integration.api.test_kubectl_protobuf import kubectl_binary
from tests.support import pki
from tests.support.cli import invoker
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

SECRETS = by_kind("v1", "Secret")
CSRS = by_kind("certificates.k8s.io/v1", "CertificateSigningRequest")
NODES = by_kind("v1", "Node")


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    """A master with its controllers: the CSR approver and signer run in them."""
    proc = MasterProcess(tmp_path_factory.mktemp("bootstrap-master")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(master: MasterProcess) -> Iterator[ApiClient]:
    client = master.client()
    yield client
    client.close()


def kubectl(master: MasterProcess, kubeconfig: Path, *args: str, version: str = "1.33", check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = kubectl_binary(version)
    if binary is None:
        pytest.skip(f"kubectl.{version} is not installed")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=90, env=env)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


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


def new_token(master: MasterProcess) -> str:
    created = invoker(master)("token", "create", "--ttl", "1h")
    assert created.exit_code == 0, created.output
    return str(created.output.strip())


def csr_row(master: MasterProcess, name: str) -> list[str]:
    out = kubectl(master, master.kubeconfig, "get", "csr", name, "--no-headers").stdout.split()
    return out


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
    refused_csr = httpx.post(
        f"{master.url}/apis/certificates.k8s.io/v1/certificatesigningrequests",
        json=csr_manifest("expired-token", request_pem(new_key(), "system:node:late", ("system:nodes",))),
        headers={"Authorization": f"Bearer {token}"},
        verify=master.tls(),
    )
    assert refused_csr.status_code == 401
    fresh = bootstrap_token.generate()
    api.create_raw(SECRETS, bootstrap_token.secret_manifest(fresh, expires=datetime.now(UTC) + timedelta(minutes=5)), "kube-system")
    assert user_info(whoami(master, str(fresh)))["username"] == f"system:bootstrap:{fresh.id}"


def test_the_token_cleaner_deletes_expired_token_secrets_and_keeps_the_others(master: MasterProcess, api: ApiClient) -> None:
    """kube-controller-manager's tokencleaner: gone once expired (past, or a few seconds from now); kept without expiry."""
    soon, past, forever = bootstrap_token.generate(), bootstrap_token.generate(), bootstrap_token.generate()
    now = datetime.now(UTC)
    for token, expires in ((soon, now + timedelta(seconds=3)), (past, now - timedelta(minutes=1)), (forever, None)):
        api.create_raw(SECRETS, bootstrap_token.secret_manifest(token, expires=expires), "kube-system")
    assert user_info(whoami(master, str(soon)))["username"] == f"system:bootstrap:{soon.id}"

    def names() -> set[str]:
        return {s["metadata"]["name"] for s in api.list_raw(SECRETS, "kube-system")["items"]}

    wait_for(lambda: not {past.secret_name, soon.secret_name} & names(), timeout=30, what="the expired token secrets deleted")
    assert forever.secret_name in names()
    listed = invoker(master)("token", "list")
    assert soon.id not in listed.output and past.id not in listed.output and forever.id in listed.output
    api.delete_raw(SECRETS, forever.secret_name, "kube-system")


def join(master: MasterProcess, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name / "node.kubeconfig"
    result = invoker(master)(
        "node", "join", "--token", new_token(master), "--server", master.url, "--ca-file", str(master.ca_file),
        "--node-name", name, "--out", str(out), "--timeout", "60",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"node '{name}' joined" in result.output
    return out


def test_join_checks_the_ca_against_the_pinned_hash_before_using_the_token(master: MasterProcess, api: ApiClient, tmp_path: Path) -> None:
    """kubeadm's --discovery-token-ca-cert-hash: the hash --print-join-command prints is openssl's of the CA's
    public key; a join with it gets a certificate; a CA no pin names is refused before the token is used."""
    line = invoker(master)("token", "create", "--ttl", "10m", "--print-join-command")
    assert line.exit_code == 0, line.output
    words = line.output.split()
    assert words[:3] == ["kajitori", "node", "join"] and words[words.index("--server") + 1] == master.url
    assert "--ca-file" not in words  # as kubeadm's: the CA comes from cluster-info, checked against the hash
    pin = words[words.index("--discovery-token-ca-cert-hash") + 1]
    token = words[words.index("--token") + 1]
    spki = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", str(master.ca_file)], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki, capture_output=True, check=True).stdout
    assert pin == "sha256:" + hashlib.sha256(der).hexdigest()

    def join_with(pins: list[str], name: str, ca_file: Path = master.ca_file) -> Any:
        flags = [w for p in pins for w in ("--discovery-token-ca-cert-hash", p)]
        return invoker(master)(
            "node", "join", "--token", token, "--server", master.url, "--ca-file", str(ca_file),
            "--node-name", name, "--out", str(tmp_path / name / "node.kubeconfig"), "--timeout", "60", *flags,
        )  # fmt: skip

    # Another CA (a certificate of its own, as a server in the middle would hand out) is not pinned.
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(pki.self_signed("other-ca")[0])
    refused = join_with([pin], "pinned-wrong", other_ca)
    assert refused.exit_code == 1
    assert "cluster CA is not pinned" in refused.output and pin in refused.output
    assert not (tmp_path / "pinned-wrong").exists()
    assert not [c for c in api.list_raw(CSRS)["items"] if c["spec"]["username"] == f"system:bootstrap:{token[:6]}"]
    malformed = join_with(["md5:abc"], "pinned-bad")
    assert malformed.exit_code == 2 and "--discovery-token-ca-cert-hash" in malformed.output
    # The right pin (among others, as kubeadm allows several) joins.
    joined = join_with(["sha256:" + "0" * 64, pin], "pinned-right")
    assert joined.exit_code == 0, joined.output
    assert config.load(tmp_path / "pinned-right" / "node.kubeconfig").client_cert_pem


def test_a_bootstrap_token_gets_a_node_certificate_the_node_authorizer_limits(master: MasterProcess, api: ApiClient, tmp_path: Path) -> None:
    kubeconfig = join(master, tmp_path, "boot1")
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    assert (kubeconfig.parent / "node-client.key").stat().st_mode & 0o777 == 0o600
    who = kubectl(master, kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
    assert who.stdout == 'system:node:boot1 ["system:nodes","system:authenticated"]'
    csrs = [c for c in api.list_raw(CSRS)["items"] if c["spec"]["username"].startswith("system:bootstrap:")]
    mine = [c for c in csrs if base64.b64decode(c["spec"]["request"]).startswith(b"-----BEGIN CERTIFICATE REQUEST") and c["status"].get("certificate")]
    assert mine
    row = csr_row(master, mine[-1]["metadata"]["name"])
    assert row[2:] == ["kubernetes.io/kube-apiserver-client-kubelet", mine[-1]["spec"]["username"], "<none>", "Approved,Issued"]
    approved = next(c for c in mine[-1]["status"]["conditions"] if c["type"] == "Approved")
    assert approved["reason"] == "AutoApproved"
    # The certificate is a node's: the Node authorizer and NodeRestriction hold it to its own objects.
    api.create_raw(NODES, {"metadata": {"name": "other-node"}})
    node = ApiClient(config.load(kubeconfig))
    try:
        node.create_raw(NODES, {"metadata": {"name": "boot1"}})
        node.patch_raw(NODES, "boot1", {"metadata": {"labels": {"team": "a"}}})
        with pytest.raises(ApiError) as refused:
            node.patch_raw(NODES, "other-node", {"metadata": {"labels": {"team": "a"}}})
        assert refused.value.code == 403
        assert 'node "boot1" is not allowed to modify node "other-node"' in str(refused.value)
        api.create_raw(SECRETS, {"metadata": {"name": "db"}, "stringData": {"p": "x"}}, "default")
        with pytest.raises(ApiError) as secret:
            node.get_raw(SECRETS, "db", "default")
        assert secret.value.code == 403
    finally:
        node.close()
        api.delete_raw(NODES, "other-node")
        api.delete_raw(NODES, "boot1")
        api.delete_raw(SECRETS, "db", "default")


def test_renewal_gives_a_new_certificate_asked_for_by_the_node_itself(master: MasterProcess, api: ApiClient, tmp_path: Path) -> None:
    kubeconfig = join(master, tmp_path, "boot2")
    old = config.load(kubeconfig).client_cert_pem or b""
    client = ApiClient(config.load(kubeconfig))
    try:
        new = Rotation(client, kubeconfig, "boot2").rotate()
        assert x509.load_pem_x509_certificate(new).serial_number != x509.load_pem_x509_certificate(old).serial_number
        assert config.load(kubeconfig).client_cert_pem == new
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        # The renewal was the node's own request (selfnodeclient), approved and issued.
        renewal = next(c for c in api.list_raw(CSRS)["items"] if c["spec"]["username"] == "system:node:boot2")
        assert "certificate" in renewal["status"]
        assert "self kubelet client certificate" in renewal["status"]["conditions"][0]["message"]
        # The same client goes on working, on the new certificate for its new connections.
        client.close()
        client = ApiClient(config.load(kubeconfig))
        who = client.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert who["status"]["userInfo"]["username"] == "system:node:boot2"
    finally:
        client.close()


def test_the_rotation_loop_renews_when_the_deadline_passes_and_the_client_goes_on(master: MasterProcess, tmp_path: Path) -> None:
    kubeconfig = join(master, tmp_path, "boot3")
    old = kubeconfig.read_bytes()
    client = ApiClient(config.load(kubeconfig))
    # A clock a year ahead: the certificate is past 90 % of its lifetime, so the loop renews at
    # once; back to now after that, or every new certificate would be renewed again at once
    # and the file would keep moving under the checks below.
    ahead = [365 * 86400.0]
    rotation = Rotation(client, kubeconfig, "boot3", clock=lambda: time.time() + ahead[0])
    try:
        rotation.start()
        wait_for(lambda: kubeconfig.read_bytes() != old, what="the kubeconfig renewed by the loop")
        ahead[0] = 0.0
        wait_for(lambda: client.config.client_cert_pem == config.load(kubeconfig).client_cert_pem,
                 what="the client on the certificate of the kubeconfig")  # fmt: skip
        node = client.create_raw(NODES, {"metadata": {"name": "boot3"}})
        assert node["metadata"]["name"] == "boot3"
    finally:
        rotation.stop()
        client.close()
        try:
            master.client().delete_raw(NODES, "boot3")
        except NotFoundError:
            pass


def test_an_agent_on_its_node_certificate_checks_a_callers_token_as_the_callers(master: MasterProcess, tmp_path: Path) -> None:
    # The agent asks the master whether a caller's token may look. Asked over TLS with the node's
    # own certificate, the master took the node as the caller: a made-up token read logs and metrics.
    kubeconfig = join(master, tmp_path, "boot4")
    agent = AgentProcess(master, "boot4", tmp_path / "agent", runtime="fake", kubeconfig=kubeconfig).start()
    try:
        def answer(path: str, token: str) -> int:
            return httpx.get(f"{agent.url}{path}", headers={"Authorization": f"Bearer {token}"}, verify=agent.tls(), timeout=30).status_code

        for path in ("/metrics", "/containerLogs/default/nothing/main"):
            assert answer(path, "made-up") == 401, path
        admin = str(master.client().config.token)
        assert answer("/metrics", admin) == 200
    finally:
        agent.stop()
        try:
            master.client().delete_raw(NODES, "boot4")
        except NotFoundError:
            pass


@pytest.mark.parametrize("version", ["1.28", "1.32", "1.33"])
def test_a_csr_of_another_shape_stays_pending_until_kubectl_certificate_approve(master: MasterProcess, api: ApiClient, tmp_path: Path, version: str) -> None:
    key = new_key()
    name = f"alice-{version.replace('.', '')}"
    api.create_raw(CSRS, csr_manifest(name, request_pem(key, "alice", ("devs",)), signer="kubernetes.io/kube-apiserver-client", usages=("client auth",), expiration_seconds=3600))
    # A node-shaped request made after it is approved: the approver has seen both, and left alice's alone.
    token = new_token(master)
    boot = ApiClient(config.ClientConfig(server=master.url, token=token, ca_pem=master.ca_file.read_bytes()))
    try:
        marker = boot.create_raw(CSRS, csr_manifest(f"marker-{name}", request_pem(new_key(), f"system:node:m{name}", ("system:nodes",))))
    finally:
        boot.close()
    wait_for(lambda: "Issued" in csr_row(master, marker["metadata"]["name"])[-1], what="the node-shaped CSR issued")
    assert csr_row(master, name)[-1] == "Pending"
    assert csr_row(master, name)[4] == "60m"  # kubectl's HumanDuration: minutes under 3 h
    approved = kubectl(master, master.kubeconfig, "certificate", "approve", name, version=version)
    assert f"certificatesigningrequest.certificates.k8s.io/{name} approved" in approved.stdout
    wait_for(lambda: csr_row(master, name)[-1] == "Approved,Issued", what="alice's CSR issued")
    issued = api.get_raw(CSRS, name)
    cert_pem = base64.b64decode(issued["status"]["certificate"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(hours=1) <= lifetime <= timedelta(hours=1, minutes=6)  # expirationSeconds, plus the signer's backdating
    kubeconfig = config.write(tmp_path / "alice.kubeconfig", master.url, None, user="alice", ca_pem=master.ca_file.read_bytes(), client_cert_pem=cert_pem, client_key_pem=key_pem(key))
    who = kubectl(master, kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}", version=version)
    assert who.stdout == 'alice ["devs","system:authenticated"]'
    denied_name = f"denied-{name}"
    api.create_raw(CSRS, csr_manifest(denied_name, request_pem(new_key(), "mallory"), signer="kubernetes.io/kube-apiserver-client", usages=("client auth",)))
    denied = kubectl(master, master.kubeconfig, "certificate", "deny", denied_name, version=version)
    assert f"certificatesigningrequest.certificates.k8s.io/{denied_name} denied" in denied.stdout
    assert csr_row(master, denied_name)[-1] == "Denied"
    for csr in (name, denied_name, marker["metadata"]["name"]):
        api.delete_raw(CSRS, csr)


def test_hostile_csrs_get_422_naming_the_field(master: MasterProcess, api: ApiClient) -> None:
    good = csr_manifest("bad", request_pem(new_key(), "x"), signer="kubernetes.io/kube-apiserver-client", usages=("client auth",))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"usages": []}, "spec.usages: Required value: usages must be provided"),
        ({"usages": ["client auth", "flying"]}, 'spec.usages[1]: Unsupported value: "flying"'),
        ({"expirationSeconds": 599}, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"),
        ({"signerName": "nodomain"}, "must be a fully qualified domain and path of the form 'example.com/signer-name'"),
        ({"request": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").decode()}, "PEM block type must be CERTIFICATE REQUEST"),
        ({"request": "%%%"}, "spec.request: Invalid value"),
        ({"request": None}, "spec.request: Required value"),
    ]
    for change, message in cases:
        body = {**good, "spec": {**good["spec"], **change}}
        with pytest.raises(ApiError) as refused:
            api.create_raw(CSRS, body)
        assert refused.value.code == 422, (change, refused.value)
        assert message in str(refused.value), (change, str(refused.value))

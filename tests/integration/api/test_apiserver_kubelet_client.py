"""The master reaches the agents on a client certificate of its own, not on the shared node token.

As kube-apiserver's ``--kubelet-client-certificate`` (kubeadm: CN ``kube-apiserver-kubelet-client``,
O ``system:masters``): the agent verifies the certificate against the cluster CA and asks the
master, with a SubjectAccessReview as the node, whether that user may use ``nodes/proxy``
(``nodes/metrics`` for metrics), as the kubelet's webhook authorizer does. A real master and a
real agent joined with a bootstrap token (its own node certificate, no shared token anywhere).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from cli.main import app as kajitori_app
from kajitori import config
from kajitori.api.registry import by_name
from kajitori.client import NotFoundError
from tests.integration.agent.agent_process import AgentProcess
from tests.integration.api.test_kubectl_protobuf import kubectl_binary
from tests.integration.api.test_node_bootstrap import join
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

NODE = "kc1"


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path_factory.mktemp("kubelet-client") / "master").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def agent(master: MasterProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    work = tmp_path_factory.mktemp("agent")
    proc = AgentProcess(master, NODE, work / "agent", runtime="fake", kubeconfig=join(master, work, NODE)).start()
    yield proc
    proc.stop()
    try:
        master.client().delete_raw(by_name("nodes"), NODE)
    except NotFoundError:
        pass


def _client_pair(master: MasterProcess) -> tuple[Path, Path]:
    pki = master.data_dir / "pki"
    return pki / "apiserver-kubelet-client.crt", pki / "apiserver-kubelet-client.key"


def _issue(master: MasterProcess, user: str) -> tuple[str, str]:
    """A client certificate of the cluster CA for ``user`` (``kajitori certs issue``), as (cert, key) files."""
    out = master.data_dir / f"{user}.kubeconfig"
    result = CliRunner().invoke(kajitori_app, ["certs", "issue", "--data-dir", str(master.data_dir), "--out", str(out), "--user", user])
    assert result.exit_code == 0, result.output
    loaded = config.load(out)
    assert loaded.client_cert_pem and loaded.client_key_pem
    cert, key = out.with_suffix(".crt"), out.with_suffix(".key")
    cert.write_bytes(loaded.client_cert_pem)
    key.write_bytes(loaded.client_key_pem)
    key.chmod(0o600)
    return str(cert), str(key)


def test_the_master_has_its_own_kubelet_client_certificate(master: MasterProcess) -> None:
    cert_path, key_path = _client_pair(master)
    assert key_path.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kube-apiserver-kubelet-client"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(master.ca_file.read_bytes()))


def test_the_agent_authorizes_a_client_certificate_by_asking_the_master(master: MasterProcess, agent: AgentProcess) -> None:
    cert, key = (str(p) for p in _client_pair(master))
    alice = _issue(master, "alice")

    def get(path: str, pair: tuple[str, str] | None) -> httpx.Response:
        context = agent.tls()
        if pair is not None:
            context.load_cert_chain(*pair)
        with httpx.Client(verify=context, timeout=30) as http:
            return http.get(f"{agent.url}{path}")

    # The master's certificate passes (the pod is unknown here: 404, past the authorization).
    assert get("/containerLogs/default/nothing/main", (cert, key)).status_code == 404
    assert get("/metrics", (cert, key)).status_code == 200
    # Another user of the same CA without nodes/proxy gets the kubelet's 403.
    refused = get("/containerLogs/default/nothing/main", alice)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[proxy])"
    assert get("/metrics", alice).json()["message"] == "Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[metrics])"
    # Nothing at all: 401, as before.
    assert get("/metrics", None).status_code == 401


def test_the_master_reaches_the_agent_without_the_shared_node_token(master: MasterProcess, agent: AgentProcess) -> None:
    # There is no shared node token (nor its role): the master comes on its own certificate.
    with pytest.raises(NotFoundError):
        master.client().get_raw(by_name("clusterrolebindings"), "kajitori:legacy-node")
    binary = kubectl_binary("1.33")
    if binary is None:
        pytest.skip("kubectl.1.33 is not installed")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    metrics = subprocess.run([binary, "get", "--raw", f"/api/v1/nodes/{NODE}/proxy/metrics"], capture_output=True, text=True, timeout=60, env=env)
    assert metrics.returncode == 0, metrics.stderr
    assert "# TYPE" in metrics.stdout

"""The API server's TLS: clients trust only the kubeconfig's CA; the certificate outlives restarts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kajitori import config
from kajitori.api.core import Namespace
from kajitori.client import ApiClient, ServerUnavailable
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def another_ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kajitori-ca")])  # same name, other key
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_client_with_another_ca_is_refused(master: MasterProcess, tmp_path: Path) -> None:
    good = config.load(master.kubeconfig)
    assert good.server.startswith("https://") and good.ca_pem == master.ca_file.read_bytes()
    wrong = config.load(config.write(tmp_path / "wrong-ca", good.server, good.token or "", ca_pem=another_ca_pem()))
    with ApiClient(wrong) as client, pytest.raises(ServerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        client.list(Namespace)
    no_ca = config.load(config.write(tmp_path / "no-ca", good.server, good.token or ""))  # the system's CAs only
    with ApiClient(no_ca) as client, pytest.raises(ServerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        client.list(Namespace)
    with ApiClient(good) as client:
        assert "default" in {n.metadata.name for n in client.list(Namespace).items}


def test_the_serving_certificate_and_ca_outlive_a_restart(tmp_master: MasterProcess) -> None:
    tmp_master.start()
    pki = tmp_master.data_dir / "pki"
    before = {name: (pki / name).read_bytes() for name in ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key")}
    old_client = tmp_master.client()
    tmp_master.stop()
    tmp_master.start()
    assert {name: (pki / name).read_bytes() for name in before} == before
    with old_client:  # a kubeconfig handed out before the restart still works
        assert old_client.get(Namespace, "default").metadata.name == "default"

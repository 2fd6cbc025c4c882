"""What several masters share (``kajitori certs init``): made once, kept, and etcd's certificates
from the cluster CA good enough for a real etcd over TLS with client certificates."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from cli.main import app
from master.cluster_pki import SHARED_FILES, init_shared, issue_etcd_client, issue_etcd_member
from master.store.etcd import EtcdStore
from tests.support.etcd_process import EtcdProcess
from tests.support.pki import Certificates


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_shared_files_are_made_once_and_kept(tmp_path: Path) -> None:
    first = {p: p.read_bytes() for p in init_shared(tmp_path, "https://192.168.56.10:6443")}
    assert sorted(str(p.relative_to(tmp_path)) for p in first) == sorted(SHARED_FILES)
    assert {p: p.read_bytes() for p in init_shared(tmp_path, "https://192.168.56.10:6443")} == first
    assert all((tmp_path / name).stat().st_mode & 0o077 == 0 for name in ("pki/ca.key", "pki/sa.key", "tokens.json"))


def test_an_etcd_member_certificate_names_the_member_and_serves_and_dials(tmp_path: Path) -> None:
    init_shared(tmp_path, "https://127.0.0.1:6443")
    crt, key = issue_etcd_member(tmp_path, tmp_path / "etcd", "master2", "192.168.56.22")
    member = cert(crt)
    member.verify_directly_issued_by(cert(tmp_path / "pki" / "ca.crt"))
    sans = member.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"192.168.56.22", "127.0.0.1"}
    assert set(sans.get_values_for_type(x509.DNSName)) == {"master2", "localhost"}
    usages = set(member.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert key.stat().st_mode & 0o077 == 0
    # Kept while good; made again when the member's address changes.
    assert issue_etcd_member(tmp_path, tmp_path / "etcd", "master2", "192.168.56.22")[0].read_bytes() == crt.read_bytes()
    moved = issue_etcd_member(tmp_path, tmp_path / "etcd", "master2", "192.168.56.32")[0]
    assert "192.168.56.32" in {str(ip) for ip in cert(moved).extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)}


def test_a_real_etcd_serves_the_store_with_the_clusters_certificates(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certs", "init", "--data-dir", str(tmp_path / "shared"), "--etcd-member", "m1=127.0.0.1"])
    assert result.exit_code == 0, result.output
    etcd_dir = tmp_path / "shared" / "etcd"
    pki = Certificates(
        ca=etcd_dir / "ca.crt",
        server_cert=etcd_dir / "m1.crt",
        server_key=etcd_dir / "m1.key",
        client_cert=etcd_dir / "kube-apiserver-etcd-client.crt",
        client_key=etcd_dir / "kube-apiserver-etcd-client.key",
    )
    assert issue_etcd_client(tmp_path / "shared", etcd_dir)[0] == pki.client_cert  # kept, not made again
    etcd = EtcdProcess(tmp_path / "etcd", pki=pki).start()  # its health is asked with the client certificate
    try:
        store = EtcdStore(
            [etcd.url], cafile=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key), compaction_interval_s=0
        )
        try:
            key = "/registry/configmaps/default/a"
            created = store.create(key, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
            assert store.get(key) == created
        finally:
            store.close()
    finally:
        etcd.stop()


def test_a_bad_member_is_refused_naming_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certs", "init", "--data-dir", str(tmp_path), "--etcd-member", "m1"])
    assert result.exit_code != 0 and "NAME=ADDRESS" in result.output

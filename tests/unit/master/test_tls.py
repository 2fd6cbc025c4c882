"""The master's CA and serving certificate: names covered, kept, made again only when needed."""

from __future__ import annotations

import socket
from pathlib import Path

from cryptography import x509

from kajitori import config
from master.apiserver.tls import ensure_serving_cert


def names(cert_path: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}, set(sans.get_values_for_type(x509.DNSName))


def test_serving_certificate_covers_every_name_a_client_uses(tmp_path: Path) -> None:
    files = ensure_serving_cert(tmp_path, "192.168.56.10")
    ips, dns = names(files.cert)
    assert ips == {"192.168.56.10", "127.0.0.1", "10.96.0.1"}
    assert dns == {"localhost", socket.gethostname(), "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                   "kubernetes.default.svc.cluster.local"}  # fmt: skip
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca_pem))
    assert (files.key.stat().st_mode & 0o777) == 0o600 and ((tmp_path / "pki" / "ca.key").stat().st_mode & 0o777) == 0o600


def test_kept_while_good_made_again_for_a_new_address_by_the_same_ca(tmp_path: Path) -> None:
    first = ensure_serving_cert(tmp_path, "127.0.0.1")
    cert_bytes = first.cert.read_bytes()
    assert ensure_serving_cert(tmp_path, "127.0.0.1").cert.read_bytes() == cert_bytes
    moved = ensure_serving_cert(tmp_path, "192.168.56.10")
    assert moved.ca_pem == first.ca_pem
    assert moved.cert.read_bytes() != cert_bytes and "192.168.56.10" in names(moved.cert)[0]


def test_a_new_ca_replaces_the_serving_certificate(tmp_path: Path) -> None:
    first = ensure_serving_cert(tmp_path, "127.0.0.1")
    (tmp_path / "pki" / "ca.key").unlink()
    second = ensure_serving_cert(tmp_path, "127.0.0.1")
    assert second.ca_pem != first.ca_pem
    x509.load_pem_x509_certificate(second.cert.read_bytes()).verify_directly_issued_by(x509.load_pem_x509_certificate(second.ca_pem))


def test_kubeconfig_carries_the_ca_and_reads_it_back(tmp_path: Path) -> None:
    ca_pem = ensure_serving_cert(tmp_path, "127.0.0.1").ca_pem
    loaded = config.load(config.write(tmp_path / "k", "https://127.0.0.1:6443", "tok", ca_pem=ca_pem))
    assert (loaded.server, loaded.token, loaded.ca_pem, loaded.insecure) == ("https://127.0.0.1:6443", "tok", ca_pem, False)
    (tmp_path / "ca.crt").write_bytes(ca_pem)
    (tmp_path / "by-file").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://h:1', certificate-authority: ca.crt}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    assert config.load(tmp_path / "by-file").ca_pem == ca_pem  # relative to the kubeconfig, as kubectl reads it


def test_a_control_plane_endpoint_is_covered_and_handed_out_while_the_loops_stay_local(tmp_path: Path) -> None:
    from master.apiserver.auth import ensure_credentials
    from master.settings import MasterSettings

    settings = MasterSettings(data_dir=tmp_path, advertise_address="192.168.56.21", control_plane_endpoint="192.168.56.9")
    files = ensure_serving_cert(tmp_path, settings.advertised_host, settings.endpoint_host)
    assert {"192.168.56.21", "192.168.56.9"} <= names(files.cert)[0]
    ensure_credentials(tmp_path, settings.public_url, ca_pem=files.ca_pem, loopback_url=settings.server_url)
    assert config.load(tmp_path / "admin.kubeconfig").server == "https://192.168.56.9:6443"
    assert config.load(settings.loopback_kubeconfig).server == "https://192.168.56.21:6443"
    # A certificate made before the endpoint existed is made again to cover it.
    plain = tmp_path / "plain"
    ensure_serving_cert(plain, "192.168.56.21")
    assert "192.168.56.9" in names(ensure_serving_cert(plain, "192.168.56.21", "192.168.56.9").cert)[0]
    assert MasterSettings(control_plane_endpoint="api.lab:8443").public_url == "https://api.lab:8443"

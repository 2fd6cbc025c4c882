"""What the masters of one cluster share, made once before any of them starts, and etcd's certificates.

Several masters on one etcd must be one cluster: the same CA (every kubeconfig and node
certificate is checked against it), the same service-account signing key (a token one
master signs, another verifies), the same tokens and the same encryption key for Secrets
at rest. A single master makes them on its first start; for several, ``init_shared`` makes
them in one data dir (as kubeadm's ``init phase certs`` and ``upload-certs``), and the lab's
playbook copies that data dir's files to every master before any starts.

etcd speaks TLS with certificates of the same CA, as Kubernetes The Hard Way lays it out:
``issue_etcd_member`` makes one certificate per member, good for serving its clients and
its peers and for client auth (etcd's HTTP gateway and its peers dial with it), naming the
member's address, 127.0.0.1, localhost and its name; ``issue_etcd_client`` the API servers'
client certificate (``kube-apiserver-etcd-client``). A file already signed by the CA is kept,
so a second run changes nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kajitori.private_files import ensure_private_dir, write_file
from master.apiserver.auth import ensure_credentials
from master.apiserver.serviceaccount_tokens import ensure_signing_key
from master.apiserver.tls import ensure_serving_cert, key_usage
from master.store import encryption

ETCD_DAYS = 3650
"""etcd's certificates live as long as the CA: a lab's etcd is never re-keyed."""
SHARED_FILES = ("pki/ca.crt", "pki/ca.key", "pki/sa.key", "pki/sa.pub", "tokens.json", encryption.CONFIG_FILE)
"""The files of a data dir that every master of the cluster must have the same."""
ETCD_CLIENT = "kube-apiserver-etcd-client"


def init_shared(data_dir: Path, server_url: str) -> list[Path]:
    """Make (or keep) the shared files in ``data_dir``; return their paths."""
    ensure_private_dir(data_dir)
    serving = ensure_serving_cert(data_dir, "127.0.0.1")  # the CA, made once; this serving cert is not shared
    ensure_signing_key(data_dir)
    ensure_credentials(data_dir, server_url, ca_pem=serving.ca_pem)
    encryption.load(data_dir)
    return [data_dir / name for name in SHARED_FILES]


def issue_etcd_member(data_dir: Path, out: Path, name: str, address: str) -> tuple[Path, Path]:
    """``out/<name>.crt`` and ``.key`` for etcd member ``name`` at ``address``, signed by the cluster CA."""
    sans: list[x509.GeneralName] = [x509.DNSName(name), x509.DNSName("localhost")]
    for text in dict.fromkeys((address, "127.0.0.1")):
        sans.append(x509.IPAddress(ipaddress.ip_address(text)))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    return _issue(data_dir, out, name, name, usages, sans)


def issue_etcd_client(data_dir: Path, out: Path) -> tuple[Path, Path]:
    """``out/kube-apiserver-etcd-client.crt`` and ``.key``: the API servers' client certificate."""
    return _issue(data_dir, out, ETCD_CLIENT, ETCD_CLIENT, [ExtendedKeyUsageOID.CLIENT_AUTH], [])


def _issue(
    data_dir: Path, out: Path, file_name: str, common_name: str, usages: list[x509.ObjectIdentifier], sans: list[x509.GeneralName]
) -> tuple[Path, Path]:
    ca_key, ca_cert = _load_ca(data_dir / "pki")
    ensure_private_dir(out)
    cert_path, key_path = out / f"{file_name}.crt", out / f"{file_name}.key"
    write_file(out / "ca.crt", ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    if _still_good(cert_path, key_path, ca_cert, sans):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=ETCD_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    write_file(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path


def _load_ca(pki: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{pki / 'ca.key'} is not an EC key")
    return key, x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())


def _still_good(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, sans: list[x509.GeneralName]) -> bool:
    if not cert_path.exists() or not key_path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if not sans:
        return True
    try:
        have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return False
    return set(sans) <= have

"""The agent's serving certificate for port 10250: self-signed, kept in the cert dir, and
published in its Node's annotations so the master can trust exactly this certificate.

Kubernetes' kubelet also serves with a self-signed certificate by default, and its API
server then skips verification. Here the agent writes its certificate into the Node
(`kajitori.io/serving-certificate`, kajitori.api.well_known, as the node itself), and the master verifies the
agent's TLS against that one certificate: a machine that merely took over a node's
address cannot read the exec commands or the token the master sends.

The certificate is made once per node name and address and kept across restarts (the
address is in its subjectAltName, so the master checks the hostname as usual).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kajitori.private_files import ensure_private_dir, write_file

log = logging.getLogger(__name__)

VALID_DAYS = 365
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class ServingCert:
    cert_path: Path
    key_path: Path
    pem: str
    """The certificate as PEM text: what goes into the Node annotation."""


def ensure_serving_cert(cert_dir: Path, node_name: str, node_ip: str) -> ServingCert:
    """The node's serving certificate, made (or made again) when missing, expiring or for another address."""
    cert_path, key_path = cert_dir / f"{node_name}.crt", cert_dir / f"{node_name}.key"
    why = _why_new(cert_path, key_path, node_name, node_ip)
    if why is not None:
        log.info("making a serving certificate for node %s (%s) in %s: %s", node_name, node_ip, cert_dir, why)
        _make(cert_path, key_path, node_name, node_ip)
    return ServingCert(cert_path=cert_path, key_path=key_path, pem=cert_path.read_text())


def _why_new(cert_path: Path, key_path: Path, node_name: str, node_ip: str) -> str | None:
    if not cert_path.exists() or not key_path.exists():
        return "none yet"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError as exc:
        return f"unreadable ({exc})"
    if cert.not_valid_after_utc - _now() < datetime.timedelta(days=RENEW_BEFORE_DAYS):
        return "expiring"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if ipaddress.ip_address(node_ip) not in names.get_values_for_type(x509.IPAddress):
        return f"made for another address ({names.get_values_for_type(x509.IPAddress)})"
    if node_name not in names.get_values_for_type(x509.DNSName):
        return "made for another node name"
    return None


def _make(cert_path: Path, key_path: Path, node_name: str, node_ip: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{node_name}@kajitori-agent")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(node_ip)), x509.DNSName(node_name)]),
            critical=False,
        )
        # Its own trust anchor: the master's trust store holds this one certificate.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_dir = cert_path.parent
    ensure_private_dir(cert_dir)
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)  # fmt: skip
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Written aside and renamed: an agent killed mid-write never leaves half a key.
    write_file(path, data, mode=mode)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

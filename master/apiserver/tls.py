"""The master's own certificate authority and the API server's serving certificate.

As kubeadm does, a new master makes in ``<data dir>/pki/`` a CA (``ca.key``, ``ca.crt``,
EC P-256, ten years) and a serving certificate signed by it (``apiserver.key``,
``apiserver.crt``, one year) whose subject alternative names cover every name a client
may use: the advertise address, 127.0.0.1, localhost, the host name, the
``kubernetes`` Service's ClusterIP 10.96.0.1 and its DNS names, and the cluster's shared
address when masters have one (``--control-plane-endpoint``: a virtual IP or a load
balancer in front of several masters, as kubeadm's controlPlaneEndpoint). Both are kept across
restarts, so a kubeconfig handed out once stays valid; the serving certificate is made
again (by the same CA) only when it is missing, unreadable, expires within 30 days, or
no longer names the advertise address or the control-plane endpoint. The CA is made again only when it is missing,
which invalidates every kubeconfig carrying the old one (as replacing kubeadm's CA does).

Clients trust the CA through ``certificate-authority-data`` in the kubeconfigs the
master writes (see ``kajitori.config``).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kajitori.private_files import ensure_private_dir, write_file

log = logging.getLogger(__name__)

KUBERNETES_SERVICE_IP = "10.96.0.1"
SERVICE_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
CA_DAYS = 3650
SERVING_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class ServingFiles:
    """Where the master's TLS material lives; ``ca_pem`` is what kubeconfigs carry."""

    ca_cert: Path
    cert: Path
    key: Path
    ca_pem: bytes


def ensure_serving_cert(data_dir: Path, advertise_address: str, control_plane_endpoint: str | None = None) -> ServingFiles:
    pki = data_dir / "pki"
    ensure_private_dir(data_dir)
    ensure_private_dir(pki)
    ca_key, ca_cert = _ensure_ca(pki)
    wanted_ips, wanted_dns = subject_alt_names(advertise_address, control_plane_endpoint)
    cert_path, key_path = pki / "apiserver.crt", pki / "apiserver.key"
    reason = _why_renew(cert_path, key_path, ca_cert, advertise_address)
    if reason is None and control_plane_endpoint:
        reason = _why_renew(cert_path, key_path, ca_cert, control_plane_endpoint)
    if reason:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _sign_serving(key, ca_key, ca_cert, wanted_ips, wanted_dns)
        _write(key_path, _key_pem(key), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        log.info("made the API server certificate (%s) for %s", reason, ", ".join([*map(str, wanted_ips), *wanted_dns]))
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    return ServingFiles(ca_cert=pki / "ca.crt", cert=cert_path, key=key_path, ca_pem=ca_pem)


def subject_alt_names(
    advertise_address: str, control_plane_endpoint: str | None = None
) -> tuple[list[ipaddress.IPv4Address | ipaddress.IPv6Address], list[str]]:
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    dns = ["localhost", *SERVICE_NAMES]
    shared = [control_plane_endpoint] if control_plane_endpoint else []
    for text in (advertise_address, *shared, "127.0.0.1", KUBERNETES_SERVICE_IP):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            dns.append(text)  # an advertise address may be a name
            continue
        if ip not in ips:
            ips.append(ip)
    hostname = socket.gethostname()
    if hostname and hostname not in dns:
        dns.append(hostname)
    return ips, dns


def _ensure_ca(pki: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = pki / "ca.key", pki / "ca.crt"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC key")
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kajitori-ca")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate a client clock a little behind
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    # A stale serving certificate of an older CA must not survive the new CA.
    (pki / "apiserver.crt").unlink(missing_ok=True)
    log.info("made a new cluster CA in %s", cert_path)
    return key, cert


def _sign_serving(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    dns: list[str],
) -> x509.Certificate:
    now = _now()
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ip) for ip in ips]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVING_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _why_renew(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, advertise_address: str) -> str | None:
    """None when the serving certificate on disk is still good; otherwise why it is not."""
    if not cert_path.exists() or not key_path.exists():
        return "none yet"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return "unreadable"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "signed by another CA"
    if cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return "expiring"
    try:
        covered = ipaddress.ip_address(advertise_address) in sans.get_values_for_type(x509.IPAddress)
    except ValueError:
        covered = advertise_address in sans.get_values_for_type(x509.DNSName)
    return None if covered else f"{advertise_address} not among its names"


def key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    """Digital signature (what an EC key does in TLS), plus certificate signing for the CA."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    write_file(path, data, mode=mode)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

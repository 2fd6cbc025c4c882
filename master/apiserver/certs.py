"""Client certificates signed by the cluster CA, and the kubeconfigs that carry them.

A certificate's CN is the user and each O a group, as Kubernetes' x509 authenticator reads
them (``master.apiserver.authn``). At every start the master writes, beside
``admin.kubeconfig``, the kubeconfigs of the cluster's own identities with fresh
certificates for its current address (``kubeconfigs/<name>.kubeconfig``, keys 0600): ``admin`` (``kubernetes-admin`` in
``system:masters``), ``scheduler`` (``system:kube-scheduler``), ``controller-manager``
(``system:kube-controller-manager``) and ``proxy`` (``system:kube-proxy``), as Kubernetes
The Hard Way lays them out, and ``ingress`` (``kajitori:ingress-controller``, what the ingress
controllers on the nodes run as: ingress-nginx's rights, ``master.apiserver.authz.defaults``),
``cluster-dns`` (``kajitori:cluster-dns``) and ``master-endpoints`` (``kajitori:master-endpoints``).
The master's own loops run on the scheduler's, controller manager's, cluster DNS's and
master-endpoints' kubeconfigs (``MasterSettings.component_kubeconfig``), each with only the
rights its ClusterRole grants. ``issue_kubelet_client`` makes the API server's own client certificate for the agents
(``kube-apiserver-kubelet-client`` in ``system:masters``, kubeadm's ``apiserver-kubelet-client``).
``kajitori certs issue`` makes one for a node
(``system:node:<name>`` in ``system:nodes``) or any user. Client certificates live one
year (kubeadm's default). ``sign_request`` signs a CertificateSigningRequest's PKCS#10 request
for the CSR signer (``master.controllers.csr_signing``): the subject and key of the request,
the usages of the CSR, the lifetime the signer allows.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kajitori import config
from kajitori.private_files import ensure_private_dir, write_file
from master.apiserver.authn import (
    CLUSTER_DNS_USER,
    CONTROLLER_MANAGER_USER,
    INGRESS_CONTROLLER_USER,
    MASTER_ENDPOINTS_USER,
    MASTERS,
    NODE_PREFIX,
    NODES,
    SCHEDULER_USER,
)
from master.apiserver.tls import ServingFiles, key_usage

CLIENT_DAYS = 365

COMPONENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("kubernetes-admin", (MASTERS,)),
    "scheduler": (SCHEDULER_USER, ()),
    "controller-manager": (CONTROLLER_MANAGER_USER, ()),
    "proxy": ("system:kube-proxy", ()),
    "ingress": (INGRESS_CONTROLLER_USER, ()),
    "cluster-dns": (CLUSTER_DNS_USER, ()),
    "master-endpoints": (MASTER_ENDPOINTS_USER, ()),
}
"""File name -> (user, groups) of the kubeconfigs a master writes at start."""
KUBELET_CLIENT = ("kube-apiserver-kubelet-client", (MASTERS,))
"""Who the API server is to the agents (kube-apiserver's ``--kubelet-client-certificate``, as kubeadm makes it)."""


def node_identity(node: str) -> tuple[str, tuple[str, ...]]:
    return f"{NODE_PREFIX}{node}", (NODES,)


def _load_ca(pki: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{pki / 'ca.key'} is not an EC key")
    return key, x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())


def issue_client_certificate(
    pki: Path, user: str, groups: tuple[str, ...] = (), *, days: int = CLIENT_DAYS
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``user`` in ``groups``, signed by the CA in ``pki``."""
    ca_key, ca_cert = _load_ca(pki)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups),
            x509.NameAttribute(NameOID.COMMON_NAME, user),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


_KEY_USAGES = {
    "digital signature": "digital_signature",
    "signing": "digital_signature",
    "content commitment": "content_commitment",
    "key encipherment": "key_encipherment",
    "key agreement": "key_agreement",
    "data encipherment": "data_encipherment",
}
_EXTENDED_USAGES = {
    "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
}
BACKDATE = datetime.timedelta(minutes=5)
"""Clocks of the machines differ: a certificate is valid from a little before it is signed, as Kubernetes' signer backdates."""


def sign_request(pki: Path, request: x509.CertificateSigningRequest, usages: list[str], seconds: int) -> bytes:
    """A certificate (PEM) of the CA in ``pki`` for the request's subject and key, valid ``seconds`` from now."""
    ca_key, ca_cert = _load_ca(pki)
    now = datetime.datetime.now(datetime.UTC)
    flags = {name: False for name in set(_KEY_USAGES.values())}
    flags.update({_KEY_USAGES[u]: True for u in usages if u in _KEY_USAGES})
    not_after = min(now + datetime.timedelta(seconds=seconds), ca_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(request.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if any(flags.values()):  # a KeyUsage with no bit set is malformed (TLS stacks refuse it); Go leaves it out too
        builder = builder.add_extension(
            x509.KeyUsage(**flags, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
    extended = [_EXTENDED_USAGES[u] for u in usages if u in _EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def write_kubeconfig(
    path: Path, *, data_dir: Path, server_url: str, user: str, groups: tuple[str, ...] = ()
) -> Path:
    """A kubeconfig (0600) for ``user`` with a fresh certificate of the cluster CA in ``data_dir/pki``."""
    pki = data_dir / "pki"
    cert_pem, key_pem = issue_client_certificate(pki, user, groups)
    ca_pem = (pki / "ca.crt").read_bytes()
    return config.write(
        path, server_url, None, user=user, ca_pem=ca_pem, client_cert_pem=cert_pem, client_key_pem=key_pem
    )


def issue_component_kubeconfigs(data_dir: Path, server_url: str, serving: ServingFiles) -> None:
    """The kubeconfigs of ``COMPONENTS`` in ``data_dir/kubeconfigs/`` (earlier certificates stay valid until they expire)."""
    folder = data_dir / "kubeconfigs"
    ensure_private_dir(folder)
    for name, (user, groups) in COMPONENTS.items():
        write_kubeconfig(
            folder / f"{name}.kubeconfig", data_dir=data_dir, server_url=server_url, user=user, groups=groups
        )


def issue_kubelet_client(data_dir: Path) -> tuple[Path, Path]:
    """``pki/apiserver-kubelet-client.crt`` and ``.key`` (0600), fresh at every start: the certificate the
    API server presents to the agents for logs, exec, attach, port-forward, the node proxy and metrics."""
    pki = data_dir / "pki"
    user, groups = KUBELET_CLIENT
    cert_pem, key_pem = issue_client_certificate(pki, user, groups)
    cert_path, key_path = pki / "apiserver-kubelet-client.crt", pki / "apiserver-kubelet-client.key"
    write_file(key_path, key_pem)
    write_file(cert_path, cert_pem, mode=0o644)
    return cert_path, key_path

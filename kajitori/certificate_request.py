"""A private key and the PKCS#10 request for its client certificate, as the kubelet makes them.

What a joining node (``kajitori node join --token``) and a node renewing its certificate
(the agent) send in a CertificateSigningRequest: an ECDSA P-256 key (the kubelet's choice)
and a request whose subject is ``CN=<user>, O=<group>...``; the CSR object asks the
``kubernetes.io/kube-apiserver-client-kubelet`` signer for ``digital signature`` and
``client auth``, the shape the master approves for nodes.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NODE_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
NODE_CLIENT_USAGES = ("digital signature", "client auth")


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def request_pem(key: ec.EllipticCurvePrivateKey, user: str, groups: tuple[str, ...] = ()) -> bytes:
    """A PKCS#10 request, PEM, for ``CN=user`` and an ``O`` per group."""
    subject = x509.Name(
        [*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups), x509.NameAttribute(NameOID.COMMON_NAME, user)]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def csr_manifest(
    name: str,
    request: bytes,
    *,
    signer: str = NODE_CLIENT_SIGNER,
    usages: tuple[str, ...] = NODE_CLIENT_USAGES,
    expiration_seconds: int | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "request": base64.b64encode(request).decode("ascii"),
        "signerName": signer,
        "usages": list(usages),
    }
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": spec,
    }

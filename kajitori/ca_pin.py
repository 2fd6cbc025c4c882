"""CA pinning for joining nodes, as kubeadm's ``--discovery-token-ca-cert-hash``.

A pin is ``sha256:<64 hex digits>``: the SHA-256 of the CA certificate's Subject Public Key
Info (DER), the value ``kubeadm token create --print-join-command`` prints and
``openssl x509 -pubkey -in ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256``
computes. A joining node checks the CA it was given against its pins before it sends its
bootstrap token anywhere: a CA none of the pins names is refused (`PinError`), so a wrong or
swapped ``ca.crt`` cannot point the node at another API server.
"""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

PREFIX = "sha256:"
_PIN_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class PinError(ValueError):
    """A malformed pin, an unreadable CA, or a CA no pin names; the message says which."""


def ca_cert_hash(ca_pem: bytes) -> str:
    """``sha256:<hex>`` of the Subject Public Key Info of the first certificate in ``ca_pem``."""
    try:
        cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise PinError(f"the CA is not a PEM certificate: {exc}") from exc
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PREFIX + hashlib.sha256(spki).hexdigest()


def parse_pin(text: str) -> str:
    pin = text.strip().lower()
    if not pin.startswith(PREFIX):
        raise PinError(f'invalid hash {text!r}: the format should be "sha256:<hex>" (the only hash type is sha256)')
    if not _PIN_RE.match(pin):
        raise PinError(f"invalid hash {text!r}: sha256 needs 64 hex digits")
    return pin


def check_pinned(ca_pem: bytes, pins: list[str]) -> str:
    """The CA's hash if one of ``pins`` names it; PinError otherwise (as kubeadm's pubkeypin)."""
    wanted = {parse_pin(p) for p in pins}
    found = ca_cert_hash(ca_pem)
    if found not in wanted:
        raise PinError(f'cluster CA is not pinned: its public key hash is "{found}", none of the pins ({", ".join(sorted(wanted))}) names it')
    return found

"""The agent renews its client certificate between 70 % and 90 % of its lifetime, as the kubelet does."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.client_certificate import rotation_deadline


def certificate(days: int) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "system:node:n1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("rand", "share"), [(0.0, 0.7), (0.5, 0.8), (1.0, 0.9)])
def test_the_deadline_is_between_70_and_90_percent_of_the_lifetime(rand: float, share: float) -> None:
    pem = certificate(10)
    cert = x509.load_pem_x509_certificate(pem)
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    assert rotation_deadline(pem, lambda: rand) == pytest.approx(start + share * (end - start))

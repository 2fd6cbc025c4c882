"""CA pins as kubeadm writes them: sha256 of the CA's public key; a CA no pin names and a malformed pin are refused."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kajitori import ca_pin
from tests.support.pki import self_signed


def spki_hash(pem: bytes) -> str:
    key = x509.load_pem_x509_certificate(pem).public_key()
    return "sha256:" + hashlib.sha256(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def test_the_hash_is_of_the_public_key_and_a_pinned_ca_passes() -> None:
    ca, _ = self_signed("ca")
    assert ca_pin.ca_cert_hash(ca) == spki_hash(ca)
    assert ca_pin.check_pinned(ca, ["sha256:" + "1" * 64, spki_hash(ca).upper().replace("SHA256:", "sha256:")]) == spki_hash(ca)


def test_a_ca_no_pin_names_is_refused() -> None:
    ca, _ = self_signed("ca")
    other, _ = self_signed("other")
    with pytest.raises(ca_pin.PinError, match="cluster CA is not pinned"):
        ca_pin.check_pinned(ca, [spki_hash(other)])


@pytest.mark.parametrize(
    ("pin", "words"),
    [
        pytest.param("md5:abc", "sha256:<hex>", id="other-type"),
        pytest.param("abc", "sha256:<hex>", id="no-type"),
        pytest.param("sha256:abc", "64 hex digits", id="short"),
        pytest.param("sha256:" + "g" * 64, "64 hex digits", id="not-hex"),
    ],
)
def test_a_malformed_pin_says_what_is_wrong(pin: str, words: str) -> None:
    with pytest.raises(ca_pin.PinError, match="invalid hash") as refused:
        ca_pin.parse_pin(pin)
    assert words in str(refused.value)

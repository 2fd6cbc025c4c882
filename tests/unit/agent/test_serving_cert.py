"""The agent's serving certificate: made once, kept across restarts, made again for a new address."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from agent.serving_cert import ensure_serving_cert


def test_the_certificate_is_kept_across_restarts(tmp_path: Path) -> None:
    first = ensure_serving_cert(tmp_path, "node1", "192.168.56.11")
    again = ensure_serving_cert(tmp_path, "node1", "192.168.56.11")
    assert again.pem == first.pem
    assert oct(first.key_path.stat().st_mode & 0o777) == "0o600"
    names = x509.load_pem_x509_certificate(first.pem.encode()).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.56.11")]
    assert names.get_values_for_type(x509.DNSName) == ["node1"]


def test_a_new_address_gets_a_new_certificate(tmp_path: Path) -> None:
    first = ensure_serving_cert(tmp_path, "node1", "192.168.56.11")
    moved = ensure_serving_cert(tmp_path, "node1", "192.168.56.21")
    assert moved.pem != first.pem
    names = x509.load_pem_x509_certificate(moved.pem.encode()).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.56.21")]


def test_an_unreadable_certificate_is_replaced(tmp_path: Path) -> None:
    first = ensure_serving_cert(tmp_path, "node1", "192.168.56.11")
    first.cert_path.write_text("not a certificate")
    assert ensure_serving_cert(tmp_path, "node1", "192.168.56.11").pem.startswith("-----BEGIN CERTIFICATE-----")

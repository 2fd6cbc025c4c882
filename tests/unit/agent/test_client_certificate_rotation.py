"""The agent renews its client certificate between 70 % and 90 % of its lifetime, as the kubelet does."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent import client_certificate
from agent.client_certificate import Rotation, rotation_deadline
from kajitori.config import ClientConfig


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


class SilentMaster:
    """The client a Rotation uses, around a master that never signs: each watch for the CSR
    holds for its whole timeout with no event, as a real one does."""

    def __init__(self) -> None:
        self.config = ClientConfig(server="https://127.0.0.1:1", client_cert_pem=certificate(10), client_key_pem=b"key")
        self.watching = threading.Event()

    def create_raw(self, resource: Any, body: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"name": "node-csr-1", "resourceVersion": "1"}, "status": {}}

    def watch_raw(self, resource: Any, *, timeout_seconds: int, **_: Any) -> Iterator[dict[str, Any]]:
        self.watching.set()
        time.sleep(timeout_seconds)
        return iter(())


def test_stop_waits_for_a_renewal_in_progress_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # stop() is followed by closing the client: a renewal still reading its watch would then
    # read from a freed socket's file descriptor, which the next connection gets.
    monkeypatch.setattr(client_certificate, "WATCH_SLICE_S", 1)
    master = SilentMaster()
    rotation = Rotation(master, tmp_path / "kubeconfig", "n1", clock=lambda: time.time() + 365 * 86400)  # type: ignore[arg-type]
    rotation.start()
    assert master.watching.wait(10), "the loop asked for a certificate at once"
    rotation.stop()
    assert rotation._thread is not None and not rotation._thread.is_alive()

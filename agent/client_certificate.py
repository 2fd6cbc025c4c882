"""The node's client certificate: got through a CertificateSigningRequest at join, renewed before it expires.

`request_certificate` is what the kubelet's bootstrap and its certificate manager both do:
create a CSR (``node-csr-...``) for ``CN=system:node:<name>, O=system:nodes`` with the
kubelet signer and usages, then watch that one object until the signer puts a certificate
in it (or it is Denied or Failed: `CertificateError`). `bootstrap` does it with a
bootstrap token and writes the node's key (0600) and kubeconfig (0600); `Rotation` runs in
the agent: at a random point between 70 % and 90 % of the current certificate's lifetime
(the kubelet's jitter, so nodes joined together do not renew together) it asks for a new
one as the node itself, writes the kubeconfig anew and hands the new certificate to the
agent's client, whose new connections present it; running pods are not touched.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from kajitori import config
from kajitori.api.certificates import CertificateSigningRequest
from kajitori.api.registry import by_model
from kajitori.certificate_request import csr_manifest, key_pem, new_key, request_pem
from kajitori.client import ApiClient, ApiError, ServerUnavailable
from kajitori.private_files import write_file

log = logging.getLogger(__name__)

CSRS = by_model(CertificateSigningRequest)
NODE_PREFIX, NODES = "system:node:", "system:nodes"
ROTATE_FROM, ROTATE_SPREAD = 0.7, 0.2
RETRY_S = 30.0
# The wait for a signature is a series of short watches, so a stopping agent is not held up
# to the CSR timeout by a watch it cannot interrupt.
WATCH_SLICE_S = 5


class CertificateError(Exception):
    """The certificate was refused (Denied, Failed) or did not come in time; the message says which."""


def request_certificate(
    client: ApiClient, node_name: str, key_pem_bytes: bytes, *, timeout: float = 300.0, stop: threading.Event | None = None
) -> bytes:
    """Create a node client CSR for the key and wait for its certificate (PEM); ``stop`` ends the wait."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem_bytes, password=None)
    request = request_pem(key, NODE_PREFIX + node_name, (NODES,))  # type: ignore[arg-type]
    manifest = csr_manifest("", request)
    manifest["metadata"] = {"generateName": "node-csr-"}
    created = client.create_raw(CSRS, manifest)
    name = created["metadata"]["name"]
    log.info("created CertificateSigningRequest %s for %s", name, NODE_PREFIX + node_name)
    found = _issued(created)
    version = created["metadata"].get("resourceVersion")
    deadline = time.monotonic() + timeout
    while found is None:
        left = deadline - time.monotonic()
        if stop is not None and stop.is_set():
            raise CertificateError(f"stopped before CertificateSigningRequest {name} was signed")
        if left <= 0:
            raise CertificateError(f"CertificateSigningRequest {name} was not signed within {timeout:.0f}s (is it approved? kubectl certificate approve {name})")
        window = max(1, min(WATCH_SLICE_S, int(left)))
        for event in client.watch_raw(CSRS, resource_version=version, field_selector=f"metadata.name={name}", timeout_seconds=window):
            obj = event.get("object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion", version)
            if event.get("type") == "DELETED":
                raise CertificateError(f"CertificateSigningRequest {name} was deleted before it was signed")
            found = _issued(obj)
            if found is not None:
                break
    return found


def _issued(obj: dict[str, Any]) -> bytes | None:
    status = obj.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Denied", "Failed"):
            name = (obj.get("metadata") or {}).get("name")
            why = condition.get("message") or condition.get("reason") or ""
            raise CertificateError(f"CertificateSigningRequest {name} was {condition['type'].lower()}: {why}")
    certificate = status.get("certificate")
    return base64.b64decode(certificate) if isinstance(certificate, str) and certificate else None


def bootstrap(server: str, ca_pem: bytes, token: str, node_name: str, kubeconfig: Path, *, timeout: float = 300.0) -> Path:
    """kubeadm join's TLS bootstrap: key (0600) beside the kubeconfig, the CSR as the bootstrap token, the kubeconfig (0600)."""
    key_path = kubeconfig.with_name(kubeconfig.stem + "-client.key")
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    write_file(key_path, key_pem(new_key()))
    with ApiClient(config.ClientConfig(server=server, token=token, ca_pem=ca_pem), user_agent="kajitori-node-join") as client:
        cert_pem = request_certificate(client, node_name, key_path.read_bytes(), timeout=timeout)
    return config.write(
        kubeconfig, server, None, user=NODE_PREFIX + node_name, ca_pem=ca_pem, client_cert_pem=cert_pem, client_key_pem=key_path.read_bytes()
    )


def rotation_deadline(cert_pem: bytes, rand: Callable[[], float] = random.random) -> float:
    """Unix time at which to renew: between 70 % and 90 % of the certificate's lifetime."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    return start + (end - start) * (ROTATE_FROM + ROTATE_SPREAD * rand())


class Rotation:
    """Renews the client certificate of ``client`` (and its kubeconfig file) before it expires."""

    def __init__(self, client: ApiClient, kubeconfig: Path, node_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.kubeconfig = kubeconfig
        self.node_name = node_name
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.client.config.client_cert_pem and self.client.config.client_key_pem)

    def rotate(self) -> bytes:
        """A new key and certificate now, asked for as the node itself; returns the certificate."""
        key = key_pem(new_key())
        cert_pem = request_certificate(self.client, self.node_name, key, stop=self._stop)
        cfg = self.client.config
        config.write(self.kubeconfig, cfg.server, None, user=NODE_PREFIX + self.node_name, ca_pem=cfg.ca_pem, client_cert_pem=cert_pem, client_key_pem=key)
        write_file(self.kubeconfig.with_name(self.kubeconfig.stem + "-client.key"), key)
        self.client.reload_client_certificate(cert_pem, key)
        log.info("renewed the client certificate of node %s, valid until %s", self.node_name,
                 x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc.isoformat())  # fmt: skip
        return cert_pem

    def start(self) -> None:
        if not self.enabled:
            return  # a token kubeconfig: nothing to renew
        self._thread = threading.Thread(target=self._run, name="certificate-rotation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop renewing and wait for the loop to end.

        The caller closes the client next: a renewal still reading a watch from a socket that
        close() frees would read and write whatever connection gets that file descriptor next
        (seen in CI as another client's TLS handshake failing with WRONG_VERSION_NUMBER)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("certificate rotation of node %s did not stop within %.0fs", self.node_name, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            deadline = rotation_deadline(self.client.config.client_cert_pem or b"")
            log.info("client certificate of node %s renews at %s", self.node_name, datetime.fromtimestamp(deadline, UTC).isoformat())
            if self._stop.wait(max(0.0, deadline - self.clock())):
                return
            try:
                self.rotate()
            except (ApiError, ServerUnavailable, CertificateError) as exc:
                if self._stop.is_set():
                    return
                log.warning("renewing the client certificate failed (retrying in %.0fs): %s", RETRY_S, exc)
                if self._stop.wait(RETRY_S):
                    return

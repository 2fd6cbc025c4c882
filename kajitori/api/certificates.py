"""certificates.k8s.io/v1 CertificateSigningRequest: a request for a certificate signed by a named signer.

The requester sends a PKCS#10 request (``spec.request``, PEM, base64 in JSON), the signer
it wants (``spec.signerName``), the key usages and optionally a lifetime
(``spec.expirationSeconds``); the server records who asked (``spec.username``, ``uid``,
``groups``, ``extra``). An approver adds an ``Approved`` or ``Denied`` condition through
the ``approval`` subresource; the signer puts the certificate (PEM, base64) in
``status.certificate`` or adds a ``Failed`` condition through ``status``. The rules of a
valid object are checked here, in Kubernetes' words (``pkg/apis/certificates/validation``);
the rules between an object and its update are the strategy's.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pydantic import Field, model_validator

from kajitori.api.meta import Int32, KubeModel, TypedObject

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
MIN_EXPIRATION_SECONDS = 600
KEY_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
    "server auth", "client auth", "code signing", "email protection", "s/mime", "ipsec end system",
    "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
)  # fmt: skip
"""Kubernetes' KeyUsage values, in its order (the 422 lists them so)."""
_SIGNER_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+/[-A-Za-z0-9_.]+$")


class CertificateSigningRequestSpec(KubeModel):
    """The request, the signer asked for, the usages and lifetime, and (set by the server) who asked."""

    request: str | None = None
    """A PKCS#10 certificate request in a PEM "CERTIFICATE REQUEST" block (base64 in JSON)."""
    signerName: str | None = None
    """The signer asked for: kubernetes.io/kube-apiserver-client, kubernetes.io/kube-apiserver-client-kubelet, kubernetes.io/kubelet-serving, or another of the form example.com/name."""
    expirationSeconds: Int32 | None = None
    """The lifetime asked for, at least 600 s; the signer may give less."""
    usages: list[str] | None = None
    """Key usages asked for, e.g. "digital signature", "key encipherment", "client auth"."""
    username: str | None = None
    """Who created the request (set by the server)."""
    uid: str | None = None
    """The uid of who created the request (set by the server)."""
    groups: list[str] | None = None
    """The groups of who created the request (set by the server)."""
    extra: dict[str, list[str]] | None = None
    """Extra attributes of who created the request (set by the server)."""


class CertificateSigningRequestCondition(KubeModel):
    """Approved, Denied or Failed (or another type), with why and when."""

    type: str | None = None
    """Approved, Denied, Failed or another condition type."""
    status: str | None = None
    """True, False or Unknown; Approved and Denied conditions are True (the default)."""
    reason: str | None = None
    """A short CamelCase reason."""
    message: str | None = None
    """Details for people."""
    lastUpdateTime: str | None = None
    """When the condition was last updated."""
    lastTransitionTime: str | None = None
    """When the condition's status last changed."""


class CertificateSigningRequestStatus(KubeModel):
    """The approver's and signer's conditions and the issued certificate."""

    conditions: list[CertificateSigningRequestCondition] | None = None
    """Approved or Denied (by an approver), Failed (by the signer)."""
    certificate: str | None = None
    """The issued certificate, PEM "CERTIFICATE" blocks (base64 in JSON), set by the signer once approved."""


def pem_blocks(data: bytes, wanted: str) -> list[bytes]:
    """The DER of each PEM block of type ``wanted`` in ``data`` (any other block type: ValueError)."""
    blocks: list[bytes] = []
    for match in re.finditer(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", data, re.S):
        if match.group(1).decode() != wanted:
            raise ValueError(f"PEM block type must be {wanted}")
        try:
            blocks.append(base64.b64decode(b"".join(match.group(2).split()), validate=True))
        except (binascii.Error, ValueError):
            raise ValueError(f"the PEM {wanted} block is not base64") from None
    return blocks


def decode_bytes(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{field}: Invalid value: {_short(value)}: must be base64-encoded data") from None


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...").replace("'", '"')


def parse_request(pem: bytes) -> Any:
    """The x509.CertificateSigningRequest of a PEM request whose signature holds; ValueError saying why not."""
    from cryptography import x509

    blocks = pem_blocks(pem, "CERTIFICATE REQUEST")
    if not blocks:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    request = x509.load_der_x509_csr(blocks[0])
    if not request.is_signature_valid:
        raise ValueError("x509: ECDSA verification failure")
    return request


class CertificateSigningRequest(TypedObject):
    """A request for a certificate from a named signer, approved or denied, then signed (certificates.k8s.io/v1)."""

    apiVersion: str | None = "certificates.k8s.io/v1"
    kind: str | None = "CertificateSigningRequest"
    spec: CertificateSigningRequestSpec = Field(default_factory=CertificateSigningRequestSpec)
    """The request, the signer, the usages and lifetime asked for, and who asked."""
    status: CertificateSigningRequestStatus | None = None
    """Approval conditions and the issued certificate."""

    @model_validator(mode="after")
    def _valid(self) -> CertificateSigningRequest:
        spec = self.spec
        if not spec.request:
            raise ValueError("spec.request: Required value")
        try:
            parse_request(decode_bytes(spec.request, "spec.request"))
        except ValueError as exc:
            text = str(exc)
            raise ValueError(text if text.startswith("spec.") else f'spec.request: Invalid value: "<PEM data>": {text}') from None
        if not spec.signerName:
            raise ValueError("spec.signerName: Required value")
        if not _SIGNER_RE.match(spec.signerName) or len(spec.signerName) > 571:
            raise ValueError(
                f"spec.signerName: Invalid value: {_short(spec.signerName)}: "
                "must be a fully qualified domain and path of the form 'example.com/signer-name'"
            )
        if spec.expirationSeconds is not None and spec.expirationSeconds < MIN_EXPIRATION_SECONDS:
            raise ValueError(
                f"spec.expirationSeconds: Invalid value: {spec.expirationSeconds}: "
                "may not specify a duration less than 600 seconds (10 minutes)"
            )
        if not spec.usages:
            raise ValueError("spec.usages: Required value: usages must be provided")
        seen: set[str] = set()
        for i, usage in enumerate(spec.usages):
            if usage not in KEY_USAGES:
                supported = ", ".join(f'"{u}"' for u in KEY_USAGES)
                raise ValueError(f'spec.usages[{i}]: Unsupported value: "{usage}": supported values: {supported}')
            if usage in seen:
                raise ValueError(f'spec.usages[{i}]: Duplicate value: "{usage}"')
            seen.add(usage)
        self._valid_status()
        return self

    def _valid_status(self) -> None:
        status = self.status
        if status is None:
            return
        seen: dict[str, int] = {}
        for i, condition in enumerate(status.conditions or []):
            path = f"status.conditions[{i}]"
            if not condition.type:
                raise ValueError(f"{path}.type: Required value")
            if condition.status is None or condition.status == "":
                condition.status = "True"  # Kubernetes' default for a condition without one
            if condition.type in (APPROVED, DENIED):
                if condition.status != "True":
                    raise ValueError(f'{path}.status: Unsupported value: "{condition.status}": supported values: "True"')
                if condition.type in seen:
                    raise ValueError(f'{path}.type: Duplicate value: "{condition.type}"')
                seen[condition.type] = i
            elif condition.status not in ("True", "False", "Unknown"):
                raise ValueError(
                    f'{path}.status: Unsupported value: "{condition.status}": supported values: "False", "True", "Unknown"'
                )
        if APPROVED in seen and DENIED in seen:
            raise ValueError("status.conditions: Invalid value: conditions: Approved and Denied conditions are mutually exclusive")
        if status.certificate:
            data = decode_bytes(status.certificate, "status.certificate")
            try:
                blocks = pem_blocks(data, "CERTIFICATE")
                if not blocks:
                    raise ValueError("must contain at least one CERTIFICATE PEM block")
                from cryptography import x509

                for der in blocks:
                    x509.load_der_x509_certificate(der)
            except ValueError as exc:
                raise ValueError(f'status.certificate: Invalid value: "<certificate data>": {exc}') from None

    def condition(self, kind: str) -> CertificateSigningRequestCondition | None:
        for condition in (self.status.conditions if self.status else None) or []:
            if condition.type == kind:
                return condition
        return None

    @property
    def approved(self) -> bool:
        return self.condition(APPROVED) is not None

    @property
    def denied(self) -> bool:
        return self.condition(DENIED) is not None

    @property
    def failed(self) -> bool:
        return self.condition(FAILED) is not None

    @property
    def request_pem(self) -> bytes:
        return base64.b64decode(self.spec.request or "")


NODE_CLIENT_USAGE_SETS = (
    frozenset({"digital signature", "client auth"}),
    frozenset({"key encipherment", "digital signature", "client auth"}),
)
"""The usages a kubelet client certificate asks for (the second, with key encipherment, is the older kubelets')."""
NODE_PREFIX, NODES = "system:node:", "system:nodes"


def node_client_problem(spec: CertificateSigningRequestSpec, request: Any) -> str | None:
    """Why a request is not a node's client certificate of Kubernetes' shape, or None when it is.

    The shape: the kube-apiserver-client-kubelet signer, ``O=system:nodes`` alone,
    ``CN=system:node:<name>``, no subject alternative names, and one of the kubelet's usage sets.
    """
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if spec.signerName != KUBE_APISERVER_CLIENT_KUBELET:
        return f"signerName is not {KUBE_APISERVER_CLIENT_KUBELET}"
    orgs = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if orgs != [NODES]:
        return f'subject organization is not "{NODES}"'
    names = [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if len(names) != 1 or not str(names[0]).startswith(NODE_PREFIX) or str(names[0]) == NODE_PREFIX:
        return f'subject common name does not begin with "{NODE_PREFIX}"'
    try:
        request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return "subject alternative names are not allowed"
    except x509.ExtensionNotFound:
        pass
    if frozenset(spec.usages or ()) not in NODE_CLIENT_USAGE_SETS or len(set(spec.usages or ())) != len(spec.usages or ()):
        return f"usages did not match [client auth digital signature] (or with key encipherment): {sorted(spec.usages or ())}"
    return None


def common_name(request: Any) -> str:
    from cryptography.x509.oid import NameOID

    names = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""

"""The CSR signer: approved requests of the API server's client signers get a certificate of the cluster CA.

As kube-controller-manager's ``csrsigning`` controller for the two signers whose
certificates the API server trusts for clients: ``kubernetes.io/kube-apiserver-client``
and ``kubernetes.io/kube-apiserver-client-kubelet``. A CertificateSigningRequest added or
changed puts its name on the queue; reconcile(name) signs one that is Approved, not
Failed, has no certificate yet and names one of those signers. The lifetime is the one
asked for (``spec.expirationSeconds``) capped by ``csr_signing_duration_s`` (and the CA's
own). A request the signer refuses gets a ``Failed`` condition (reason
``SignerValidationFailure``) instead: a kubelet signer request that is no node client
certificate, or a client request for usages other than client authentication or for
``system:masters``. The certificate goes in through the ``status`` subresource. The CA's key
is read from the master's data dir, where kube-controller-manager reads ``--cluster-signing-key-file``.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from cryptography.x509.oid import NameOID

from kajitori.api.certificates import (
    FAILED,
    KUBE_APISERVER_CLIENT,
    KUBE_APISERVER_CLIENT_KUBELET,
    CertificateSigningRequest,
    node_client_problem,
    parse_request,
)
from kajitori.api.registry import by_model
from kajitori.client import NotFoundError
from kajitori.controller import Controller
from master.apiserver.certs import sign_request
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

CSRS = by_model(CertificateSigningRequest)
SIGNERS = (KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET)
CLIENT_USAGES = frozenset({"client auth", "digital signature", "key encipherment"})


def refusal(csr: CertificateSigningRequest, request: object) -> str | None:
    """Why the signer will not sign this request, or None."""
    if csr.spec.signerName == KUBE_APISERVER_CLIENT_KUBELET:
        return node_client_problem(csr.spec, request)
    usages = set(csr.spec.usages or ())
    if "client auth" not in usages or not usages <= CLIENT_USAGES:
        return f"invalid usages for a client certificate: {sorted(usages - CLIENT_USAGES) or ['no client auth']}"
    orgs = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]  # type: ignore[attr-defined]
    if "system:masters" in orgs:
        return f"use of {KUBE_APISERVER_CLIENT} signer with system:masters group is not allowed"
    return None


class CSRSigningController:
    def __init__(self, ctx: LoopContext, *, pki: Path) -> None:
        self.client = ctx.client
        self.pki = pki
        self.max_seconds = ctx.settings.csr_signing_duration_s
        self.csrs = ctx.informers.informer(CertificateSigningRequest)
        self.controller = Controller("csrsigning", self.reconcile, informers=[self.csrs])
        self.csrs.add_handlers(self._enqueue, lambda _old, new: self._enqueue(new))

    def _enqueue(self, csr: CertificateSigningRequest) -> None:
        self.controller.enqueue(csr.metadata.name or "")

    def reconcile(self, name: str) -> None:
        csr = self.csrs.get(name)
        if csr is None or not csr.approved or csr.failed or csr.spec.signerName not in SIGNERS:
            return
        if csr.status is not None and csr.status.certificate:
            return
        obj = csr.to_dict()
        status = obj.setdefault("status", {})
        try:
            request = parse_request(csr.request_pem)
            why = refusal(csr, request)
        except ValueError as exc:
            why = f"unable to parse csr: {exc}"
        if why is not None:
            status.setdefault("conditions", []).append(
                {"type": FAILED, "status": "True", "reason": "SignerValidationFailure", "message": why}
            )
            log.info("not signing %s: %s", name, why)
        else:
            seconds = min(csr.spec.expirationSeconds or self.max_seconds, self.max_seconds)
            pem = sign_request(self.pki, request, list(csr.spec.usages or ()), seconds)
            status["certificate"] = base64.b64encode(pem).decode("ascii")
        try:
            self.client.request("PUT", CSRS.path(None, name, "status"), body=obj)
        except NotFoundError:
            return
        if why is None:
            log.info("signed %s for %s (%d s)", name, csr.spec.username, seconds)

"""The CSR approver: node client certificates of the right shape are approved automatically.

As kube-controller-manager's ``csrapproving`` controller (its SubjectAccessReview approver):
a CertificateSigningRequest added or changed puts its name on the queue; reconcile(name)
leaves alone one already Approved or Denied, or one that is not a node client
certificate of Kubernetes' shape (``kajitori.api.certificates.node_client_problem``). For
one that is, it asks, by a SubjectAccessReview as the request's creator (``spec.username``,
``groups``, ``uid``, ``extra``), whether they may ``create`` ``certificatesigningrequests/
selfnodeclient`` (a node renewing its own certificate: CN equals its user name) or
``certificatesigningrequests/nodeclient`` (a bootstrapper asking for a new node's), and
approves through the ``approval`` subresource when one of them is allowed (RBAC's
defaults grant them to ``system:nodes`` and ``system:bootstrappers``). Everything else
stays Pending until someone approves or denies it (``kubectl certificate approve``).
"""

from __future__ import annotations

import logging
from typing import Any

from kajitori.api.certificates import (
    APPROVED,
    CertificateSigningRequest,
    common_name,
    node_client_problem,
    parse_request,
)
from kajitori.api.registry import by_model
from kajitori.client import NotFoundError
from kajitori.controller import Controller
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

CSRS = by_model(CertificateSigningRequest)
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


class CSRApprovingController:
    def __init__(self, ctx: LoopContext) -> None:
        self.client = ctx.client
        self.csrs = ctx.informers.informer(CertificateSigningRequest)
        self.controller = Controller("csrapproving", self.reconcile, informers=[self.csrs])
        self.csrs.add_handlers(self._enqueue, lambda _old, new: self._enqueue(new))

    def _enqueue(self, csr: CertificateSigningRequest) -> None:
        self.controller.enqueue(csr.metadata.name or "")

    def reconcile(self, name: str) -> None:
        csr = self.csrs.get(name)
        if csr is None or csr.approved or csr.denied or csr.failed:
            return
        try:
            request = parse_request(csr.request_pem)
        except ValueError:
            return  # the API server validated it; a request it cannot read is for a person to deny
        if node_client_problem(csr.spec, request) is not None:
            return
        checks = [("nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview.")]
        if common_name(request) == csr.spec.username:
            checks.insert(0, ("selfnodeclient", "Auto approving self kubelet client certificate after SubjectAccessReview."))
        for subresource, message in checks:
            if self._allowed(csr, subresource):
                self._approve(csr, message)
                return

    def _allowed(self, csr: CertificateSigningRequest, subresource: str) -> bool:
        spec = csr.spec
        review: dict[str, Any] = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": spec.username or "",
                "groups": list(spec.groups or []),
                "resourceAttributes": {
                    "group": "certificates.k8s.io",
                    "resource": "certificatesigningrequests",
                    "verb": "create",
                    "subresource": subresource,
                },
            },
        }
        if spec.uid:
            review["spec"]["uid"] = spec.uid
        if spec.extra:
            review["spec"]["extra"] = spec.extra
        answer = self.client.request("POST", SAR_PATH, body=review)
        return bool(((answer or {}).get("status") or {}).get("allowed"))

    def _approve(self, csr: CertificateSigningRequest, message: str) -> None:
        obj = csr.to_dict()
        status = obj.setdefault("status", {})
        status.setdefault("conditions", []).append(
            {"type": APPROVED, "status": "True", "reason": "AutoApproved", "message": message}
        )
        try:
            self.client.request("PUT", CSRS.path(None, obj["metadata"]["name"], "approval"), body=obj)
        except NotFoundError:
            return
        log.info("approved %s for %s (%s)", csr.metadata.name, csr.spec.username, message)

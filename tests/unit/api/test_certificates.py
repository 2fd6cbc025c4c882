"""CertificateSigningRequest: the model's validation in Kubernetes' words, the node-client shape,
and what the approval and status subresources may change (the strategy)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from kajitori.api.certificates import CertificateSigningRequest, node_client_problem, parse_request
from kajitori.certificate_request import csr_manifest, new_key, request_pem
from master.apiserver.strategies.base import FieldError
from master.apiserver.strategies.certificates import CertificateSigningRequestStrategy

NODE_REQUEST = request_pem(new_key(), "system:node:n1", ("system:nodes",))


def valid(manifest: dict[str, Any]) -> CertificateSigningRequest:
    return CertificateSigningRequest.model_validate(manifest)


def refusal(manifest: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as exc:
        valid(manifest)
    return str(exc.value.errors()[0]["msg"]).removeprefix("Value error, ")


def with_spec(**change: Any) -> dict[str, Any]:
    manifest = csr_manifest("n1", NODE_REQUEST)
    manifest["spec"].update(change)
    return manifest


def test_a_node_client_request_is_valid_and_of_the_node_shape() -> None:
    csr = valid(csr_manifest("n1", NODE_REQUEST))
    assert node_client_problem(csr.spec, parse_request(csr.request_pem)) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"request": None}, "spec.request: Required value"),
        ({"request": "not base64!"}, 'spec.request: Invalid value: "not base64!": must be base64-encoded data'),
        ({"request": base64.b64encode(b"hello").decode()}, 'spec.request: Invalid value: "<PEM data>": PEM block type must be CERTIFICATE REQUEST'),
        ({"signerName": ""}, "spec.signerName: Required value"),
        ({"signerName": "example.com"}, "must be a fully qualified domain and path of the form 'example.com/signer-name'"),
        ({"usages": []}, "spec.usages: Required value: usages must be provided"),
        ({"usages": ["client auth", "client auth"]}, 'spec.usages[1]: Duplicate value: "client auth"'),
        ({"usages": ["fly"]}, 'spec.usages[0]: Unsupported value: "fly": supported values: "signing"'),
        ({"expirationSeconds": 599}, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"),
    ],
)
def test_invalid_specs_are_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    assert message in refusal(with_spec(**change))


def test_a_request_whose_signature_does_not_hold_is_refused() -> None:
    pem = bytearray(NODE_REQUEST)
    body_at = pem.index(b"\n") + 200
    pem[body_at] = ord("A") if pem[body_at] != ord("A") else ord("B")
    message = refusal(with_spec(request=base64.b64encode(bytes(pem)).decode()))
    assert message.startswith('spec.request: Invalid value: "<PEM data>"')


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([{"type": "Approved"}, {"type": "Denied"}], "Approved and Denied conditions are mutually exclusive"),
        ([{"type": "Approved"}, {"type": "Approved"}], 'status.conditions[1].type: Duplicate value: "Approved"'),
        ([{"type": "Approved", "status": "False"}], 'status.conditions[0].status: Unsupported value: "False": supported values: "True"'),
        ([{"status": "True"}], "status.conditions[0].type: Required value"),
    ],
)
def test_invalid_conditions_are_refused(conditions: list[dict[str, Any]], message: str) -> None:
    manifest = csr_manifest("n1", NODE_REQUEST)
    manifest["status"] = {"conditions": conditions}
    assert message in refusal(manifest)


@pytest.mark.parametrize(
    ("user", "groups", "usages", "signer", "problem"),
    [
        ("system:node:n1", ("system:nodes",), ("digital signature", "client auth", "server auth"), None, "usages did not match"),
        ("system:node:n1", ("system:nodes", "system:masters"), None, None, 'organization is not "system:nodes"'),
        ("alice", ("system:nodes",), None, None, 'common name does not begin with "system:node:"'),
        ("system:node:n1", ("system:nodes",), None, "kubernetes.io/kube-apiserver-client", "signerName is not"),
    ],
)
def test_other_shapes_are_no_node_client(user: str, groups: tuple[str, ...], usages: tuple[str, ...] | None, signer: str | None, problem: str) -> None:
    manifest = csr_manifest("x", request_pem(new_key(), user, groups))
    if usages:
        manifest["spec"]["usages"] = list(usages)
    if signer:
        manifest["spec"]["signerName"] = signer
    csr = valid(manifest)
    assert problem in (node_client_problem(csr.spec, parse_request(csr.request_pem)) or "")


def stored(conditions: list[dict[str, Any]] | None = None, certificate: str | None = None) -> dict[str, Any]:
    obj = valid(csr_manifest("n1", NODE_REQUEST)).to_dict()
    status: dict[str, Any] = {}
    if conditions is not None:
        status["conditions"] = conditions
    if certificate:
        status["certificate"] = certificate
    if status:
        obj["status"] = status
    return obj


def test_approval_changes_only_conditions_and_never_removes_a_decision() -> None:
    strategy = CertificateSigningRequestStrategy()
    old = stored()
    new = stored([{"type": "Approved", "status": "True", "reason": "OK"}], certificate="Zm9v")
    new["spec"]["signerName"] = "example.com/other"
    merged = strategy.merge_subresource("approval", new, old)
    assert merged["spec"] == old["spec"]
    assert "certificate" not in merged["status"]
    assert merged["status"]["conditions"][0]["lastTransitionTime"]
    with pytest.raises(FieldError, match='may not remove a condition of type "Approved"'):
        strategy.merge_subresource("approval", stored([]), merged)


def test_status_may_not_decide_and_sets_a_certificate_only_once_approved() -> None:
    strategy = CertificateSigningRequestStrategy()
    with pytest.raises(FieldError, match='may not add a condition of type "Approved"'):
        strategy.merge_subresource("status", stored([{"type": "Approved"}]), stored())
    with pytest.raises(FieldError, match="certificate can only be set on an approved"):
        strategy.merge_subresource("status", stored(certificate="Zm9v"), stored())
    approved = stored([{"type": "Approved", "status": "True"}])
    issued = strategy.merge_subresource("status", stored([{"type": "Approved", "status": "True"}], certificate="Zm9v"), approved)
    assert issued["status"]["certificate"] == "Zm9v"
    with pytest.raises(FieldError, match="may not modify existing certificate content"):
        strategy.merge_subresource("status", stored([{"type": "Approved", "status": "True"}], certificate="YmFy"), issued)

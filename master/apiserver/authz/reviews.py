"""Access reviews: ask the authorizer a question and get its answer as an object.

``SelfSubjectAccessReview`` (may I?), ``SubjectAccessReview`` (may they?),
``SelfSubjectRulesReview`` (what may I in this namespace?) of ``authorization.k8s.io/v1``,
and ``SelfSubjectReview`` (who am I?) of ``authentication.k8s.io/v1`` and ``v1beta1``: what
``kubectl auth can-i [--list]`` and ``kubectl auth whoami`` send. Reviews are created,
answered and never stored, as in Kubernetes. The rules review lists the RBAC rules held
(the Node authorizer's graph is not listed, as Kubernetes does not either).
"""

from __future__ import annotations

from typing import Any

from master.apiserver import errors
from master.apiserver.authn import MASTERS, UserInfo
from master.apiserver.authz import Authorizer
from master.apiserver.authz.attributes import Attributes

AUTHORIZATION = "authorization.k8s.io"
AUTHENTICATION = "authentication.k8s.io"

DISCOVERY: dict[tuple[str, str], list[dict[str, Any]]] = {
    (AUTHORIZATION, "v1"): [
        {"name": plural, "singularName": plural[:-1], "namespaced": plural.startswith("local"), "kind": kind, "verbs": ["create"]}
        for plural, kind in (
            ("localsubjectaccessreviews", "LocalSubjectAccessReview"),
            ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
            ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
            ("subjectaccessreviews", "SubjectAccessReview"),
        )
    ],
    (AUTHENTICATION, "v1"): [
        {
            "name": "selfsubjectreviews",
            "singularName": "selfsubjectreview",
            "namespaced": False,
            "kind": "SelfSubjectReview",
            "verbs": ["create"],
        }
    ],
}
"""The review resources' discovery entries, per (group, version); v1 is each group's preferred version."""

REVIEW_KINDS = {
    (AUTHORIZATION, "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    (AUTHORIZATION, "subjectaccessreviews"): "SubjectAccessReview",
    (AUTHORIZATION, "localsubjectaccessreviews"): "LocalSubjectAccessReview",
    (AUTHORIZATION, "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
    (AUTHENTICATION, "selfsubjectreviews"): "SelfSubjectReview",
}


def _attributes(user: UserInfo, spec: dict[str, Any]) -> Attributes:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if isinstance(resource, dict):
        return Attributes(
            user,
            str(resource.get("verb") or ""),
            True,
            api_group=str(resource.get("group") or ""),
            api_version=str(resource.get("version") or ""),
            namespace=str(resource.get("namespace") or ""),
            resource=str(resource.get("resource") or ""),
            subresource=str(resource.get("subresource") or ""),
            name=str(resource.get("name") or ""),
        )
    if isinstance(non_resource, dict):
        return Attributes(
            user, str(non_resource.get("verb") or ""), False, path=str(non_resource.get("path") or "")
        )
    raise errors.ApiError(
        422,
        "Invalid",
        "spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
    )


def _access_status(authorizer: Authorizer | None, attrs: Attributes) -> dict[str, Any]:
    if authorizer is None:
        return {"allowed": True}
    decision = authorizer.decide(attrs)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status


def review(
    group: str, version: str, plural: str, body: Any, user: UserInfo, authorizer: Authorizer | None, namespace: str = ""
) -> dict[str, Any]:
    kind = REVIEW_KINDS.get((group, plural))
    if kind is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON or YAML object")
    given = body.get("spec")
    spec: dict[str, Any] = given if isinstance(given, dict) else {}
    answer: dict[str, Any] = {
        "kind": kind,
        "apiVersion": f"{group}/{version}",
        "metadata": {"creationTimestamp": None},
    }
    if kind == "SelfSubjectReview":
        info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        answer["status"] = {"userInfo": info}
        return answer
    answer["spec"] = spec
    if kind == "SelfSubjectAccessReview":
        answer["status"] = _access_status(authorizer, _attributes(user, spec))
    elif kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        if kind == "LocalSubjectAccessReview":
            # The review's namespace is the URL's, as Kubernetes requires of a local review.
            attributes = spec.get("resourceAttributes")
            if not isinstance(attributes, dict) or attributes.get("namespace", namespace) != namespace:
                raise errors.ApiError(422, "Invalid", f"spec.resourceAttributes.namespace: Invalid value: must be {namespace!r}")
            answer["metadata"]["namespace"] = namespace
        subject = UserInfo(
            str(spec.get("user") or ""),
            tuple(str(g) for g in spec.get("groups") or ()),
            str(spec.get("uid") or ""),
        )
        if not subject.name and not subject.groups:
            raise errors.ApiError(
                422, "Invalid", "spec.user: Invalid value: at least one of user or group must be specified"
            )
        answer["status"] = _access_status(authorizer, _attributes(subject, spec))
    else:
        answer["status"] = rules_status(authorizer, user, str(spec.get("namespace") or ""))
    return answer


def rules_status(authorizer: Authorizer | None, user: UserInfo, namespace: str) -> dict[str, Any]:
    if authorizer is None:
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    rules = authorizer.rbac.index().rules_for(user, namespace)
    if MASTERS in user.groups:
        rules = [
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]},
            *rules,
        ]
    resource_rules, url_rules = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            url_rules.append({"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]})
        if rule.get("resources"):
            entry = {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
            entry.setdefault("verbs", [])
            resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": url_rules, "incomplete": False}

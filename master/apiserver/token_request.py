"""``POST /api/v1/namespaces/NS/serviceaccounts/NAME/token``: the TokenRequest API.

The body is an ``authentication.k8s.io/v1`` TokenRequest (JSON or protobuf, as
``kubectl create token`` sends it): ``spec.audiences`` (empty: the API server's own),
``spec.expirationSeconds`` (default 3600, at least 600, at most 2^32) and an optional
``spec.boundObjectRef`` to a Pod of the same namespace (by name, and uid if given).
The answer (201) is the same TokenRequest with ``status.token`` (a JWT from
``master.apiserver.serviceaccount_tokens``) and ``status.expirationTimestamp``. Nothing
is stored: a token lives only as long as its claims and the objects they name.
"""

from __future__ import annotations

from typing import Any

from kajitori.api.meta import StatusCause
from kajitori.api.registry import by_name
from kajitori.clock import format_time
from master.apiserver import errors
from master.apiserver.resources import ResourceAPI
from master.apiserver.serviceaccount_tokens import (
    DEFAULT_EXPIRATION_S,
    MAX_EXPIRATION_S,
    MIN_EXPIRATION_S,
    ServiceAccountTokens,
)

SERVICE_ACCOUNTS = by_name("serviceaccounts")
PODS = by_name("pods")
API_VERSION = "authentication.k8s.io/v1"


def _invalid(name: str, field: str, message: str) -> errors.ApiError:
    return errors.ApiError(
        422,
        "Invalid",
        f'TokenRequest.authentication.k8s.io "{name}" is invalid: {field}: {message}',
        name=name,
        causes=[StatusCause(reason="FieldValueInvalid", field=field, message=message)],
        kind="TokenRequest",
    )


def request_token(api: ResourceAPI, tokens: ServiceAccountTokens, namespace: str, name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a TokenRequest object")
    if body.get("kind") not in (None, "TokenRequest") or body.get("apiVersion") not in (None, API_VERSION):
        raise errors.bad_request(f"the body is a {body.get('apiVersion')} {body.get('kind')}, not an {API_VERSION} TokenRequest")
    raw_spec, raw_meta = body.get("spec"), body.get("metadata")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    expiration = spec.get("expirationSeconds")
    if expiration is None:
        expiration = DEFAULT_EXPIRATION_S
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        raise _invalid(name, "spec.expirationSeconds", f"Invalid value: {expiration!r}: must be an integer")
    if expiration < MIN_EXPIRATION_S:
        raise _invalid(name, "spec.expirationSeconds", f"Invalid value: {expiration}: may not specify a duration less than 10 minutes")
    if expiration > MAX_EXPIRATION_S:
        raise _invalid(name, "spec.expirationSeconds", f"Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds")
    audiences = spec.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise _invalid(name, "spec.audiences", "Invalid value: must be a list of strings")
    sa = api.load(SERVICE_ACCOUNTS, namespace, name).obj
    pod: tuple[str, str] | None = None
    ref = spec.get("boundObjectRef")
    if ref:
        if not isinstance(ref, dict) or ref.get("kind") != "Pod" or ref.get("apiVersion", "v1") != "v1":
            raise _invalid(name, "spec.boundObjectRef.kind", f'Unsupported value: "{(ref or {}).get("kind")}": supported values: "Pod"')
        pod_obj = api.load(PODS, namespace, str(ref.get("name") or "")).obj
        pod_uid = pod_obj["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != pod_uid:
            raise errors.conflict(
                PODS, str(ref.get("name")), f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record ({pod_uid})"
            )
        pod = (pod_obj["metadata"]["name"], pod_uid)
        ref = {**ref, "uid": pod_uid}
    issued = tokens.issue(
        namespace=namespace, name=name, uid=sa["metadata"]["uid"], audiences=audiences, expiration_s=expiration, pod=pod
    )
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    return {
        "kind": "TokenRequest",
        "apiVersion": API_VERSION,
        "metadata": {**meta, "name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {
            "audiences": list(audiences or tokens.audiences),
            "expirationSeconds": expiration,
            "boundObjectRef": ref or None,
        },
        "status": {"token": issued.token, "expirationTimestamp": format_time(issued.expires)},
    }

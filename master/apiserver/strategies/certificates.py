"""The rules of CertificateSigningRequests between a write and what is stored (Kubernetes' csr strategies).

- A create records who asked (``spec.username``, ``uid``, ``groups``, ``extra`` of the
  request's user, whatever the body said) and starts without status.
- An update of the object itself changes only metadata: spec and status stay.
- ``approval`` changes only the conditions: Approved and Denied may be added, never removed.
- ``status`` changes the conditions and the certificate, but may not add or remove Approved
  or Denied (that is ``approval``'s), may set a certificate only on an approved, not failed
  request, and never change one that is set.
Condition times are filled where a writer left them out (``lastUpdateTime``,
``lastTransitionTime``), as the API server does.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from kajitori.api.certificates import APPROVED, DENIED, FAILED
from master.apiserver.authz import current_user
from master.apiserver.strategies.base import FieldError, Obj, Strategy

_DECISIONS = (APPROVED, DENIED)


def _conditions(obj: Obj) -> list[dict[str, object]]:
    return list(((obj.get("status") or {}).get("conditions")) or [])


def _types(obj: Obj) -> set[str]:
    return {str(c.get("type")) for c in _conditions(obj) if isinstance(c, dict)}


def _stamp(conditions: list[dict[str, object]], old: list[dict[str, object]]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = {c.get("type"): c for c in old if isinstance(c, dict)}
    for condition in conditions:
        if not isinstance(condition, dict):
            continue
        previous = before.get(condition.get("type"))
        if previous is not None and previous.get("status") == condition.get("status", "True"):
            condition.setdefault("lastTransitionTime", previous.get("lastTransitionTime"))
        condition.setdefault("lastUpdateTime", now)
        if not condition.get("lastTransitionTime"):
            condition["lastTransitionTime"] = now


class CertificateSigningRequestStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for field in ("username", "uid", "groups", "extra"):
            spec.pop(field, None)
        user = current_user.get()
        if user is None:
            return
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        spec["groups"] = list(user.groups)
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra.items()}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new["spec"] = copy.deepcopy(old.get("spec"))

    def merge_subresource(self, subresource: str, new: Obj, old: Obj) -> Obj:
        merged = copy.deepcopy(old)
        status = merged.setdefault("status", {})
        new_status = new.get("status") or {}
        if not isinstance(new_status, dict):
            raise FieldError("status", "must be an object")
        conditions = copy.deepcopy(new_status.get("conditions") or [])
        if not isinstance(conditions, list):
            raise FieldError("status.conditions", "must be a list")
        old_types = _types(old)
        new_types = {str(c.get("type")) for c in conditions if isinstance(c, dict)}
        for kind in _DECISIONS:
            if kind in old_types and kind not in new_types:
                raise FieldError("status.conditions", f'Forbidden: updates may not remove a condition of type "{kind}"')
        if subresource == "status":
            for kind in _DECISIONS:
                if kind in new_types and kind not in old_types:
                    raise FieldError("status.conditions", f'Forbidden: updates may not add a condition of type "{kind}"')
            certificate = new_status.get("certificate")
            if old.get("status", {}).get("certificate") and certificate != old["status"]["certificate"]:
                raise FieldError("status.certificate", "Forbidden: updates may not modify existing certificate content")
            if certificate and not old.get("status", {}).get("certificate"):
                if APPROVED not in new_types:
                    raise FieldError("status.certificate", "Invalid value: \"<certificate data>\": certificate can only be set on an approved CertificateSigningRequest")
                if FAILED in new_types:
                    raise FieldError("status.certificate", "Invalid value: \"<certificate data>\": certificate cannot be set on a failed CertificateSigningRequest")
            if certificate:
                status["certificate"] = certificate
            else:
                status.pop("certificate", None)
        _stamp(conditions, _conditions(old))
        status["conditions"] = conditions
        if not conditions:
            status.pop("conditions")
        return merged

"""Admission checks that need the requesting user: RBAC escalation prevention and NodeRestriction.

``ResourceAPI`` calls `Admission.admit` after a create or update is validated and before it
is stored, with the user of the request (``current_user``; None when auth is off, which
admits everything).

- Escalation, as Kubernetes: a Role or ClusterRole may only hold rules its writer holds
  (in the Role's namespace, or cluster-wide), unless the writer may ``escalate`` it; a
  RoleBinding or ClusterRoleBinding may only name a role whose rules its writer holds,
  unless the writer may ``bind`` that role.
- CertificateApproval / CertificateSigning: approving or denying a CertificateSigningRequest
  needs ``approve``, setting its certificate ``sign``, on ``signers`` named by its signerName.
- NodeRestriction: a node creates only its own Node and Lease, and never adds, changes or
  removes ``node-restriction.kubernetes.io/`` labels of its Node.
"""

from __future__ import annotations

import json
from typing import Any

from kajitori.api.registry import Resource
from master.apiserver import errors
from master.apiserver.authn import MASTERS, UserInfo
from master.apiserver.authz import Authorizer, current_user
from master.apiserver.authz.attributes import Attributes
from master.apiserver.authz.node import LEASE_NAMESPACE, node_name
from master.apiserver.authz.rbac import GROUP, aggregated_rules
from master.apiserver.authz.rules import Rule, uncovered

RESTRICTED_LABEL_PREFIX = "node-restriction.kubernetes.io/"
CERTIFICATES = "certificates.k8s.io"
_RBAC_ROLES = {"Role": "roles", "ClusterRole": "clusterroles"}


def _what(resource: Resource) -> str:
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


def _forbidden(resource: Resource, name: str, why: str) -> errors.ApiError:
    return errors.ApiError(
        403, "Forbidden", f'{_what(resource)} "{name}" is forbidden: {why}', name=name, resource=resource
    )


def _rule_text(rule: Rule) -> str:
    if rule.get("nonResourceURLs"):
        return f"{{NonResourceURLs:{json.dumps(rule['nonResourceURLs'])}, Verbs:{json.dumps(rule['verbs'])}}}"
    names = f", ResourceNames:{json.dumps(rule['resourceNames'])}" if rule.get("resourceNames") else ""
    return f"{{APIGroups:{json.dumps(rule['apiGroups'])}, Resources:{json.dumps(rule['resources'])}{names}, Verbs:{json.dumps(rule['verbs'])}}}"


class Admission:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def admit(self, resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        user = current_user.get()
        if user is None or MASTERS in user.groups:
            return
        if resource.group == GROUP:
            self._check_escalation(user, resource, obj)
        if resource.group == CERTIFICATES and old is not None:
            self._check_signer_rights(user, resource, obj, old)
        node = node_name(user)
        if node is not None:
            self._restrict_node(node, resource, obj, old)

    # -- RBAC ------------------------------------------------------------------

    def _may(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str) -> bool:
        attrs = Attributes(
            user,
            verb,
            True,
            api_group=GROUP,
            api_version="v1",
            namespace=namespace,
            resource=resource,
            name=name,
        )
        return self.authorizer.allows(attrs)

    def _check_escalation(self, user: UserInfo, resource: Resource, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name", ""), meta.get("namespace") or ""
        index = self.authorizer.rbac.index()
        if resource.kind in _RBAC_ROLES:
            if self._may(user, "escalate", resource.plural, namespace, name):
                return
            wanted: list[Rule] = list(obj.get("rules") or [])
            if resource.kind == "ClusterRole" and obj.get("aggregationRule"):
                wanted = (
                    aggregated_rules(
                        obj, [{"metadata": {"name": n}, "rules": r} for n, r in index.cluster_roles.items()]
                    )
                    or []
                )
        elif resource.kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            ref_kind, ref_name = ref.get("kind", ""), ref.get("name", "")
            if ref_kind in _RBAC_ROLES and self._may(
                user, "bind", _RBAC_ROLES[ref_kind], namespace if ref_kind == "Role" else "", ref_name
            ):
                return
            wanted = (
                index.cluster_roles.get(ref_name, [])
                if ref_kind == "ClusterRole"
                else index.roles.get((namespace, ref_name), [])
            )
        else:
            return
        missing = uncovered(index.rules_for(user, namespace), wanted)
        if missing:
            groups = json.dumps(list(user.groups))
            detail = "\n".join(_rule_text(r) for r in missing)
            raise _forbidden(
                resource,
                name,
                f'user "{user.name}" (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{detail}',
            )

    # -- CertificateApproval and CertificateSigning --------------------------------

    def _check_signer_rights(self, user: UserInfo, resource: Resource, obj: dict[str, Any], old: dict[str, Any]) -> None:
        """Approving or denying needs ``approve``, issuing ``sign``, on ``signers`` of the request's
        signerName (or its ``<domain>/*``), as Kubernetes' admission plugins of those names."""
        signer = str((obj.get("spec") or {}).get("signerName") or "")

        def decisions(o: dict[str, Any]) -> list[Any]:
            return [c for c in (o.get("status") or {}).get("conditions") or [] if c.get("type") in ("Approved", "Denied")]

        for verb, changed in (
            ("approve", decisions(obj) != decisions(old)),
            ("sign", (obj.get("status") or {}).get("certificate") != (old.get("status") or {}).get("certificate")),
        ):
            if not changed:
                continue
            domain = signer.split("/", 1)[0]
            if not any(
                self.authorizer.allows(Attributes(user, verb, True, api_group=CERTIFICATES, api_version="v1", resource="signers", name=n))
                for n in (signer, f"{domain}/*")
            ):
                name = (obj.get("metadata") or {}).get("name", "")
                raise _forbidden(resource, name, f'user not permitted to {verb} requests with signerName "{signer}"')

    # -- NodeRestriction ---------------------------------------------------------

    def _restrict_node(
        self, node: str, resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if resource.group == "" and resource.kind == "Node":
            if name != node:
                raise _forbidden(resource, name, f'node "{node}" is not allowed to modify node "{name}"')
            new_labels = {
                k: v for k, v in (meta.get("labels") or {}).items() if k.startswith(RESTRICTED_LABEL_PREFIX)
            }
            old_labels = {
                k: v
                for k, v in (((old or {}).get("metadata") or {}).get("labels") or {}).items()
                if k.startswith(RESTRICTED_LABEL_PREFIX)
            }
            changed = sorted(
                k for k in set(new_labels) | set(old_labels) if new_labels.get(k) != old_labels.get(k)
            )
            if changed:
                raise _forbidden(resource, name, f"is not allowed to modify labels: {', '.join(changed)}")
        is_lease = resource.kind == "Lease" and resource.group == "coordination.k8s.io"
        if is_lease and (meta.get("namespace") != LEASE_NAMESPACE or name != node):
            raise _forbidden(
                resource,
                name,
                f'can only access node lease with the same name as the requesting node "{node}"',
            )

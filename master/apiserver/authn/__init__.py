"""Authentication, the API server's first gate: who is asking.

A request is offered to a list of authenticators in order; the first that knows the
credentials answers a `UserInfo`, and a request none of them knows is anonymous (401
everywhere but the public paths). Each authenticator is one callable taking the
`Credentials` of a request (its bearer token and the subject of its verified TLS
client certificate) and answering a `UserInfo` or None, so a new kind of credential
(ServiceAccount JWTs, bootstrap tokens) is one more entry in the list.
Every authenticated user also gets the group ``system:authenticated``, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"
NODES = "system:nodes"
NODE_PREFIX = "system:node:"
INGRESS_CONTROLLER_USER = "kajitori:ingress-controller"
"""The ingress controllers' own identity (a client certificate the master issues, as kube-proxy's)."""
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
CLUSTER_DNS_USER = "kajitori:cluster-dns"
"""The master's cluster DNS (CoreDNS runs as its ServiceAccount; Kajitori's runs in the master, on a certificate)."""
MASTER_ENDPOINTS_USER = "kajitori:master-endpoints"
"""The loop keeping each master's Lease and the ``kubernetes``/``kube-dns`` Endpoints (inside kube-apiserver upstream)."""


@dataclass(frozen=True)
class UserInfo:
    """Kubernetes' user.Info: a name, groups, and optional uid and extra values."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)

    def with_authenticated(self) -> UserInfo:
        if AUTHENTICATED in self.groups:
            return self
        return UserInfo(self.name, (*self.groups, AUTHENTICATED), self.uid, self.extra)


@dataclass(frozen=True)
class ClientCertificate:
    """The subject of a client certificate the TLS layer verified against the cluster CA."""

    common_name: str
    organizations: tuple[str, ...]


@dataclass(frozen=True)
class Credentials:
    token: str | None
    certificate: ClientCertificate | None


Authenticator = Callable[[Credentials], "UserInfo | None"]


def x509_authenticator(credentials: Credentials) -> UserInfo | None:
    """CN is the user, each O a group (Kubernetes' x509 request authenticator)."""
    cert = credentials.certificate
    if cert is None or not cert.common_name:
        return None
    return UserInfo(cert.common_name, cert.organizations)


def authenticate(authenticators: Sequence[Authenticator], credentials: Credentials) -> UserInfo | None:
    for authenticator in authenticators:
        user = authenticator(credentials)
        if user is not None:
            return user.with_authenticated()
    return None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def certificate_from_peercert(peercert: dict[str, object] | None) -> ClientCertificate | None:
    """What ``ssl.SSLObject.getpeercert()`` gives for a verified certificate, as a subject.

    The TLS layer only hands a certificate here after checking it chains to the cluster CA
    (``ssl.CERT_OPTIONAL`` with the CA loaded): an unverified one fails the handshake.
    """
    if not peercert:
        return None
    cn = ""
    orgs: list[str] = []
    for rdn in peercert.get("subject", ()):  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return ClientCertificate(cn, tuple(orgs))

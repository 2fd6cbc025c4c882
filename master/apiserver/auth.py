"""Bearer-token authentication and the credentials a new master writes.

On first start the data dir gets ``tokens.json`` (an admin token, random, mode 0600) and,
at every start, ``admin.kubeconfig`` pointing at the advertised address (or the masters'
shared control-plane endpoint) and ``loopback.kubeconfig`` at this master itself, both
carrying the cluster CA (``master.apiserver.tls``). Every request but the health and version
endpoints must carry credentials (``master.apiserver.authn``). The admin token is the user
``admin`` in group ``system:masters`` (allowed everything, as kubeadm's admin). There is no
shared node token: each node has its own certificate (``system:node:<name>``), got by joining
with a bootstrap token (``kajitori node join``). The one masters of older versions wrote
(``tokens.json``'s ``node``, ``node.kubeconfig``) is dropped from the data dir at start and
authenticates nobody.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from kajitori import config
from kajitori.private_files import ensure_private_dir, write_file
from master.apiserver.authn import MASTERS, Credentials, UserInfo, bearer_token

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/version", "/ui"})
# The web view's files (master.ui): no cluster data in them, and a browser cannot send a
# token with the page it navigates to; the pages then call the API with the user's token.
PUBLIC_PREFIXES = ("/ui/",)


LEGACY_NODE_KUBECONFIG = "node.kubeconfig"
"""The shared node token's kubeconfig older masters wrote into the data dir; removed at start."""

CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
ANONYMOUS_PATHS = frozenset({CLUSTER_INFO_PATH})
"""Paths a client without credentials may GET as ``system:anonymous`` (RBAC decides; kubeadm's
cluster-info discovery), as kube-apiserver's anonymous authenticator limited to these endpoints."""


def is_public(path: str) -> bool:
    """A path every client may GET without credentials."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@dataclass(frozen=True)
class Tokens:
    admin: str

    def user_of(self, token: str | None) -> str | None:
        if token is None:
            return None
        # Bytes, not str: compare_digest refuses non-ASCII strings with a TypeError, and a
        # token is whatever a client put in its header.
        given = token.encode("utf-8", "surrogateescape")
        if secrets.compare_digest(given, self.admin.encode()):
            return "admin"
        return None

    def authenticate(self, credentials: Credentials) -> UserInfo | None:
        """The bearer-token authenticator of the chain (``master.apiserver.authn``)."""
        user = self.user_of(credentials.token)
        if user == "admin":
            return UserInfo("admin", (MASTERS,))
        return None


def ensure_credentials(
    data_dir: Path, server_url: str, *, ca_pem: bytes | None = None, loopback_url: str | None = None
) -> Tokens:
    """The tokens (made once), and the kubeconfigs at ``server_url`` (the ones handed out) and
    ``loopback.kubeconfig`` at ``loopback_url`` (default ``server_url``) for the master's own loops."""
    ensure_private_dir(data_dir)
    path = data_dir / "tokens.json"
    if path.exists():
        doc = json.loads(path.read_text())
        tokens = Tokens(admin=doc["admin"])
        if set(doc) != {"admin"}:
            # An older version's shared node token: rewritten away, so no copy of the data dir
            # carries it on (it authenticates nobody either way).
            write_file(path, json.dumps({"admin": tokens.admin}).encode())
            log.info("dropped the shared node token from %s", path)
    else:
        tokens = Tokens(admin=secrets.token_urlsafe(32))
        write_file(path, json.dumps({"admin": tokens.admin}).encode())
        log.info("created tokens in %s", path)
    legacy = data_dir / LEGACY_NODE_KUBECONFIG
    if legacy.exists():
        legacy.unlink()
        log.info("removed %s: nodes join with their own certificates (kajitori node join)", legacy)
    config.write(data_dir / "admin.kubeconfig", server_url, tokens.admin, user="admin", ca_pem=ca_pem)
    config.write(data_dir / "loopback.kubeconfig", loopback_url or server_url, tokens.admin, user="admin", ca_pem=ca_pem)
    return tokens


__all__ = ["ANONYMOUS_PATHS", "CLUSTER_INFO_PATH", "PUBLIC_PATHS", "PUBLIC_PREFIXES", "Tokens", "bearer_token", "ensure_credentials", "is_public"]

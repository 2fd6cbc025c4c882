"""The bootstrap-token authenticator: a new node's ``<id>.<secret>`` bearer token.

As kube-apiserver's ``--enable-bootstrap-token-auth``: a token of the bootstrap format is
looked up as the Secret ``kube-system/bootstrap-token-<id>`` (read from the store's
memory, so a check is a dict lookup), and it authenticates as ``system:bootstrap:<id>`` in
``system:bootstrappers`` plus the Secret's ``auth-extra-groups`` only when the Secret is
of type ``bootstrap.kubernetes.io/token``, is not being deleted, allows
``usage-bootstrap-authentication``, holds the same secret (compared in constant time) and
has not passed its ``expiration``. Any other token is left to the next authenticator.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from kajitori import bootstrap_token
from master.apiserver.authn import Credentials, UserInfo

Lookup = Callable[[str], Mapping[str, Any] | None]
SECRETS = "/core/secrets"


class BootstrapTokenAuthenticator:
    def __init__(self, lookup: Lookup, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._lookup = lookup
        self._clock = clock

    def __call__(self, credentials: Credentials) -> UserInfo | None:
        if credentials.token is None:
            return None
        try:
            token = bootstrap_token.parse(credentials.token)
        except bootstrap_token.TokenError:
            return None
        secret = self._lookup(f"{SECRETS}/{bootstrap_token.NAMESPACE}/{token.secret_name}")
        if secret is None or secret.get("type") != bootstrap_token.SECRET_TYPE:
            return None
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return None
        data = bootstrap_token.secret_data(dict(secret))
        if data.get("token-id") != token.id or data.get("usage-bootstrap-authentication") != "true":
            return None
        if not secrets.compare_digest(data.get("token-secret", "").encode(), token.secret.encode()):
            return None
        if bootstrap_token.expired(data, self._clock()):
            return None
        groups = bootstrap_token.extra_groups(data)
        if groups is None:
            return None
        return UserInfo(token.user, (bootstrap_token.GROUP, *(g for g in groups if g != bootstrap_token.GROUP)))

"""Bootstrap tokens as kubeadm makes them: the ``<id>.<secret>`` format and the Secret that holds one.

A token is a 6-character id and a 16-character secret of ``[a-z0-9]``, joined by a dot
(``abcdef.0123456789abcdef``). It lives in ``kube-system`` as a Secret named
``bootstrap-token-<id>`` of type ``bootstrap.kubernetes.io/token`` whose data holds
``token-id``, ``token-secret``, ``expiration`` (RFC 3339), ``usage-bootstrap-authentication``,
``usage-bootstrap-signing``, ``auth-extra-groups`` (comma-separated, each
``system:bootstrappers:...``) and ``description``. The API server authenticates a valid,
unexpired one as ``system:bootstrap:<id>`` in ``system:bootstrappers`` and its extra groups.
The CLI (``kajitori token``) and the master's authenticator share this module.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SECRET_TYPE = "bootstrap.kubernetes.io/token"
NAMESPACE = "kube-system"
NAME_PREFIX = "bootstrap-token-"
USER_PREFIX = "system:bootstrap:"
GROUP = "system:bootstrappers"
DEFAULT_GROUP = "system:bootstrappers:kajitori:default-node-token"
"""The extra group a token gets by default, as kubeadm's ``system:bootstrappers:kubeadm:default-node-token``."""
DEFAULT_TTL = timedelta(hours=24)
USAGES = ("authentication", "signing")

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_ID_RE = re.compile(r"^[a-z0-9]{6}$")
_GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


class TokenError(ValueError):
    """A token, id or group that is not of the bootstrap format (the message says which rule)."""


@dataclass(frozen=True)
class BootstrapToken:
    id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return NAME_PREFIX + self.id

    @property
    def user(self) -> str:
        return USER_PREFIX + self.id


def generate() -> BootstrapToken:
    return BootstrapToken(
        "".join(secrets.choice(_ALPHABET) for _ in range(6)),
        "".join(secrets.choice(_ALPHABET) for _ in range(16)),
    )


def parse(text: str) -> BootstrapToken:
    match = TOKEN_RE.match(text)
    if match is None:
        raise TokenError(f"the bootstrap token {text!r} was not of the form {TOKEN_RE.pattern!r}")
    return BootstrapToken(match.group(1), match.group(2))


def check_id(text: str) -> str:
    if not _ID_RE.match(text):
        raise TokenError(f"the token id {text!r} was not of the form [a-z0-9]{{6}}")
    return text


def check_group(group: str) -> str:
    if not _GROUP_RE.match(group):
        raise TokenError(f"group {group!r} must match {_GROUP_RE.pattern!r}")
    return group


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def secret_manifest(
    token: BootstrapToken,
    *,
    expires: datetime | None,
    usages: tuple[str, ...] = USAGES,
    groups: tuple[str, ...] = (DEFAULT_GROUP,),
    description: str = "",
) -> dict[str, Any]:
    """The kube-system Secret of ``token`` (``expires`` None: it never expires, as kubeadm's ``--ttl 0``)."""
    for usage in usages:
        if usage not in USAGES:
            raise TokenError(f"unknown usage {usage!r}: valid usages are {', '.join(USAGES)}")
    string_data = {"token-id": token.id, "token-secret": token.secret}
    if expires is not None:
        string_data["expiration"] = rfc3339(expires)
    for usage in usages:
        string_data[f"usage-bootstrap-{usage}"] = "true"
    if groups:
        string_data["auth-extra-groups"] = ",".join(check_group(g) for g in groups)
    if description:
        string_data["description"] = description
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": token.secret_name, "namespace": NAMESPACE},
        "type": SECRET_TYPE,
        "stringData": string_data,
    }


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    """The decoded ``data`` of a stored Secret (a value that is not base64 text is left out)."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, TypeError):
            continue
    return out


def parse_expiration(value: str) -> datetime:
    """RFC 3339 (``2026-12-06T01:00:00Z`` or with an offset); a ValueError for anything else."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


def expired(data: dict[str, str], now: datetime) -> bool:
    """Past its ``expiration`` (an unreadable one counts as expired, as Kubernetes refuses it)."""
    value = data.get("expiration")
    if value is None:
        return False
    try:
        return parse_expiration(value) <= now
    except ValueError:
        return True


def extra_groups(data: dict[str, str]) -> tuple[str, ...] | None:
    """The token's ``auth-extra-groups``; None when one of them is not a bootstrappers group."""
    groups = tuple(g.strip() for g in data.get("auth-extra-groups", "").split(",") if g.strip())
    try:
        return tuple(check_group(g) for g in groups)
    except TokenError:
        return None

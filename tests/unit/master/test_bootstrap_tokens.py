"""Bootstrap tokens: the <id>.<secret> format, the Secret kubeadm writes, and the authenticator's checks."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kajitori import bootstrap_token
from kajitori.api.core import Secret
from master.apiserver.authn import Credentials
from master.apiserver.authn.bootstrap import BootstrapTokenAuthenticator

NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def test_generated_tokens_have_kubeadms_format_and_differ() -> None:
    tokens = {str(bootstrap_token.generate()) for _ in range(20)}
    assert len(tokens) == 20
    for text in tokens:
        assert bootstrap_token.TOKEN_RE.match(text), text
        assert bootstrap_token.parse(text).secret_name == f"bootstrap-token-{text[:6]}"


@pytest.mark.parametrize(
    "text", ["abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdef", "abcdef0123456789abcdef", "abcdef.0123456789abcdeF", ""]
)
def test_malformed_tokens_are_refused(text: str) -> None:
    with pytest.raises(bootstrap_token.TokenError):
        bootstrap_token.parse(text)


def test_extra_groups_must_be_bootstrappers_groups() -> None:
    with pytest.raises(bootstrap_token.TokenError, match="system:masters"):
        bootstrap_token.secret_manifest(bootstrap_token.generate(), expires=None, groups=("system:masters",))


def stored(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Secret as the store keeps it: stringData folded into base64 data by the model."""
    return Secret.model_validate(manifest).to_dict()


def authenticator(secrets: dict[str, dict[str, Any]], now: datetime = NOW) -> BootstrapTokenAuthenticator:
    return BootstrapTokenAuthenticator(lambda key: secrets.get(key), clock=lambda: now)


def key(token: bootstrap_token.BootstrapToken) -> str:
    return f"/core/secrets/kube-system/{token.secret_name}"


def test_a_valid_token_is_its_bootstrap_user_until_it_expires() -> None:
    token = bootstrap_token.parse("abcdef.0123456789abcdef")
    manifest = bootstrap_token.secret_manifest(token, expires=NOW + timedelta(hours=1))
    assert manifest["type"] == "bootstrap.kubernetes.io/token"
    auth = authenticator({key(token): stored(manifest)})
    user = auth(Credentials(str(token), None))
    assert user is not None
    assert user.name == "system:bootstrap:abcdef"
    assert user.groups == ("system:bootstrappers", "system:bootstrappers:kajitori:default-node-token")
    late = authenticator({key(token): stored(manifest)}, NOW + timedelta(hours=1))
    assert late(Credentials(str(token), None)) is None


@pytest.mark.parametrize("change", ["secret", "type", "usage", "group", "expiration"])
def test_a_token_is_refused_when_its_secret_does_not_allow_it(change: str) -> None:
    token = bootstrap_token.parse("abcdef.0123456789abcdef")
    obj = stored(bootstrap_token.secret_manifest(token, expires=NOW + timedelta(hours=1)))
    data = obj["data"]

    def put(name: str, value: str) -> None:
        data[name] = base64.b64encode(value.encode()).decode()

    if change == "secret":
        put("token-secret", "0123456789abcdee")
    elif change == "type":
        obj["type"] = "Opaque"
    elif change == "usage":
        data.pop("usage-bootstrap-authentication")
    elif change == "group":
        put("auth-extra-groups", "system:masters")
    else:
        put("expiration", "tomorrow")
    assert authenticator({key(token): obj})(Credentials(str(token), None)) is None


def test_other_tokens_are_left_to_the_next_authenticator() -> None:
    assert authenticator({})(Credentials("not-a-bootstrap-token", None)) is None
    assert authenticator({})(Credentials("abcdef.0123456789abcdef", None)) is None

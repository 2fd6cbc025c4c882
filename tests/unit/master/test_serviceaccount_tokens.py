"""ServiceAccount JWTs: Kubernetes' claims, and every check authenticate() makes on each request."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from master.apiserver.serviceaccount_tokens import ISSUER, ServiceAccountTokens, UserInfo, ensure_signing_key

NOW = 1_800_000_000.0


class World:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {
            "/core/serviceaccounts/team/reader": {"metadata": {"name": "reader", "uid": "sa-uid"}},
            "/core/pods/team/web": {"metadata": {"name": "web", "uid": "pod-uid"}},
        }
        self.now = NOW

    def tokens(self, key: ec.EllipticCurvePrivateKey | None = None) -> ServiceAccountTokens:
        return ServiceAccountTokens(key or KEY, self.objects.get, clock=lambda: self.now)


KEY = ec.generate_private_key(ec.SECP256R1())


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def test_a_pod_bound_token_carries_kubernetes_claims_and_authenticates() -> None:
    world = World()
    tokens = world.tokens()
    issued = tokens.issue(namespace="team", name="reader", uid="sa-uid", expiration_s=600, pod=("web", "pod-uid"))
    header = json.loads(base64.urlsafe_b64decode(issued.token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": tokens.kid, "typ": "JWT"}
    c = claims(issued.token)
    assert (c["iss"], c["sub"], c["aud"], c["exp"], c["iat"], c["nbf"]) == (
        ISSUER, "system:serviceaccount:team:reader", [ISSUER], int(NOW) + 600, int(NOW), int(NOW)
    )
    assert c["kubernetes.io"] == {
        "namespace": "team",
        "serviceaccount": {"name": "reader", "uid": "sa-uid"},
        "pod": {"name": "web", "uid": "pod-uid"},
    }
    user = tokens.authenticate(issued.token)
    assert isinstance(user, UserInfo)
    assert user.name == "system:serviceaccount:team:reader"
    assert user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("web",)
    assert user.extra["authentication.kubernetes.io/pod-uid"] == ("pod-uid",)


def _tampered(token: str) -> str:
    head, _body, sig = token.split(".")
    c = claims(token)
    c["sub"] = "system:serviceaccount:team:admin"
    return ".".join([head, base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode(), sig])


def _clock_at(now: float) -> Callable[[World, str], tuple[World, str]]:
    """A spoiler that moves the world's clock to ``now``."""

    def spoil(w: World, t: str) -> tuple[World, str]:
        w.now = now
        return w, t

    return spoil


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda w, t: (w, _tampered(t)), id="tampered-claims"),
        pytest.param(lambda w, t: (w, t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB")), id="bad-signature"),
        pytest.param(_clock_at(NOW + 700), id="expired"),
        pytest.param(_clock_at(NOW - 3600), id="not-yet-valid"),
        pytest.param(lambda w, t: (w.objects.pop("/core/serviceaccounts/team/reader") and w, t), id="sa-deleted"),
        pytest.param(
            lambda w, t: (w.objects.__setitem__("/core/serviceaccounts/team/reader", {"metadata": {"uid": "new"}}) or w, t),
            id="sa-recreated",
        ),
        pytest.param(lambda w, t: (w.objects.pop("/core/pods/team/web") and w, t), id="pod-deleted"),
        pytest.param(lambda w, t: (w, "not.a.jwt"), id="garbage"),
        pytest.param(lambda w, t: (w, "admin-token"), id="not-a-jwt"),
    ],
)
def test_a_token_failing_any_check_is_not_authenticated(spoil: Any) -> None:
    world = World()
    token = world.tokens().issue(namespace="team", name="reader", uid="sa-uid", expiration_s=600, pod=("web", "pod-uid")).token
    world, token = spoil(world, token)
    assert world.tokens().authenticate(token) is None


def test_other_audiences_and_other_keys_are_refused() -> None:
    world = World()
    tokens = world.tokens()
    foreign = tokens.issue(namespace="team", name="reader", uid="sa-uid", audiences=["vault"]).token
    assert tokens.authenticate(foreign) is None
    other_key = world.tokens(ec.generate_private_key(ec.SECP256R1()))
    assert tokens.authenticate(other_key.issue(namespace="team", name="reader", uid="sa-uid").token) is None


def test_the_signing_key_is_private_and_kept(tmp_path: Path) -> None:
    key = ensure_signing_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "pki" / "sa.key").stat().st_mode) == 0o600
    again = ensure_signing_key(tmp_path)
    assert again.private_numbers() == key.private_numbers()

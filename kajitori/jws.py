"""Detached JWS signatures (HS256) of the ``cluster-info`` kubeconfig, as kube-controller-manager's bootstrap signer makes them.

A new node does not trust the API server yet, so it reads ``kube-public/cluster-info``
anonymously and checks it with its bootstrap token: the signer puts, for each token
allowed to sign (``usage-bootstrap-signing``), ``jws-kubeconfig-<token id>`` into that
ConfigMap, a compact JWS with the payload left out (``<header>..<signature>``): the header
``{"alg":"HS256","kid":"<token id>"}`` and an HMAC-SHA256, keyed with the token's secret,
of ``<base64url header>.<base64url kubeconfig>`` (RFC 7515, appendix F). Whoever holds the
token can check that the kubeconfig, and so the CA in it, came from the cluster.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

KEY_PREFIX = "jws-kubeconfig-"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_detached(payload: bytes, token_id: str, token_secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    mac = hmac.new(token_secret.encode(), f"{header}.{_b64(payload)}".encode(), hashlib.sha256).digest()
    return f"{header}..{_b64(mac)}"


def verify_detached(jws: str, payload: bytes, token_id: str, token_secret: str) -> bool:
    """Whether ``jws`` is this token's HS256 signature of ``payload`` (no other algorithm is accepted)."""
    header, sep, mac = jws.partition("..")
    if not sep or not header or not mac:
        return False
    try:
        fields = json.loads(_b64decode(header))
        given = _b64decode(mac)
    except (ValueError, TypeError):
        return False
    if not isinstance(fields, dict) or fields.get("alg") != "HS256" or fields.get("kid", token_id) != token_id:
        return False
    wanted = hmac.new(token_secret.encode(), f"{header}.{_b64(payload)}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(given, wanted)

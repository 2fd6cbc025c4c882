"""Detached HS256 JWS of cluster-info (kajitori.jws): what the bootstrap signer writes and a joining node checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from kajitori import jws

TOKEN_ID, SECRET = "abcdef", "0123456789abcdef"
PAYLOAD = b"apiVersion: v1\nkind: Config\n"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_signature_is_rfc7515_hs256_with_the_payload_left_out() -> None:
    signed = jws.sign_detached(PAYLOAD, TOKEN_ID, SECRET)
    header, empty, mac = signed.split(".")
    assert empty == ""
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "kid": TOKEN_ID}
    expected = hmac.new(SECRET.encode(), f"{header}.{_b64(PAYLOAD)}".encode(), hashlib.sha256).digest()
    assert mac == _b64(expected)
    assert jws.verify_detached(signed, PAYLOAD, TOKEN_ID, SECRET)


def test_a_changed_payload_another_secret_or_token_id_fails() -> None:
    signed = jws.sign_detached(PAYLOAD, TOKEN_ID, SECRET)
    assert not jws.verify_detached(signed, PAYLOAD + b"x", TOKEN_ID, SECRET)
    assert not jws.verify_detached(signed, PAYLOAD, TOKEN_ID, "fedcba9876543210")
    assert not jws.verify_detached(signed, PAYLOAD, "ghijkl", SECRET)


def test_alg_none_and_garbage_are_refused() -> None:
    none_header = _b64(json.dumps({"alg": "none", "kid": TOKEN_ID}).encode())
    assert not jws.verify_detached(f"{none_header}..", PAYLOAD, TOKEN_ID, SECRET)
    assert not jws.verify_detached(f"{none_header}..AAAA", PAYLOAD, TOKEN_ID, SECRET)
    for garbage in ("", "..", "a.b.c", "!!..!!", "e30..AAAA"):
        assert not jws.verify_detached(garbage, PAYLOAD, TOKEN_ID, SECRET), garbage

"""ServiceAccount tokens: the signing key, TokenRequest's JWTs, and authenticating them.

A new master makes ``pki/sa.key`` (ECDSA P-256, 0600) and ``pki/sa.pub`` beside its CA,
as kubeadm makes ``sa.key``/``sa.pub``; masters sharing an etcd store must share the
pair (copy it with ``ca.*``). Tokens are ES256 JWTs whose header names the key by
``kid`` (base64url of the SHA-256 of the public key's DER, kube-apiserver's choice) and
whose claims are Kubernetes' bound-token claims:

    iss, sub "system:serviceaccount:<ns>:<name>", aud [...], exp, iat, nbf, jti,
    "kubernetes.io": {namespace, serviceaccount {name, uid}, pod {name, uid}}

``authenticate(token)`` is one authenticator of a chain: it answers ``None`` for a token
that is not one of ours (another authenticator may know it) and for one that fails a
check, and a ``UserInfo`` only when every check holds, on each request: the signature
under our key, ``nbf <= now < exp`` (60 s of clock skew), an audience the API server
accepts, the issuer, the ServiceAccount still existing with the uid in the token, and,
for a pod-bound token, the pod still existing with its uid. The objects are read from the store's memory (``lookup``), so a
check costs a dict lookup and one ECDSA verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from kajitori.private_files import ensure_private_dir, write_file
from master.apiserver import authn

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_S = 3600
MIN_EXPIRATION_S = 600
MAX_EXPIRATION_S = 1 << 32
LEEWAY_S = 60
SA_PREFIX = "system:serviceaccount:"

# Reads an object from the store's memory: (collection key path, e.g. "/core/pods/ns/name") -> the object or None.
Lookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class UserInfo:
    """Who a request is from, as Kubernetes' user.Info: name, uid, groups, extra."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires: int  # unix seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ensure_signing_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """``pki/sa.key`` (0600) and ``pki/sa.pub``, made on first use."""
    pki = ensure_private_dir(data_dir / "pki")
    key_path = pki / "sa.key"
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: not an EC key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    write_file(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_file(pki / "sa.pub", pub, mode=0o644)
    return key


class ServiceAccountTokens:
    """Issues and authenticates the JWTs of ServiceAccounts; ``lookup`` reads the store's memory."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        lookup: Lookup,
        *,
        issuer: str = ISSUER,
        audiences: Sequence[str] = (ISSUER,),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._public = key.public_key()
        der = self._public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64(hashlib.sha256(der).digest())
        self._lookup = lookup
        self.issuer = issuer
        self.audiences = tuple(audiences)
        self._clock = clock

    # -- issuing ---------------------------------------------------------------

    def issue(
        self,
        *,
        namespace: str,
        name: str,
        uid: str,
        audiences: Sequence[str] = (),
        expiration_s: int = DEFAULT_EXPIRATION_S,
        pod: tuple[str, str] | None = None,
    ) -> IssuedToken:
        """A token for ServiceAccount ``namespace/name`` (uid ``uid``), bound to ``pod`` (name, uid) if given."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "aud": list(audiences or self.audiences),
            "exp": now + expiration_s,
            "iat": now,
            "iss": self.issuer,
            "jti": secrets.token_hex(16),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            "nbf": now,
            "sub": f"{SA_PREFIX}{namespace}:{name}",
        }
        if pod is not None:
            claims["kubernetes.io"]["pod"] = {"name": pod[0], "uid": pod[1]}
        header = {"alg": "ES256", "kid": self.kid, "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return IssuedToken(f"{signing_input}.{_b64(signature)}", claims["exp"])

    # -- authenticating ------------------------------------------------------

    def claims_of(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed by our key whose time, issuer and audience hold; else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except ValueError:
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "ES256" or len(signature) != 64:
            return None
        if header.get("kid") not in (None, self.kid):
            return None
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self._public.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or not isinstance(nbf, int) or not (nbf - LEEWAY_S <= now < exp + LEEWAY_S):
            return None
        if claims.get("iss") != self.issuer:
            return None
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(audiences) & set(self.audiences):
            return None
        return claims

    def authenticator(self, credentials: authn.Credentials) -> authn.UserInfo | None:
        """This as an entry of the API server's authenticator chain (``master.apiserver.authn``)."""
        if not credentials.token:
            return None
        info = self.authenticate(credentials.token)
        if info is None:
            return None
        groups = tuple(g for g in info.groups if g != authn.AUTHENTICATED)  # the chain adds it
        return authn.UserInfo(info.name, groups, info.uid, {k: tuple(v) for k, v in info.extra.items()})

    def authenticate(self, token: str) -> UserInfo | None:
        """The ServiceAccount a token is from, if every check holds now; else None."""
        claims = self.claims_of(token)
        if claims is None:
            return None
        private = claims.get("kubernetes.io")
        if not isinstance(private, dict):
            return None
        namespace, account = private.get("namespace"), private.get("serviceaccount") or {}
        if not isinstance(namespace, str) or not isinstance(account, dict):
            return None
        name, uid = account.get("name"), account.get("uid")
        if claims.get("sub") != f"{SA_PREFIX}{namespace}:{name}":
            return None
        sa = self._lookup(f"/core/serviceaccounts/{namespace}/{name}")
        if sa is None or (sa.get("metadata") or {}).get("uid") != uid:
            return None  # deleted (or deleted and made again): its tokens die with it
        extra: dict[str, tuple[str, ...]] = {"authentication.kubernetes.io/credential-id": (f"JTI={claims.get('jti', '')}",)}
        pod_ref = private.get("pod")
        if pod_ref is not None:
            if not isinstance(pod_ref, dict):
                return None
            pod = self._lookup(f"/core/pods/{namespace}/{pod_ref.get('name')}")
            meta = (pod or {}).get("metadata") or {}
            if pod is None or meta.get("uid") != pod_ref.get("uid"):
                return None
            extra["authentication.kubernetes.io/pod-name"] = (str(pod_ref.get("name")),)
            extra["authentication.kubernetes.io/pod-uid"] = (str(pod_ref.get("uid")),)
        return UserInfo(
            name=f"{SA_PREFIX}{namespace}:{name}",
            uid=str(uid),
            groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
            extra=extra,
        )

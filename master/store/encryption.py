"""Encryption at rest: the ``EncryptionConfiguration`` and the transform it makes of stored bytes.

The file is Kubernetes' own (``apiserver.config.k8s.io/v1``, kube-apiserver's
``--encryption-provider-config``): for each listed resource, a list of providers. The
FIRST provider encrypts every write; all of them are tried, in order, to read. A value
written by a provider starts with ``k8s:enc:<provider>:v1:<key name>:`` followed by the
ciphertext, exactly as kube-apiserver writes it to etcd; ``identity`` writes plain JSON
and reads anything that does not carry that prefix.

Providers (``cryptography``, and PyNaCl for secretbox, already installed with paramiko):
- ``aescbc``: AES-CBC, PKCS#7 padding, a random 16-byte IV before the ciphertext;
- ``aesgcm``: AES-GCM, a random 12-byte nonce before the ciphertext and tag, the store
  key as additional data (a value moved to another key does not decrypt);
- ``secretbox``: XSalsa20-Poly1305, a random 24-byte nonce before the box;
- ``identity``: no encryption.

A new master writes ``encryption-config.yaml`` (0600) in its data dir with one random
aescbc key, then identity, so Secrets are encrypted from the first write and a store
written before encryption still reads. The transform sits where bytes go to the SQLite
file or to etcd, so the stores' in-memory cache stays plain and reads never decrypt.

Rotation as Kubernetes documents it: add the new key FIRST (every master restarted),
rewrite every Secret (``kajitori store reencrypt``, or ``kubectl get secrets -A -o json |
kubectl replace -f -``: a value read with any provider but the first is "stale", and an
update of a stale object is written even when nothing changed), then drop the old key.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kajitori.private_files import ensure_private_dir, write_file

CONFIG_FILE = "encryption-config.yaml"
PREFIX = b"k8s:enc:"


class EncryptionError(Exception):
    """A config that cannot be used, or a stored value that no provider can read."""


class Provider(Protocol):
    name: str  # "aescbc", "identity", ...

    def encrypt(self, data: bytes, context: bytes) -> bytes: ...

    def decrypt(self, value: bytes, context: bytes) -> bytes | None:
        """The plaintext, or None when this provider did not write ``value``."""
        ...


@dataclass(frozen=True)
class _Key:
    name: str
    secret: bytes


def _keys(provider: str, spec: Any, sizes: Sequence[int]) -> list[_Key]:
    keys = []
    for entry in (spec or {}).get("keys") or []:
        name, value = entry.get("name"), entry.get("secret")
        if not name or not value:
            raise EncryptionError(f"{provider}: every key needs a name and a secret")
        try:
            secret = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise EncryptionError(f"{provider} key {name}: the secret is not base64") from exc
        if len(secret) not in sizes:
            raise EncryptionError(f"{provider} key {name}: {len(secret)} bytes, want {' or '.join(map(str, sizes))}")
        keys.append(_Key(name, secret))
    if not keys:
        raise EncryptionError(f"{provider}: at least one key is required")
    return keys


class _KeyedProvider:
    """A provider with named keys: the first key encrypts; the key named in the prefix decrypts."""

    name = ""
    sizes: tuple[int, ...] = (16, 24, 32)

    def __init__(self, spec: Any) -> None:
        self.keys = _keys(self.name, spec, self.sizes)

    def prefix(self, key: _Key) -> bytes:
        return PREFIX + f"{self.name}:v1:{key.name}:".encode()

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        key = self.keys[0]
        return self.prefix(key) + self.seal(key.secret, data, context)

    def decrypt(self, value: bytes, context: bytes) -> bytes | None:
        for key in self.keys:
            prefix = self.prefix(key)
            if value.startswith(prefix):
                try:
                    return self.open(key.secret, value[len(prefix) :], context)
                except (ValueError, InvalidTag) as exc:
                    raise EncryptionError(f"{self.name} key {key.name} cannot decrypt a stored value") from exc
        return None

    def seal(self, secret: bytes, data: bytes, context: bytes) -> bytes:
        raise NotImplementedError

    def open(self, secret: bytes, box: bytes, context: bytes) -> bytes:
        raise NotImplementedError


class AESCBC(_KeyedProvider):
    name = "aescbc"

    def seal(self, secret: bytes, data: bytes, context: bytes) -> bytes:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()

    def open(self, secret: bytes, box: bytes, context: bytes) -> bytes:
        if len(box) < 32 or len(box) % 16:
            raise ValueError("ciphertext is not whole blocks")
        decryptor = Cipher(algorithms.AES(secret), modes.CBC(box[:16])).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(decryptor.update(box[16:]) + decryptor.finalize()) + unpadder.finalize()


class AESGCM_(_KeyedProvider):
    name = "aesgcm"

    def seal(self, secret: bytes, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(secret).encrypt(nonce, data, context)

    def open(self, secret: bytes, box: bytes, context: bytes) -> bytes:
        return AESGCM(secret).decrypt(box[:12], box[12:], context)


class SecretBox(_KeyedProvider):
    name = "secretbox"
    sizes = (32,)

    def seal(self, secret: bytes, data: bytes, context: bytes) -> bytes:
        from nacl.secret import SecretBox as Box  # PyNaCl: cryptography has no XSalsa20-Poly1305

        return bytes(Box(secret).encrypt(data))  # nonce (24 bytes) + box

    def open(self, secret: bytes, box: bytes, context: bytes) -> bytes:
        from nacl.exceptions import CryptoError
        from nacl.secret import SecretBox as Box

        try:
            return bytes(Box(secret).decrypt(box))
        except CryptoError as exc:
            raise ValueError(str(exc)) from exc


class Identity:
    name = "identity"

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        return data

    def decrypt(self, value: bytes, context: bytes) -> bytes | None:
        return None if value.startswith(PREFIX) else value


_PROVIDERS: dict[str, type[_KeyedProvider]] = {"aescbc": AESCBC, "aesgcm": AESGCM_, "secretbox": SecretBox}


def _provider(entry: Any) -> Provider:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise EncryptionError(f"a provider is one of aescbc, aesgcm, secretbox, identity, not {entry!r}")
    (name, spec), = entry.items()
    if name == "identity":
        return Identity()
    if name in _PROVIDERS:
        return _PROVIDERS[name](spec)
    raise EncryptionError(f"provider {name!r} is not supported (aescbc, aesgcm, secretbox, identity)")


def _collection(resource: str) -> str:
    """``secrets`` -> ``/core/secrets/``; ``deployments.apps`` -> ``/apps/deployments/`` (store keys)."""
    name, _, group = resource.partition(".")
    return f"/{group or 'core'}/{name}/"


class Transformer:
    """What a store does to a value on its way to disk (``to_storage``) and back (``from_storage``)."""

    def __init__(self, rules: Sequence[tuple[str, Sequence[Provider]]] = ()) -> None:
        self._rules = [(prefix, list(providers)) for prefix, providers in rules]

    def _providers(self, key: str) -> list[Provider] | None:
        for prefix, providers in self._rules:
            if key.startswith(prefix):
                return providers
        return None

    def to_storage(self, key: str, data: bytes) -> bytes:
        providers = self._providers(key)
        return data if providers is None else providers[0].encrypt(data, key.encode())

    def from_storage(self, key: str, value: bytes) -> tuple[bytes, bool]:
        """The plain bytes, and whether they were written by another provider than the first (stale)."""
        providers = self._providers(key)
        if providers is None:
            if value.startswith(PREFIX):
                raise EncryptionError(f"{key} is encrypted but the encryption config does not list its resource")
            return value, False
        for index, provider in enumerate(providers):
            plain = provider.decrypt(value, key.encode())
            if plain is not None:
                return plain, index > 0
        raise EncryptionError(f"{key}: no provider of the encryption config can read it (was its key dropped?)")


PLAIN = Transformer()


def parse(text: str) -> Transformer:
    doc = yaml.safe_load(text) or {}
    if doc.get("kind") != "EncryptionConfiguration" or doc.get("apiVersion") != "apiserver.config.k8s.io/v1":
        raise EncryptionError("want kind EncryptionConfiguration, apiVersion apiserver.config.k8s.io/v1")
    rules: list[tuple[str, list[Provider]]] = []
    for entry in doc.get("resources") or []:
        providers = [_provider(p) for p in entry.get("providers") or []]
        if not providers:
            raise EncryptionError(f"resources {entry.get('resources')}: no providers")
        for resource in entry.get("resources") or []:
            rules.append((_collection(resource), providers))
    return Transformer(rules)


def default_config() -> str:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return yaml.safe_dump(
        {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "EncryptionConfiguration",
            "resources": [
                {
                    "resources": ["secrets"],
                    "providers": [{"aescbc": {"keys": [{"name": "key1", "secret": key}]}}, {"identity": {}}],
                }
            ],
        },
        sort_keys=False,
    )


def load(data_dir: Path) -> Transformer:
    """The data dir's encryption config, written (0600, one fresh aescbc key) if there is none."""
    path = ensure_private_dir(data_dir) / CONFIG_FILE
    if not path.exists():
        write_file(path, default_config().encode())
    try:
        return parse(path.read_text())
    except (EncryptionError, yaml.YAMLError, AttributeError, TypeError) as exc:
        raise EncryptionError(f"{path}: {exc}") from exc

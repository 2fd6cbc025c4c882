"""The EncryptionConfiguration's providers: Kubernetes' stored prefix, round trips, stale values, refusals."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from master.store import encryption
from master.store.encryption import EncryptionError, parse

KEY = "/core/secrets/default/s"
K32 = base64.b64encode(b"K" * 32).decode()


def config(*providers: str) -> str:
    k16 = base64.b64encode(b"k" * 16).decode()
    k32 = K32
    text = {
        "aescbc": f"- aescbc: {{keys: [{{name: key1, secret: {k32}}}]}}",
        "aesgcm": f"- aesgcm: {{keys: [{{name: key2, secret: {k16}}}]}}",
        "secretbox": f"- secretbox: {{keys: [{{name: key3, secret: {k32}}}]}}",
        "identity": "- identity: {}",
    }
    lines = "\n      ".join(text[p] for p in providers)
    return f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      {lines}
"""


@pytest.mark.parametrize(
    ("provider", "prefix"),
    [
        pytest.param("aescbc", b"k8s:enc:aescbc:v1:key1:", id="aescbc"),
        pytest.param("aesgcm", b"k8s:enc:aesgcm:v1:key2:", id="aesgcm"),
        pytest.param("secretbox", b"k8s:enc:secretbox:v1:key3:", id="secretbox"),
    ],
)
def test_first_provider_encrypts_with_kubernetes_prefix_and_reads_back(provider: str, prefix: bytes) -> None:
    t = parse(config(provider, "identity"))
    stored = t.to_storage(KEY, b'{"data":{"p":"c2VjcmV0"}}')
    assert stored.startswith(prefix)
    assert b"c2VjcmV0" not in stored
    assert t.from_storage(KEY, stored) == (b'{"data":{"p":"c2VjcmV0"}}', False)


def test_other_resources_are_not_touched() -> None:
    t = parse(config("aescbc"))
    assert t.to_storage("/core/configmaps/default/c", b"{}") == b"{}"


def test_a_value_of_a_later_provider_reads_and_is_stale() -> None:
    old = parse(config("aescbc", "identity"))
    new = parse(config("aesgcm", "aescbc", "identity"))
    assert new.from_storage(KEY, old.to_storage(KEY, b"{}")) == (b"{}", True)
    assert new.from_storage(KEY, b"{}") == (b"{}", True)  # plain, read by identity
    assert new.from_storage(KEY, new.to_storage(KEY, b"{}")) == (b"{}", False)


def test_a_dropped_key_or_missing_identity_refuses_to_read() -> None:
    old = parse(config("aescbc"))
    only_gcm = parse(config("aesgcm"))
    with pytest.raises(EncryptionError, match="no provider"):
        only_gcm.from_storage(KEY, old.to_storage(KEY, b"{}"))
    with pytest.raises(EncryptionError, match="no provider"):
        only_gcm.from_storage(KEY, b"{}")


def test_aesgcm_binds_the_value_to_its_key() -> None:
    t = parse(config("aesgcm"))
    with pytest.raises(EncryptionError):
        t.from_storage("/core/secrets/default/other", t.to_storage(KEY, b"{}"))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("kind: Other", id="kind"),
        pytest.param(config("identity").replace("identity: {}", "kms: {}"), id="unsupported-provider"),
        pytest.param(config("aescbc").replace(K32, "$" * 44), id="bad-base64"),
        pytest.param(config("aescbc").replace(K32, "S0tL"), id="short-key"),
    ],
)
def test_bad_configs_are_refused(text: str) -> None:
    with pytest.raises(EncryptionError):
        parse(text)


def test_a_new_data_dir_gets_a_private_aescbc_config(tmp_path: Path) -> None:
    t = encryption.load(tmp_path)
    path = tmp_path / encryption.CONFIG_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert t.to_storage(KEY, b"{}").startswith(b"k8s:enc:aescbc:v1:key1:")
    assert encryption.load(tmp_path).from_storage(KEY, t.to_storage(KEY, b"{}")) == (b"{}", False)


def test_an_unchanged_update_rewrites_only_a_stale_secret(tmp_path: Path) -> None:
    """What key rotation relies on: `kubectl replace` of an unchanged Secret is written when the
    stored bytes came from another provider than the first, and is a no-op otherwise."""
    from kajitori.api.registry import by_name
    from master.apiserver.resources import ResourceAPI
    from master.store import SQLiteStore

    secrets_ = by_name("secrets")
    db = tmp_path / "state.db"
    store = SQLiteStore(db, transformer=parse(config("aescbc", "identity")))
    ResourceAPI(store).create(by_name("namespaces"), None, {"metadata": {"name": "default"}})
    created = ResourceAPI(store).create(secrets_, "default", {"metadata": {"name": "s"}, "data": {"p": "cQ=="}})
    store.close()

    store = SQLiteStore(db, transformer=parse(config("aescbc", "identity")))
    same = ResourceAPI(store).update(secrets_, "default", "s", created)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    store.close()

    store = SQLiteStore(db, transformer=parse(config("aesgcm", "aescbc")))
    assert store.is_stale("/core/secrets/default/s")
    rewritten = ResourceAPI(store).update(secrets_, "default", "s", created)
    assert rewritten["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert not store.is_stale("/core/secrets/default/s")
    store.close()
    assert SQLiteStore(db, transformer=parse(config("aesgcm"))).get("/core/secrets/default/s") is not None

"""Secrets encrypted at rest in a real master's store files, SQLite and etcd.

The plaintext of a Secret (its base64 in the stored JSON, and the decoded value) is nowhere
in the store's files; after switching the data dir's EncryptionConfiguration to identity
first and rewriting the Secrets with `kubectl replace`, it IS there (so the search can
fail). A restarted master reads encrypted Secrets; key rotation as Kubernetes documents it
(new key first, `kajitori store reencrypt`, old key dropped) leaves every Secret readable.
"""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api.registry import by_name
from master.store.encryption import CONFIG_FILE
from tests.support.cli import invoker
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

SECRETS = by_name("secrets")
K_NEW = base64.b64encode(secrets.token_bytes(32)).decode()


def config(*providers: str) -> str:
    return (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        "  - resources: [secrets]\n    providers:\n" + "".join(f"      - {p}\n" for p in providers)
    )


def key1_of(data_dir: Path) -> str:
    """The aescbc provider line the master wrote on its first start."""
    text = (data_dir / CONFIG_FILE).read_text()
    secret = text.split("secret:")[1].split()[0]
    return f"aescbc: {{keys: [{{name: key1, secret: {secret}}}]}}"


def files_bytes(*roots: Path) -> bytes:
    chunks = []
    for root in roots:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        chunks += [p.read_bytes() for p in paths if p.name != CONFIG_FILE and not p.name.endswith(".log")]
    return b"".join(chunks)


def kubectl_replace_all_secrets(master: MasterProcess) -> None:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    listed = subprocess.run(["kubectl", "get", "secrets", "-A", "-o", "json"], capture_output=True, text=True, timeout=60, env=env, check=True)
    subprocess.run(["kubectl", "replace", "-f", "-"], input=listed.stdout, capture_output=True, text=True, timeout=60, env=env, check=True)


@pytest.fixture
def plaintext() -> tuple[bytes, bytes]:
    value = b"at-rest-" + secrets.token_hex(8).encode()
    return value, base64.b64encode(value)


def create_secret(master: MasterProcess, name: str, value: bytes) -> None:
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": {"password": base64.b64encode(value).decode()}}
    master.client().create_raw(SECRETS, doc, "default")


def read_secret(master: MasterProcess, name: str) -> bytes:
    return base64.b64decode(master.client().get_raw(SECRETS, name, "default")["data"]["password"])


def stored_prefix(db: Path, name: str) -> bytes:
    with sqlite3.connect(db) as conn:
        value = conn.execute("SELECT value FROM objects WHERE key=?", (f"/core/secrets/default/{name}",)).fetchone()[0]
    return bytes(value)[:24]


def test_sqlite_secret_is_encrypted_survives_restart_and_rotates(tmp_path: Path, plaintext: tuple[bytes, bytes]) -> None:
    value, b64 = plaintext
    master = MasterProcess(tmp_path / "m", extra_args=["--no-controllers"]).start()
    try:
        create_secret(master, "db", value)
        data_dir = master.data_dir
        assert stat.S_IMODE((data_dir / CONFIG_FILE).stat().st_mode) == 0o600
        stored = files_bytes(*data_dir.glob("state.db*"))
        assert value not in stored and b64 not in stored
        assert stored_prefix(data_dir / "state.db", "db").startswith(b"k8s:enc:aescbc:v1:key1:")

        master.stop()
        master.start()
        assert read_secret(master, "db") == value

        # Rotation: the new key first (old one still there to read), rewrite, drop the old one.
        key1 = key1_of(data_dir)
        master.stop()
        (data_dir / CONFIG_FILE).write_text(config(f"aesgcm: {{keys: [{{name: key2, secret: {K_NEW}}}]}}", key1))
        master.start()
        result = invoker(master)("store", "reencrypt")
        assert result.exit_code == 0, result.output
        assert stored_prefix(data_dir / "state.db", "db").startswith(b"k8s:enc:aesgcm:v1:key2:")
        master.stop()
        (data_dir / CONFIG_FILE).write_text(config(f"aesgcm: {{keys: [{{name: key2, secret: {K_NEW}}}]}}"))
        master.start()
        assert read_secret(master, "db") == value

        # identity first: the rewritten Secret is plain in the file (the search above can fail).
        master.stop()
        (data_dir / CONFIG_FILE).write_text(config("identity: {}", f"aesgcm: {{keys: [{{name: key2, secret: {K_NEW}}}]}}"))
        master.start()
        kubectl_replace_all_secrets(master)
        assert b64 in files_bytes(*data_dir.glob("state.db*"))
    finally:
        master.stop()


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    proc = EtcdProcess(tmp_path / "etcd").start()
    yield proc
    proc.stop()


def test_etcd_secret_is_encrypted_rotates_and_is_plain_after_identity(tmp_path: Path, etcd: EtcdProcess, plaintext: tuple[bytes, bytes]) -> None:
    value, b64 = plaintext
    master = MasterProcess(tmp_path / "m", extra_args=["--no-controllers", "--store", "etcd", "--etcd-servers", etcd.url]).start()
    try:
        create_secret(master, "db", value)
        stored = files_bytes(etcd.data_dir)
        assert value not in stored and b64 not in stored
        master.stop()
        master.start()
        assert read_secret(master, "db") == value

        # Rotation on etcd: the new key first, reencrypt, the old key dropped; the Secret still reads.
        key1 = key1_of(master.data_dir)
        gcm = f"aesgcm: {{keys: [{{name: key2, secret: {K_NEW}}}]}}"
        master.stop()
        (master.data_dir / CONFIG_FILE).write_text(config(gcm, key1))
        master.start()
        result = invoker(master)("store", "reencrypt")
        assert result.exit_code == 0, result.output
        master.stop()
        (master.data_dir / CONFIG_FILE).write_text(config(gcm))
        master.start()
        assert read_secret(master, "db") == value

        master.stop()
        (master.data_dir / CONFIG_FILE).write_text(config("identity: {}", gcm))
        master.start()
        kubectl_replace_all_secrets(master)
        assert b64 in files_bytes(etcd.data_dir)
    finally:
        master.stop()

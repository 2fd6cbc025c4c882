"""The master's and the agent's secrets are private from the moment their files exist.

Each test also runs with chmod disabled: a file that is only private because of a chmod
after its write (readable by anyone in between) fails here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.serving_cert import ensure_serving_cert as ensure_agent_cert
from master.apiserver.auth import ensure_credentials
from master.apiserver.certs import issue_component_kubeconfigs, write_kubeconfig
from master.apiserver.tls import ensure_serving_cert
from master.store import SQLiteStore


@pytest.fixture(autouse=True)
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files 0644 and directories 0755 unless made private
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_files_and_data_dir_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SQLiteStore(data / "state.db")
    store.create("/core/secrets/default/s", {"metadata": {"name": "s"}, "data": {"k": "dg=="}})
    files = sorted(data.glob("state.db*"))
    assert {f.name for f in files} >= {"state.db", "state.db-wal", "state.db-shm"}
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(data) == 0o700
    store.close()


def test_tokens_kubeconfigs_and_keys_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serving = ensure_serving_cert(data, "127.0.0.1")
    ensure_credentials(data, "https://127.0.0.1:6443", ca_pem=serving.ca_pem)
    assert mode(data) == 0o700
    assert mode(data / "pki") == 0o700
    for name in ("tokens.json", "admin.kubeconfig", "pki/ca.key", "pki/apiserver.key"):
        assert mode(data / name) == 0o600, name
    assert not list(data.glob("**/*.tmp"))


def test_certificate_kubeconfigs_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    serving = ensure_serving_cert(data, "127.0.0.1")
    issue_component_kubeconfigs(data, "https://127.0.0.1:6443", serving)
    write_kubeconfig(tmp_path / "alice.kubeconfig", data_dir=data, server_url="https://127.0.0.1:6443", user="alice")
    assert mode(data / "kubeconfigs") == 0o700
    for name in ("admin", "scheduler", "controller-manager", "proxy"):
        assert mode(data / "kubeconfigs" / f"{name}.kubeconfig") == 0o600, name
    assert mode(tmp_path / "alice.kubeconfig") == 0o600
    assert not list(data.glob("**/*.tmp"))


def test_agent_pki_is_private(tmp_path: Path) -> None:
    pki = tmp_path / "var" / "pki"
    ensure_agent_cert(pki, "node1", "192.168.56.11")
    assert mode(pki) == 0o700
    assert mode(pki / "node1.key") == 0o600


def test_agent_key_private_even_over_a_stale_side_file(tmp_path: Path) -> None:
    # An agent killed mid-write left node1.key.tmp behind with a public mode: reusing
    # that file (O_TRUNC keeps its mode) would publish the next key.
    pki = tmp_path / "pki"
    pki.mkdir(mode=0o700)
    (pki / "node1.key.tmp").write_bytes(b"half a key")
    assert mode(pki / "node1.key.tmp") == 0o644
    ensure_agent_cert(pki, "node1", "192.168.56.11")
    assert mode(pki) == 0o700
    assert mode(pki / "node1.key") == 0o600

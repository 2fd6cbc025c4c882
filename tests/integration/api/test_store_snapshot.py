"""`kajitori store snapshot save|status|restore` on the embedded store of a real master: saved while a
loop writes, restored into a new data dir (with pki/ and tokens.json copied, as documented; encryption-config.yaml too when Secrets are stored), the
master started there has every object acknowledged before the save, with its resourceVersion.
Corrupt, foreign and existing stores are refused with a one-line error."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api.registry import by_name
from tests.support.cluster import wait_for
from tests.support.etcd_process import EtcdProcess
from tests.support.master_process import MasterProcess
from tests.support.pki import make_pki

pytestmark = pytest.mark.integration

CONFIGMAPS = by_name("configmaps")


def kajitori(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=120)


class Writer:
    """Creates ConfigMaps one after another; ``acked`` holds those the master answered 201 for."""

    def __init__(self, master: MasterProcess) -> None:
        self.client = master.client()
        self.acked: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{index}"}, "data": {"i": str(index)}}
            created = self.client.create_raw(CONFIGMAPS, doc, "default")
            with self._lock:
                self.acked[created["metadata"]["name"]] = created["metadata"]["resourceVersion"]
            index += 1

    def so_far(self) -> dict[str, str]:
        with self._lock:
            return dict(self.acked)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.client.close()


@pytest.fixture
def master(tmp_path: Path) -> Iterator[MasterProcess]:
    proc = MasterProcess(tmp_path / "old", extra_args=["--no-controllers"]).start()
    yield proc
    proc.stop()


def test_a_snapshot_saved_while_writing_restores_every_acknowledged_object(master: MasterProcess, tmp_path: Path) -> None:
    writer = Writer(master)
    try:
        wait_for(lambda: len(writer.so_far()) >= 20, what="20 acknowledged writes")
        before = writer.so_far()
        snap = tmp_path / "backup.db"
        saved = kajitori("store", "snapshot", "save", str(snap), "--data-dir", str(master.data_dir))
        assert saved.returncode == 0, saved.stderr
        # The master kept answering writes after the save (nothing was locked out).
        wait_for(lambda: len(writer.so_far()) >= len(before) + 5, what="writes after the save")
    finally:
        writer.stop()
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600
    assert "pki/, tokens.json and encryption-config.yaml" in saved.stdout

    status = kajitori("store", "snapshot", "status", str(snap), "-o", "json")
    assert status.returncode == 0, status.stderr
    figures = json.loads(status.stdout)
    assert figures["revision"] >= max(int(rv) for rv in before.values())
    assert figures["size"] == snap.stat().st_size

    new_dir = tmp_path / "new"
    restored = kajitori("store", "snapshot", "restore", str(snap), "--data-dir", str(new_dir))
    assert restored.returncode == 0, restored.stderr
    # What the documentation says to copy by hand: the cluster's identity.
    shutil.copytree(master.data_dir / "pki", new_dir / "pki")
    shutil.copy2(master.data_dir / "tokens.json", new_dir / "tokens.json")
    master.stop()

    again = kajitori("store", "snapshot", "restore", str(snap), "--data-dir", str(new_dir))
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "exists" in again.stderr

    new_master = MasterProcess(new_dir, extra_args=["--no-controllers"]).start()
    try:
        client = new_master.client()
        listed = client.list_raw(CONFIGMAPS, "default")
        client.close()
    finally:
        new_master.stop()
    found = {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in listed["items"]}
    assert {name: found.get(name) for name in before} == before
    # Nothing in it that the master had not acknowledged (the writer ended after its last answer).
    assert set(found) <= set(writer.so_far())
    # It resumed at the snapshot's revision (and may have written since it started).
    assert int(listed["metadata"]["resourceVersion"]) >= figures["revision"]


def make_foreign_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()


def test_corrupt_and_foreign_files_are_refused_with_one_line(master: MasterProcess, tmp_path: Path) -> None:
    client = master.client()
    for index in range(30):
        client.create_raw(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{index}"}, "data": {"x": "y" * 2000}}, "default")
    client.close()
    good = tmp_path / "good.db"
    assert kajitori("store", "snapshot", "save", str(good), "--data-dir", str(master.data_dir)).returncode == 0

    corrupt = tmp_path / "corrupt.db"
    data = bytearray(good.read_bytes())
    # Scribble over the head of every page after the first: the file still says SQLite, its b-trees are garbage.
    for offset in range(4096, len(data), 4096):
        data[offset : offset + 200] = b"\xa5" * 200
    corrupt.write_bytes(bytes(data))
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    foreign = tmp_path / "foreign.db"
    make_foreign_sqlite(foreign)

    for bad, says in ((corrupt, "corrupt"), (text, "not a Kajitori store"), (foreign, "not a Kajitori store")):
        for args in (["status", str(bad)], ["restore", str(bad), "--data-dir", str(tmp_path / f"into-{bad.stem}")]):
            done = kajitori("store", "snapshot", *args)
            assert done.returncode == 1, (bad, args, done.stdout)
            assert done.stderr.count("\n") == 1 and says in done.stderr, (bad, done.stderr)
        assert not (tmp_path / f"into-{bad.stem}" / "state.db").exists()


def test_an_etcd_snapshot_restored_into_a_new_etcd_gives_a_master_every_object(tmp_path: Path) -> None:
    old_etcd = EtcdProcess(tmp_path / "etcd-old").start()
    try:
        master = MasterProcess(tmp_path / "old", extra_args=["--no-controllers", "--store", "etcd", "--etcd-servers", old_etcd.url]).start()
        writer = Writer(master)
        try:
            wait_for(lambda: len(writer.so_far()) >= 20, what="20 acknowledged writes")
            before = writer.so_far()
            snap = tmp_path / "etcd.snapshot"
            saved = kajitori("store", "snapshot", "save", str(snap), "--store", "etcd", "--etcd-servers", old_etcd.url)
            assert saved.returncode == 0, saved.stderr
            wait_for(lambda: len(writer.so_far()) >= len(before) + 5, what="writes after the save")
        finally:
            writer.stop()
            master.stop()
    finally:
        old_etcd.stop()
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600
    status = kajitori("store", "snapshot", "status", str(snap), "-o", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["revision"] >= max(int(rv) for rv in before.values())

    new_etcd = EtcdProcess(tmp_path / "etcd-new")
    restored = kajitori(
        "store", "snapshot", "restore", str(snap), "--store", "etcd", "--data-dir", str(new_etcd.data_dir),
        "--name", "test", "--initial-advertise-peer-urls", f"http://127.0.0.1:{new_etcd.peer_port}",
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert f"etcd --data-dir={new_etcd.data_dir}" in restored.stdout
    refused = kajitori("store", "snapshot", "restore", str(snap), "--store", "etcd", "--data-dir", str(new_etcd.data_dir))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "not empty" in refused.stderr

    new_dir = tmp_path / "new"
    new_dir.mkdir()
    shutil.copytree(tmp_path / "old" / "pki", new_dir / "pki")
    shutil.copy2(tmp_path / "old" / "tokens.json", new_dir / "tokens.json")
    new_etcd.start()
    try:
        new_master = MasterProcess(new_dir, extra_args=["--no-controllers", "--store", "etcd", "--etcd-servers", new_etcd.url]).start()
        try:
            client = new_master.client()
            listed = client.list_raw(CONFIGMAPS, "default")
            client.close()
        finally:
            new_master.stop()
    finally:
        new_etcd.stop()
    found = {item["metadata"]["name"]: item["metadata"]["resourceVersion"] for item in listed["items"]}
    assert {name: found.get(name) for name in before} == before


def test_an_etcd_snapshot_over_tls_needs_the_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    etcd = EtcdProcess(tmp_path / "etcd", pki=pki).start()
    try:
        base = ["store", "snapshot", "save", "--store", "etcd", "--etcd-servers", etcd.url, "--etcd-cafile", str(pki.ca), "--timeout", "15"]
        refused = kajitori(*base, str(tmp_path / "no-cert.snapshot"))
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert not (tmp_path / "no-cert.snapshot").exists()
        saved = kajitori(*base, "--etcd-certfile", str(pki.client_cert), "--etcd-keyfile", str(pki.client_key), str(tmp_path / "s"))
        assert saved.returncode == 0, saved.stderr
    finally:
        etcd.stop()
    assert kajitori("store", "snapshot", "status", str(tmp_path / "s")).returncode == 0

"""master/store/snapshot.py on an in-process SQLite store: a snapshot is the store at one revision,
a restore never replaces a store, and a file that is not a sound Kajitori store is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.store import SQLiteStore, encryption, snapshot


def test_save_then_restore_gives_the_same_objects_at_the_same_revision(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "old" / "state.db")
    for index in range(5):
        store.create(f"/core/configmaps/default/c{index}", {"metadata": {"name": f"c{index}"}})
    saved = snapshot.save(tmp_path / "old", tmp_path / "snap.db")
    store.create("/core/configmaps/default/late", {"metadata": {"name": "late"}})
    assert (saved.revision, saved.objects) == (5, 5)
    assert not (tmp_path / "snap.db-wal").exists()

    snapshot.restore(tmp_path / "snap.db", tmp_path / "new")
    restored = SQLiteStore(tmp_path / "new" / "state.db")
    objects, revision = restored.list("/core/configmaps")
    assert revision == 5
    assert sorted(o.key for o in objects) == [f"/core/configmaps/default/c{i}" for i in range(5)]
    with pytest.raises(snapshot.SnapshotError, match="exists"):
        snapshot.restore(tmp_path / "snap.db", tmp_path / "new")
    store.close()
    restored.close()


def test_a_secret_encrypted_at_rest_passes_the_check(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "old" / "state.db", transformer=encryption.load(tmp_path / "old"))
    store.create("/core/secrets/default/s", {"metadata": {"name": "s"}, "data": {"p": "cQ=="}})
    store.close()
    assert snapshot.check(tmp_path / "old" / "state.db").objects == 1


def test_a_value_that_is_not_json_is_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "old" / "state.db")
    store.create("/core/configmaps/default/c", {"metadata": {"name": "c"}})
    store._db.execute("UPDATE objects SET value = x'00ff'")
    store.close()
    with pytest.raises(snapshot.SnapshotError, match="corrupt: the object /core/configmaps/default/c is not JSON"):
        snapshot.check(tmp_path / "old" / "state.db")


def test_no_store_in_the_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(snapshot.SnapshotError, match="no store at"):
        snapshot.save(tmp_path, tmp_path / "snap.db")
    assert not (tmp_path / "snap.db.part").exists()

"""`--store` and `--etcd-*` flags become StoreSettings, or a ValueError naming the flag."""

from __future__ import annotations

import pytest

from master.settings import StoreSettings


def test_etcd_servers_are_split_and_trimmed() -> None:
    settings = StoreSettings.from_flags("etcd", "https://10.0.0.1:2379, https://10.0.0.2:2379,", "ca", "c", "k", 60)
    assert settings.etcd_servers == ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
    assert (settings.etcd_cafile, settings.etcd_certfile, settings.etcd_keyfile) == ("ca", "c", "k")
    assert settings.etcd_compaction_interval_s == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("mysql", "", None, None, None, 300), "--store must be sqlite or etcd", id="unknown-store"),
        pytest.param(("etcd", " , ", None, None, None, 300), "needs --etcd-servers", id="etcd-without-servers"),
        pytest.param(("etcd", "http://e:2379", None, "c", None, 300), "go together", id="cert-without-key"),
    ],
)
def test_wrong_flags_are_named(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StoreSettings.from_flags(*args)  # type: ignore[arg-type]


def test_sqlite_stays_the_default() -> None:
    assert StoreSettings().backend == "sqlite"
    assert StoreSettings.from_flags("sqlite", "", None, None, None, 300).etcd_servers == []

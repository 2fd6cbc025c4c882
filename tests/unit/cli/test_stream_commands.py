"""The pure parts of exec, cp and port-forward: port mappings, remote paths, exit codes, safe unpacking."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import orjson
import pytest

from cli.cp_cmd import _unpack, split_remote
from cli.port_forward_cmd import parse_mapping
from cli.session import CliError
from kajitori.streaming import link
from kajitori.streaming.remote_command import RemoteError, exit_code


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("8084:80", (8084, "80")), ("80", (80, "80")), (":80", (0, "80")), ("0:http", (0, "http"))],
)
def test_port_mappings_read_as_kubectl_reads_them(spec: str, expected: tuple[int, str]) -> None:
    assert parse_mapping(spec) == expected


@pytest.mark.parametrize("spec", ["x:80", "8084:", "70000:80"])
def test_a_bad_port_mapping_is_a_cli_error(spec: str) -> None:
    with pytest.raises(CliError):
        parse_mapping(spec)


def test_remote_paths_name_a_pod_and_maybe_a_namespace() -> None:
    assert split_remote("web:/tmp/x", "default") == ("default", "web", "/tmp/x")
    assert split_remote("prod/web:/tmp/x", "default") == ("prod", "web", "/tmp/x")
    assert split_remote("/tmp/local", "default") is None


def test_exit_codes_come_from_the_status_channel() -> None:
    assert exit_code(link.exit_status(0)) == 0
    assert exit_code(link.exit_status(3)) == 3
    with pytest.raises(RemoteError, match="gone"):
        exit_code(orjson.dumps({"status": "Failure", "message": "the container is gone"}))


def _archive(*members: tuple[str, bytes | None]) -> io.BytesIO:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    raw.seek(0)
    return raw


def test_unpacking_maps_the_prefix_to_the_destination_and_skips_escapes(tmp_path: Path) -> None:
    archive = _archive(
        ("tmp/d/a.txt", b"a"), ("tmp/d/../../evil", b"x"), ("tmp/d/link", None), ("tmp/other", b"o")
    )
    _unpack(archive, "tmp/d", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]
    assert not (tmp_path / "evil").exists()

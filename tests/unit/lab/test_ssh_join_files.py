"""`Remote.write_file` over a real SSH connection: a staged file is 0600 before its first byte.

An in-process paramiko server on loopback stands in for the machine: it accepts the test's
key, runs commands in a local shell (as root already, so it drops the ``sudo -n`` the
machine's sudo would take) and serves SFTP from the local file system, creating files
0644 as OpenSSH's sftp-server does under the usual umask. It records each file's mode
when the first byte reaches it: the node kubeconfig (the node's token) was staged 0644
in /tmp and only made 0600 by the later ``install``.
"""

from __future__ import annotations

import os
import shlex
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.common import AUTH_SUCCESSFUL, OPEN_SUCCEEDED
from paramiko.sftp import SFTP_OK
from typing_extensions import Buffer

from lab.ssh_join import Remote, SSHTarget

MODES_AT_FIRST_WRITE: dict[str, int] = {}


class LocalHandle(paramiko.SFTPHandle):
    def __init__(self, path: str, flags: int, fd: int) -> None:
        super().__init__(flags)
        self.path = path
        self.writefile = os.fdopen(fd, "wb")

    def write(self, offset: int, data: Buffer) -> int:
        MODES_AT_FIRST_WRITE.setdefault(self.path, stat.S_IMODE(os.stat(self.path).st_mode))
        return super().write(offset, data)  # type: ignore[no-any-return]

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        if attr.st_mode is not None:
            os.chmod(self.path, stat.S_IMODE(attr.st_mode))
        return SFTP_OK

    def stat(self) -> paramiko.SFTPAttributes:
        return paramiko.SFTPAttributes.from_stat(os.stat(self.path))


class LocalSFTP(paramiko.SFTPServerInterface):
    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> Any:
        old = os.umask(0o022)  # sftp-server's usual umask, whatever this process has
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno or 0)
        finally:
            os.umask(old)
        return LocalHandle(path, flags, fd)


class Machine(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        argv = shlex.split(command.decode())
        if argv[:2] == ["sudo", "-n"]:
            argv = argv[2:]

        def run() -> None:
            done = subprocess.run(argv, capture_output=True, check=False)
            channel.sendall(done.stdout + done.stderr)
            channel.send_exit_status(done.returncode)
            channel.close()

        threading.Thread(target=run, daemon=True).start()
        return True


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[SSHTarget]:
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(tmp_path / "id_rsa"))
    host_key = paramiko.RSAKey.generate(2048)
    listener = socket.create_server(("127.0.0.1", 0))
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, LocalSFTP)
            transport.start_server(server=Machine())
            transports.append(transport)

    threading.Thread(target=serve, daemon=True).start()
    yield SSHTarget(host="127.0.0.1", user="root", key=tmp_path / "id_rsa", port=listener.getsockname()[1])
    listener.close()
    for transport in transports:
        transport.close()


@pytest.mark.parametrize("mode", ["0600", "0644"])
def test_a_file_is_staged_0600_before_its_content_and_installed_with_its_mode(
    machine: SSHTarget, tmp_path: Path, mode: str
) -> None:
    target = tmp_path / "etc" / "node.kubeconfig"
    with Remote(machine) as remote:
        assert remote.write_file(str(target), "token: s3cret\n", mode=mode)
        assert not remote.write_file(str(target), "token: s3cret\n", mode=mode)  # unchanged: nothing staged
    (staged,) = [path for path in MODES_AT_FIRST_WRITE if path.startswith("/tmp/kajitori-join-")]
    assert MODES_AT_FIRST_WRITE.pop(staged) == 0o600
    assert not Path(staged).exists()
    assert target.read_text() == "token: s3cret\n"
    assert stat.S_IMODE(target.stat().st_mode) == int(mode, 8)

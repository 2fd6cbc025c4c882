"""An exec's output that arrives together with dockerd's `101 UPGRADED` head is not lost (issue 18).

The thing tested is the agent's reading of a hijacked Docker connection, through the real
docker-py client and http.client; around it, a small dockerd on a unix socket that writes
the head and the first output frames in one `send`, as a real dockerd's writes coalesce
when the reader is late on a busy machine. On the old code the exec answered `(0, b'')`.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.docker_runtime import DockerRuntime
from agent.docker_streams import DockerStreams
from agent.runtime import ContainerId
from agent.stream_relay import relay

C1 = ContainerId("c1")
UPGRADED = (
    b"HTTP/1.1 101 UPGRADED\r\n"
    b"Content-Type: application/vnd.docker.multiplexed-stream\r\n"
    b"Connection: Upgrade\r\n"
    b"Upgrade: tcp\r\n\r\n"
)


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


class FakeDockerd(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, stream: bytes) -> None:
        self.stream = stream
        super().__init__(path, Handler)


class Handler(socketserver.BaseRequestHandler):
    server: FakeDockerd

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        request_line = head.split(b"\r\n", 1)[0].decode()
        method, path, _ = request_line.split(" ", 2)
        if method == "POST" and (path.endswith("/start") or "/attach" in path):
            # The head and the whole output in one write, then the end of the stream.
            self.request.sendall(UPGRADED + self.server.stream)
            self.request.shutdown(socket.SHUT_WR)
            return
        if method == "POST" and path.endswith("/exec"):
            body: object = {"Id": "e1"}
        elif path.endswith("/exec/e1/json"):
            body = {"Running": False, "ExitCode": 3, "Pid": 0}
        elif path.endswith("/containers/c1/json"):
            body = {"Config": {"Tty": False}, "State": {"Running": True}}
        else:
            self.request.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        data = json.dumps(body).encode()
        status = b"201 Created" if method == "POST" else b"200 OK"
        self.request.sendall(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data
        )


@pytest.fixture
def dockerd_with(tmp_path: Path) -> Iterator[Callable[[bytes], str]]:
    servers: list[FakeDockerd] = []

    def start(stream: bytes) -> str:
        path = str(tmp_path / f"docker{len(servers)}.sock")
        server = FakeDockerd(path, stream)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"unix://{path}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_output_read_with_the_upgrade_head_is_part_of_the_exec_answer(dockerd_with: Callable[[bytes], str]) -> None:
    url = dockerd_with(frame(1, b"rc=0\n"))

    code, output = DockerRuntime(url, timeout_s=5).exec_sync(C1, ["sh", "-c", "echo rc=$?"], 5)

    assert (code, output) == (3, b"rc=0\n")


def test_output_larger_than_the_head_buffer_arrives_whole_and_in_order(dockerd_with: Callable[[bytes], str]) -> None:
    # http.client's reader holds up to 8 KiB: part of this is in its buffer, the rest in the socket.
    chunks = [bytes([65 + i % 26]) * 1000 for i in range(40)]
    url = dockerd_with(b"".join(frame(1 + i % 2, chunk) for i, chunk in enumerate(chunks)))

    code, output = DockerRuntime(url, timeout_s=5).exec_sync(C1, ["cat", "big"], 5)

    assert code == 3
    assert output == b"".join(chunks)


def test_an_interactive_exec_relays_its_first_output(dockerd_with: Callable[[bytes], str]) -> None:
    url = dockerd_with(frame(1, b"hello\n") + frame(2, b"oops\n"))
    streams = DockerStreams(DockerRuntime(url, timeout_s=5)._api)
    session = streams.start_exec(C1, ["sh"], stdin=False, tty=False)
    client, server_side = socket.socketpair()
    try:
        ended = relay(server_side, session.sock, output=lambda data: [data], early=session.early)
        server_side.shutdown(socket.SHUT_WR)
        relayed = b""
        while chunk := client.recv(65536):
            relayed += chunk
    finally:
        session.sock.close()
        client.close()
        server_side.close()

    assert ended == "done"
    assert relayed == frame(1, b"hello\n") + frame(2, b"oops\n")


def test_an_attach_keeps_its_first_output(dockerd_with: Callable[[bytes], str]) -> None:
    url = dockerd_with(frame(1, b"attached\n"))
    streams = DockerStreams(DockerRuntime(url, timeout_s=5)._api)
    session = streams.start_attach(C1, stdin=False)
    try:
        received = session.early
        while chunk := session.sock.recv(65536):
            received += chunk
    finally:
        session.sock.close()

    assert received == frame(1, b"attached\n")

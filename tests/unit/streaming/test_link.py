"""The agent link's frames and the Status an exec ends with."""

from __future__ import annotations

import socket

import orjson
import pytest

from kajitori.streaming import link


def test_frames_survive_any_cut() -> None:
    raw = link.frame(link.STDOUT, b"hello") + link.frame(link.CLOSE, b"\x00") + link.frame(link.STATUS, b"{}")
    expected = [(link.STDOUT, b"hello"), (link.CLOSE, b"\x00"), (link.STATUS, b"{}")]
    for cut in range(len(raw)):
        reader = link.FrameReader()
        assert [*reader.feed(raw[:cut]), *reader.feed(raw[cut:])] == expected


def test_an_absurd_length_is_refused() -> None:
    with pytest.raises(link.LinkError):
        list(link.FrameReader().feed(b"\x01\xff\xff\xff\xff"))


def test_exit_statuses_read_as_kubectl_reads_them() -> None:
    assert orjson.loads(link.exit_status(0)) == {"metadata": {}, "status": "Success"}
    failed = orjson.loads(link.exit_status(3))
    assert failed["status"] == "Failure" and failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


def test_keepalive_is_on_with_the_links_timers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        accepted, _ = server.accept()
        with accepted:
            for sock in (client, accepted):
                link.enable_keepalive(sock)
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == link.KEEPALIVE_IDLE_S
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == link.KEEPALIVE_INTERVAL_S
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == link.KEEPALIVE_COUNT
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == link.USER_TIMEOUT_S * 1000

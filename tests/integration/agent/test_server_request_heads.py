"""The agent's port bounds request heads: 1 MiB (431), and the handshake plus head to 32 s (here 1 s).

Real sockets and TLS against an ``AgentServer`` in this process, on the fake runtime.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.fake_runtime import FakeRuntime
from agent.server import AgentServer, TokenChecker
from agent.serving_cert import ensure_serving_cert
from tests.support.hostile_http import Crowd, rss_bytes, trickling_head, unfinished_head

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


@pytest.fixture
def agent_port(tmp_path: Path) -> Iterator[tuple[AgentServer, ssl.SSLContext]]:
    cert = ensure_serving_cert(tmp_path / "pki", "node1", "127.0.0.1")
    server = AgentServer(
        FakeRuntime(), lambda namespace, pod: None, TokenChecker("node-token", "https://127.0.0.1:1"),
        host="127.0.0.1", port=0, node_name="node1", node_label="io.kajitori.node", tls=cert,
        header_timeout_s=1.0,
    )  # fmt: skip
    server.start()
    tls = ssl.create_default_context(cafile=str(cert.cert_path))
    yield server, tls
    server.stop()


def test_unfinished_5_mib_heads_are_refused(agent_port: tuple[AgentServer, ssl.SSLContext]) -> None:
    server, tls = agent_port
    before = rss_bytes(_pid())
    # 90 lines of 64,000 bytes: each under the stdlib's per-line limit (64 KiB) and its
    # count of 100 headers, 5.5 MiB in all.
    outcomes = Crowd(10).run(unfinished_head, server.port, tls, size=90 * 64_000, line=64_000)
    assert all(o.closed for o in outcomes), [o.error for o in outcomes]
    assert {o.status for o in outcomes} == {"HTTP/1.0 431 Request Header Fields Too Large"}
    assert rss_bytes(_pid()) - before < 40 * MiB


def test_trickling_heads_and_handshakes_are_closed_within_the_bound(
    agent_port: tuple[AgentServer, ssl.SSLContext],
) -> None:
    server, tls = agent_port
    # Each would trickle for 30 s; the 1 s bound must end every one long before.
    outcomes = Crowd(10).run(trickling_head, server.port, tls, give_up=30.0)
    assert all(o.closed for o in outcomes), [o.error for o in outcomes]
    assert max(o.seconds for o in outcomes) < 15.0
    # A client that connects and never starts TLS is closed too.
    silent = Crowd(5).run(trickling_head, server.port, None, give_up=30.0, every=60.0)
    assert all(o.closed for o in silent), [o.error for o in silent]
    # A prompt request still works.
    answer = httpx.get(f"https://127.0.0.1:{server.port}/healthz", verify=tls)
    assert answer.text == "ok"
    assert threading.active_count() < 50


def _pid() -> int:
    import os

    return os.getpid()

"""The API server bounds request heads: 1 MiB (431), and the time to send them (408).

Real sockets and TLS. The size bound runs against a real master process; the time bound
against the master's own server configuration (``master.server.server_config``) with a
one-second bound, since the default (32 s, as kube-apiserver) would make a slow test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from kajitori import config
from master.apiserver.tls import ensure_serving_cert
from master.server import server_config
from master.settings import MasterSettings
from tests.support.hostile_http import Crowd, rss_bytes, trickling_head, unfinished_head
from tests.support.master_process import MasterProcess, free_port

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def test_ten_unfinished_8_mib_heads_are_refused_and_memory_stays_bounded(master: MasterProcess) -> None:
    assert master.proc is not None
    before = rss_bytes(master.proc.pid)
    outcomes = Crowd(10).run(unfinished_head, master.port, master.tls(), size=8 * MiB)
    grown = rss_bytes(master.proc.pid) - before
    assert all(o.closed for o in outcomes), [o.error for o in outcomes]
    assert {o.status for o in outcomes} == {"HTTP/1.1 431 Request Header Fields Too Large"}
    assert grown < 40 * MiB, f"the master grew by {grown / MiB:.0f} MiB"
    # And it still answers.
    assert httpx.get(f"{master.url}/healthz", verify=master.tls()).text == "ok"


@pytest.fixture
def short_bound_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    settings = MasterSettings(host="127.0.0.1", port=free_port(), header_timeout_s=1.0)
    serving = ensure_serving_cert(tmp_path, "127.0.0.1")
    server = uvicorn.Server(server_config(app, settings, serving))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "server did not start"
        threading.Event().wait(0.05)
    yield settings.port, serving.ca_cert
    server.should_exit = True
    thread.join(10)


def test_trickling_heads_are_closed_within_the_bound(short_bound_server: tuple[int, Path]) -> None:
    port, ca = short_bound_server
    tls = config.ssl_context_for(ca.read_bytes())
    # Each would trickle for 30 s; the 1 s bound must end every one long before.
    outcomes = Crowd(10).run(trickling_head, port, tls, give_up=30.0)
    assert all(o.closed for o in outcomes), [o.error for o in outcomes]
    unanswered = [(o.error, o.sent, round(o.seconds, 2)) for o in outcomes if o.status != "HTTP/1.1 408 Request Timeout"]
    assert not unanswered, unanswered
    assert max(o.seconds for o in outcomes) < 15.0
    # A request whose head comes at once is served as before, also on a kept-alive connection.
    with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=tls) as http:
        assert [http.get("/healthz").text for _ in range(3)] == ["ok"] * 3

"""The etcd watch stream is split on newlines only, as the API client's watch is.

A loopback HTTP server stands in for etcd's JSON gateway: it answers one watch with an
event and then a cancel whose reason holds U+2028, U+2029 and U+0085 raw (JSON allows
them unescaped); httpx's ``iter_lines`` cut that line in three and the watch failed on
half a JSON document instead of reporting the cancel.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from master.store.etcd_client import EtcdClient, EtcdUnavailable

REASON = "stopped \u2028 by \u2029 a \u0085 test"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Gateway(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        event = {"type": "PUT", "kv": {"key": b64("/registry/a"), "value": b64('{"note": "\u2028"}'),
                                       "create_revision": "2", "mod_revision": "2", "version": "1"}}  # fmt: skip
        lines = [
            {"result": {"header": {"revision": "2"}, "events": [event]}},
            {"result": {"header": {"revision": "2"}, "canceled": True, "cancel_reason": REASON}},
        ]
        body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_watch_line_holding_u2028_is_read_whole(gateway: str) -> None:
    watch = EtcdClient([gateway]).watch_prefix(b"/registry/", 1)
    (event,) = next(watch)
    assert event.kv.key == b"/registry/a" and orjson.loads(event.kv.value) == {"note": "\u2028"}
    with pytest.raises(EtcdUnavailable, match=REASON):
        next(watch)

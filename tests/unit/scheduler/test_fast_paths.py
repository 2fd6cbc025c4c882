"""The scheduler's fast paths give the answers of the slow ones: fused scores, the inline
resource filter, and bindings over ``http.client`` against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kajitori import config
from kajitori.client import ApiClient, ConflictError, NotFoundError
from master.controllers.context import LoopContext
from master.scheduler.binder import HttpBinder
from master.scheduler.scheduler import Scheduler
from master.scheduler.scores import SCORES, score_nodes
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder
from tests.unit.scheduler.test_filters_scores import make_node, make_pod


def test_fused_resource_scores_equal_the_separate_scores() -> None:
    pod = make_pod("300m", "700Mi")
    nodes = [make_node(f"n{i}", cpu=str(2 + i), memory=f"{4 + 3 * i}Gi") for i in range(6)]
    nodes[2].add(make_pod("1", "1Gi"))
    nodes[4].add(make_pod(None, None))  # counted with Kubernetes' non-zero defaults
    separate = [sum(s.weight * s.raw(pod, n) for s in SCORES[:2]) for n in nodes]
    assert score_nodes(pod, nodes) == pytest.approx(separate, abs=1e-9)


def test_only_nodes_that_fit_are_chosen() -> None:
    ctx = LoopContext(client=RecordingClient(), informers=FakeInformers(), recorder=RecordingRecorder())
    scheduler = Scheduler(ctx)
    full = make_node("full", cpu="1")
    full.add(make_pod("900m"))
    nodes = [full, make_node("down", ready=False), make_node("cordoned", unschedulable=True),
             make_node("tainted", taints=[{"key": "k", "effect": "NoSchedule"}]), make_node("ok")]  # fmt: skip
    for node in nodes:
        scheduler.cache.nodes[node.name] = node
    for _ in range(10):
        chosen, total, _reasons = scheduler._find_node(make_pod("500m"))
        assert (chosen, total) == ("ok", 5)
    scheduler.cache.nodes.pop("ok")
    chosen, _total, reasons = scheduler._find_node(make_pod("500m"))
    assert chosen is None
    assert sum(reasons.values()) == 4


class BindingServer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, dict[str, Any], str]] = []
    answers: dict[str, int] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, body, self.headers.get("Authorization", "")))
        code = self.answers.get(body["metadata"]["name"], 201)
        data = json.dumps({"kind": "Status", "code": code, "message": f"answer {code}"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if body["metadata"]["name"] == "closing":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BindingServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    BindingServer.seen.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_binder_posts_the_binding_and_maps_errors(server: str) -> None:
    BindingServer.answers = {"gone": 404, "taken": 409}
    client = ApiClient(config.ClientConfig(server=server, token="t0k"))
    binder = HttpBinder(client)
    binder.bind("default", "web-1", "node-a", uid="u1")
    binder.bind("default", "closing", "node-a")  # the server closes the connection after answering
    binder.bind("default", "web-2", "node-b")  # so this one goes over a new connection
    with pytest.raises(NotFoundError):
        binder.bind("default", "gone", "node-a")
    with pytest.raises(ConflictError):
        binder.bind("default", "taken", "node-a")
    path, body, auth = BindingServer.seen[0]
    assert path == "/api/v1/namespaces/default/pods/web-1/binding"
    assert body["kind"] == "Binding" and body["target"]["name"] == "node-a" and body["metadata"]["uid"] == "u1"
    assert auth == "Bearer t0k"
    assert [b["metadata"]["name"] for _p, b, _a in BindingServer.seen] == ["web-1", "closing", "web-2", "gone", "taken"]
    client.close()

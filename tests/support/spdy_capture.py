"""Record what a real kubectl sends when its port-forward opens a connection (SPDY/3.1 in a WebSocket).

A small fake API server on loopback (plain HTTP, uvicorn with wsproto as the master uses)
answers just enough for ``kubectl port-forward pod/capture LOCAL:8080``: discovery, the
pod (Running), and the WebSocket, where every binary message kubectl sends is kept as it
came, SYN_STREAMs are answered with SYN_REPLY (kubectl waits for them) and the first
data is echoed. The test then opens one local connection and sends ``PAYLOAD``. What is
recorded is kubectl's own bytes: its zlib stream, stream ids, headers and framing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket

from kajitori.streaming import spdy
from tests.support.master_process import free_port
from tests.support.processes import stop_process

POD = "capture"
REMOTE_PORT = 8080
PAYLOAD = b"hello from the capture\n"
PROTOCOL = "SPDY/3.1+portforward.k8s.io"


def _app(port: int, messages: list[bytes], done: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/version")
    def version() -> dict[str, Any]:
        return {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}

    @app.get("/api")
    def api() -> dict[str, Any]:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]}

    @app.get("/apis")
    def apis() -> dict[str, Any]:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}

    @app.get("/api/v1")
    def core() -> dict[str, Any]:
        pods = {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]}
        forward = {"name": "pods/portforward", "singularName": "", "namespaced": True, "kind": "PodPortForwardOptions", "verbs": ["create", "get"]}
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [pods, forward]}

    @app.get("/api/v1/namespaces/default/pods/capture")
    def pod() -> dict[str, Any]:
        return {
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": POD, "namespace": "default", "uid": "00000000-0000-0000-0000-000000000001"},
            "spec": {"containers": [{"name": "main", "image": "busybox", "ports": [{"containerPort": REMOTE_PORT}]}]},
            "status": {"phase": "Running"},
        }  # fmt: skip

    @app.websocket("/api/v1/namespaces/default/pods/capture/portforward")
    async def forward(ws: WebSocket) -> None:
        await ws.accept(subprotocol=PROTOCOL)
        decoder, encoder = spdy.Decoder(), spdy.Encoder()
        data_stream = 0
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("bytes") or b""
            if not done.is_set():
                messages.append(bytes(raw))
            for frame in decoder.feed(raw):
                if isinstance(frame, spdy.ControlFrame) and frame.type == spdy.SYN_STREAM:
                    await ws.send_bytes(encoder.syn_reply(frame.stream_id))
                    if frame.headers.get("streamtype") == "data":
                        data_stream = frame.stream_id
                elif isinstance(frame, spdy.ControlFrame) and frame.type == spdy.PING:
                    await ws.send_bytes(encoder.ping(frame.ping_id))
                elif isinstance(frame, spdy.DataFrame) and frame.stream_id == data_stream and frame.data:
                    await ws.send_bytes(encoder.data(data_stream, frame.data))
                    if PAYLOAD in b"".join(messages):
                        done.set()

    return app


def capture_port_forward_open(kubectl: str, work_dir: Path, *, limit_s: float = 120.0) -> list[bytes]:
    """The WebSocket messages `kubectl` sent from the tunnel's start to the end of one connection's first data."""
    port = free_port()
    messages: list[bytes] = []
    done = threading.Event()
    server = uvicorn.Server(uvicorn.Config(_app(port, messages, done), host="127.0.0.1", port=port, ws="wsproto", log_level="warning"))
    thread = threading.Thread(target=server.run, name="spdy-capture", daemon=True)
    thread.start()
    deadline = time.monotonic() + limit_s
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the capture server never started"
        time.sleep(0.05)
    kubeconfig = work_dir / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: capture\n"
        f"clusters:\n- name: capture\n  cluster:\n    server: http://127.0.0.1:{port}\n"
        "contexts:\n- name: capture\n  context:\n    cluster: capture\n    user: capture\n    namespace: default\n"
        "users:\n- name: capture\n  user: {}\n"
    )
    local = free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(work_dir)}
    proc = subprocess.Popen(
        [kubectl, "port-forward", f"pod/{POD}", f"{local}:{REMOTE_PORT}", "--address", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Forwarding from 127.0.0.1:{local}"), (line, proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        with socket.create_connection(("127.0.0.1", local), timeout=limit_s) as sock:
            sock.sendall(PAYLOAD)
            echoed = b""
            while len(echoed) < len(PAYLOAD):
                chunk = sock.recv(65536)
                assert chunk, "kubectl closed the connection before the echo"
                echoed += chunk
        assert done.wait(limit_s), "kubectl's data never arrived"
    finally:
        stop_process(proc)
        server.should_exit = True
        thread.join(limit_s)
    return messages

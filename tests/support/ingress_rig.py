"""A rig for the ingress controller on this machine: a real master, the `kajitori ingress-controller`
process, Debian's nginx in a real container it starts on a session-named Docker network, and
two backend containers (nginx answering "HOSTNAME URI") behind selector-less Services with
Endpoints. Used by tests/integration/ingress and bench/ingress.

Traffic goes only to the containers the rig makes, by their addresses on its own Docker
network. Everything is session-named and labelled; only what the rig made is removed.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S, stop_process
from tests.support.session_names import SESSION, SESSION_LABEL, is_gone, session_name, session_of

IMAGE = "nginx:1.22"
LABELS = {"io.kajitori.test": "ingress", SESSION_LABEL: SESSION}
PUBLISHED = "127.0.0.1"
INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
# Each backend answers every path with its host name and the URI it was asked for.
BACKEND_SITE = 'server { listen 80 default_server; location / { default_type text/plain; return 200 "$hostname $request_uri\\n"; } }\n'


@dataclass
class Rig:
    master: MasterProcess
    http: httpx.Client
    nginx_ip: str
    controller_log: Path
    backends: dict[str, str]
    """Backend name (app-a, app-b) → its address."""
    controller_cmd: list[str]
    controller: subprocess.Popen[bytes] | None = None

    def start_controller(self) -> None:
        with self.controller_log.open("ab") as log:
            self.controller = subprocess.Popen(
                self.controller_cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )

    def stop_controller(self) -> None:
        stop_process(self.controller)
        self.controller = None


@contextmanager
def ingress_rig(tmp: Path) -> Iterator[Rig]:
    """The master, two backends with Services and Endpoints, the controller and its nginx; all removed after."""
    client = docker.from_env(timeout=120)
    client.images.get(IMAGE)  # ImageNotFound: run `make images`
    remove_leftovers(client)
    site = tmp / "backend-site.conf"
    site.write_text(BACKEND_SITE)
    network_name = session_name("kt-ingress-net")
    nginx_name = session_name("kt-ingress-nginx")
    made: list[Any] = []
    network = client.networks.create(network_name, driver="bridge", labels=LABELS)
    master = MasterProcess(tmp / "master").start()
    rig: Rig | None = None
    try:
        backends: dict[str, str] = {}
        for app in ("app-a", "app-b"):
            container = client.containers.run(
                IMAGE, name=session_name(f"kt-ingress-{app}"), hostname=app, network=network_name, detach=True,
                labels=LABELS, volumes={str(site): {"bind": "/etc/nginx/sites-enabled/default", "mode": "ro"}},
            )  # fmt: skip
            made.append(container)

            def address(c: Any = container) -> str | None:
                return _ip(c, network_name)

            ip = wait_for(address, timeout=PROCESS_TIMEOUT_S, what=f"{app}'s address")
            assert ip is not None  # wait_for returns only a truthy answer
            backends[app] = ip
        token = master.client().config.token
        http = httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=master.tls())
        for app, ip in backends.items():
            post(http, "/api/v1/namespaces/default/services", {"metadata": {"name": app}, "spec": {"ports": [{"name": "http", "port": 80}]}})
            post(http, "/api/v1/namespaces/default/endpoints", {
                "metadata": {"name": app},
                "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "http", "port": 80}]}],
            })  # fmt: skip
        log_path = tmp / "controller.log"
        # With its own certificate (kajitori:ingress-controller), as the lab's nodes run it.
        cmd = [
            sys.executable, "-m", "cli", "ingress-controller", "--kubeconfig", str(master.data_dir / "kubeconfigs" / "ingress.kubeconfig"),
            "--config-dir", str(tmp / "nginx"), "--nginx-container", nginx_name, "--network", network_name,
            "--publish-address", PUBLISHED,
        ]  # fmt: skip
        rig = Rig(master, http, "", log_path, backends, cmd)
        rig.start_controller()

        def nginx_ip() -> str | None:
            assert rig is not None and rig.controller is not None and rig.controller.poll() is None, log_path.read_text()[-3000:]
            try:
                return _ip(client.containers.get(nginx_name), network_name)
            except docker.errors.NotFound:
                return None

        published_ip = wait_for(nginx_ip, timeout=PROCESS_TIMEOUT_S, what="the controller's nginx container")
        assert published_ip is not None  # wait_for returns only a truthy answer
        rig.nginx_ip = published_ip
        yield rig
    finally:
        if rig is not None:
            rig.stop_controller()
        try:
            nginx = client.containers.get(nginx_name)
            if nginx.labels.get("io.kajitori.ingress") == nginx_name:
                # nginx's own words, kept beside the controller's log for a failed run.
                (tmp / "nginx.log").write_bytes(nginx.logs(timestamps=True))
                made.append(nginx)
        except docker.errors.NotFound:
            pass
        for container in made:
            container.remove(force=True)
        master.stop()
        network.remove()


def remove_leftovers(client: Any) -> None:
    """What rigs of sessions that are gone left behind (killed runs): their containers, then their networks."""
    wanted = {"label": [f"io.kajitori.test={LABELS['io.kajitori.test']}"]}
    for container in client.containers.list(all=True, filters=wanted):
        if is_gone(container.labels.get(SESSION_LABEL)):
            container.remove(force=True)
    # The controller's nginx carries the controller's label only; its name says whose it is.
    for container in client.containers.list(all=True, filters={"label": ["io.kajitori.ingress"]}):
        name = container.labels.get("io.kajitori.ingress", "")
        if name == container.name and is_gone(session_of(name, "kt-ingress-nginx")):
            container.remove(force=True)
    for network in client.networks.list(filters=wanted):
        if is_gone((network.attrs.get("Labels") or {}).get(SESSION_LABEL)):
            network.remove()


def _ip(container: Any, network: str) -> str | None:
    container.reload()
    return (container.attrs["NetworkSettings"]["Networks"].get(network) or {}).get("IPAddress") or None


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def request(ip: str, host: str, path: str = "/", *, tls: bool = False, cafile: bytes | None = None) -> tuple[int, str]:
    """One GET on a new connection, Host (and SNI) `host`; (status, body). Raises OSError on a failed connection."""
    sock = socket.create_connection((ip, 443 if tls else 80), timeout=10)
    try:
        if tls:
            ctx = ssl.create_default_context(cadata=cafile.decode()) if cafile else ssl._create_unverified_context()
            sock = ctx.wrap_socket(sock, server_hostname=host)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def answer(rig: Rig, host: str, path: str = "/", **kwargs: Any) -> tuple[int, str] | None:
    try:
        return request(rig.nginx_ip, host, path, **kwargs)
    except (OSError, IndexError, ValueError):
        return None


def served(rig: Rig, host: str, path: str, expected: tuple[int, str], **kwargs: Any) -> None:
    wait_for(lambda: answer(rig, host, path, **kwargs) == expected, timeout=PROCESS_TIMEOUT_S,
             what=f"{host}{path} answering {expected} (log: {rig.controller_log})")  # fmt: skip


def rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    return {"host": host, "http": {"paths": [
        {"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": {"number": 80}}}} for p, kind, svc in paths
    ]}}  # fmt: skip


def events_of(rig: Rig, name: str) -> list[dict[str, Any]]:
    """The Events about Ingress `name` in default."""
    items = rig.http.get("/api/v1/namespaces/default/events").json()["items"]
    return [e for e in items if e["involvedObject"].get("kind") == "Ingress" and e["involvedObject"].get("name") == name]


def synced(rig: Rig, name: str, generation: int) -> None:
    """Wait for the controller's Sync Event of that generation: from then on every nginx worker serves it."""
    wanted = f"generation {generation} served by nginx"
    wait_for(lambda: any(e["reason"] == "Sync" and e["message"] == wanted for e in events_of(rig, name)),
             timeout=PROCESS_TIMEOUT_S, what=f"ingress {name}: {wanted} (log: {rig.controller_log})")  # fmt: skip

"""A real single-member etcd (Debian's etcd-server) on free loopback ports and a temp data dir.

Installed on first use by ``scripts/ensure-etcd.sh`` (idempotent), so a fresh CI machine
needs nothing by hand; ended by its PID like every process a test starts.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.master_process import free_port
from tests.support.pki import Certificates
from tests.support.processes import kill_process, stop_process

REPO = Path(__file__).resolve().parents[2]


def ensure_etcd_installed() -> str:
    if shutil.which("etcd") is None:
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-etcd.sh")], check=True)
    path = shutil.which("etcd")
    assert path is not None, "scripts/ensure-etcd.sh did not install etcd"
    return path


@dataclass
class EtcdProcess:
    data_dir: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    pki: Certificates | None = None
    """With certificates: clients must present one signed by the same CA (--client-cert-auth)."""
    name: str = "test"
    initial_cluster: str | None = None
    """``name=peer-url,...`` of every member, for a member of a cluster (default: this one alone)."""
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.client_port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, timeout: float = 30.0) -> EtcdProcess:
        self.launch()
        return self.wait_healthy(timeout)

    def launch(self) -> EtcdProcess:
        """Start the process without waiting (a cluster's members answer only once a quorum runs)."""
        binary = ensure_etcd_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path
        peer = self.peer_url
        cmd = [
            binary, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", self.initial_cluster or f"{self.name}={peer}", "--logger", "zap", "--log-level", "warn",
            # Progress notifications every second on an idle watch (etcd's default: 10 min), so the
            # store's watch tells a quiet member from a hung one (master.store.etcd_client).
            "--experimental-watch-progress-notify-interval", "1s",
            *self.extra_args,
        ]  # fmt: skip
        if self.pki is not None:
            cmd += [
                "--cert-file", str(self.pki.server_cert), "--key-file", str(self.pki.server_key),
                "--trusted-ca-file", str(self.pki.ca), "--client-cert-auth",
            ]  # fmt: skip
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> EtcdProcess:
        assert self.proc is not None
        log_path = self.log_path
        tls: dict[str, object] = {}
        if self.pki is not None:
            context = ssl.create_default_context(cafile=str(self.pki.ca))
            context.load_cert_chain(str(self.pki.client_cert), str(self.pki.client_key))
            tls = {"verify": context}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                health = httpx.get(self.url + "/health", timeout=1.0, **tls)  # type: ignore[arg-type]
                if health.json().get("health") == "true":
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"etcd did not become healthy in {timeout}s:\n{log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

"""A real `kajitori master` process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kajitori import config
from kajitori.client import ApiClient
from tests.support.processes import PROCESS_TIMEOUT_S, kill_process, stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MasterProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    source: Path | None = None  # run the master of this checkout (e.g. main's, for a benchmark's before/after)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        """The master's CA certificate (PEM), for clients built without the kubeconfig."""
        return self.data_dir / "pki" / "ca.crt"

    def tls(self) -> ssl.SSLContext:
        """What ``httpx``'s ``verify=`` takes to trust this master."""
        return config.ssl_context_for(self.ca_file.read_bytes())

    def start(self, timeout: float = PROCESS_TIMEOUT_S) -> MasterProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "master.log"
        log = self.log_path.open("ab")
        cmd = [
            sys.executable, "-m", "cli", "master",
            "--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}", *self.extra_args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=self.source
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"master exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                # The CA is written before the server listens; until then there is nothing to ask.
                if self.ca_file.exists() and httpx.get(f"{self.url}/readyz", timeout=0.5, verify=self.tls()).status_code == 200:
                    return self
            except (httpx.TransportError, OSError):
                pass
            time.sleep(0.05)
        # A master that never became ready must not outlive the test that started it.
        self.stop()
        raise RuntimeError(f"master did not become ready in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def client(self, **kwargs: object) -> ApiClient:
        return ApiClient(config.load(self.kubeconfig), **kwargs)  # type: ignore[arg-type]

    def kill(self) -> None:
        """kill -9: what the durability tests do to it."""
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

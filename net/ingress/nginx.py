"""The ingress controller's seam to nginx: start it, check a configuration, reload it gracefully.

`Nginx` is the handful of methods the controller needs. `DockerNginx` runs Debian's nginx
(the ``nginx:1.22`` image the cluster already has) in a container of the local dockerd
that sees the controller's configuration folder at the same path, so a file the
controller writes is the file nginx reads; `nginx -t -c FILE` and `nginx -s reload` run
inside it through Docker exec. The container is labelled ``io.kajitori.ingress=<name>``
and only a container with that label is ever replaced or removed. Docker's errors are
mapped to `NginxError` here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors

log = logging.getLogger(__name__)

LABEL = "io.kajitori.ingress"


class NginxError(Exception):
    """nginx could not be started, checked or reloaded (not: nginx refused a configuration)."""


class Nginx(Protocol):
    def ensure_running(self, config: Path) -> None:
        """Start nginx on `config` unless it already runs."""

    def check(self, config: Path) -> str | None:
        """None when nginx accepts `config` (``nginx -t``); else nginx's own words about it."""

    def reload(self, config: Path) -> None:
        """Graceful reload: new workers on the new configuration, old ones finish their requests.

        Returns once the old workers are gone, so every new connection gets the new configuration.
        """


class DockerNginx:
    def __init__(
        self,
        name: str,
        *,
        config_dir: Path,
        image: str = "nginx:1.22",
        network: str = "host",
        labels: dict[str, str] | None = None,
        client: Any = None,
    ) -> None:
        self.name = name
        self.config_dir = config_dir
        self.image = image
        self.network = network
        self.labels = {LABEL: name, **(labels or {})}
        self.docker = client or docker.from_env(timeout=120)
        self.reload_wait_s = 60.0
        """How long a reload waits for the old workers to finish what they serve."""

    def _container(self) -> Any:
        try:
            return self.docker.containers.get(self.name)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise NginxError(f"looking up container {self.name}") from exc

    def ensure_running(self, config: Path) -> None:
        container = self._container()
        if container is not None and container.status == "running":
            return
        try:
            if container is not None:
                if container.labels.get(LABEL) != self.name:
                    raise NginxError(f"container {self.name} exists and is not ours (no {LABEL} label)")
                container.remove(force=True)
            directory = str(self.config_dir)
            self.docker.containers.run(
                self.image,
                ["nginx", "-g", "daemon off;", "-c", str(config)],
                name=self.name,
                detach=True,
                labels=self.labels,
                network_mode="host" if self.network == "host" else None,
                network=None if self.network == "host" else self.network,
                volumes={directory: {"bind": directory, "mode": "rw"}},
                restart_policy={"Name": "unless-stopped"},
            )
        except docker.errors.DockerException as exc:
            raise NginxError(f"starting nginx container {self.name} from {self.image}") from exc
        log.info("started nginx container %s on %s", self.name, config)

    def _exec(self, *command: str) -> tuple[int, str]:
        container = self._container()
        if container is None:
            raise NginxError(f"nginx container {self.name} is gone")
        if container.status != "running":
            raise NginxError(f"nginx container {self.name} is {container.status}")
        try:
            code, output = container.exec_run(list(command))
        except docker.errors.DockerException as exc:
            raise NginxError(f"running {' '.join(command)} in {self.name}") from exc
        text = output.decode(errors="replace")
        if code in (126, 127) or "OCI runtime exec failed" in text:
            # Docker could not run the command at all: nothing was said about the configuration.
            raise NginxError(f"running {' '.join(command)} in {self.name}: {text.strip()}")
        return int(code), text

    def check(self, config: Path) -> str | None:
        code, output = self._exec("nginx", "-t", "-q", "-c", str(config))
        if code == 0:
            return None
        lines = [line.removeprefix("nginx: ") for line in output.splitlines() if "[emerg]" in line or "[crit]" in line]
        return "; ".join(lines) or output.strip() or f"nginx -t exited {code}"

    def reload(self, config: Path) -> None:
        old = self._workers()
        code, output = self._exec("nginx", "-s", "reload", "-c", str(config))
        if code != 0:
            raise NginxError(f"nginx -s reload exited {code}: {output.strip()}")
        # Until the old workers have gone they may still accept a connection (they share the
        # listening socket): the new configuration is the only one served once they have.
        started = time.monotonic()
        while (left := old & self._workers()) and time.monotonic() < started + self.reload_wait_s:
            time.sleep(0.05)
        log.info("nginx reloaded; %d old workers gone after %.2fs (%d left)", len(old), time.monotonic() - started, len(left))

    def _workers(self) -> set[str]:
        """PIDs of the container's nginx worker processes (on the host's side, as `docker top` shows them)."""
        container = self._container()
        if container is None:
            return set()
        try:
            top = container.top()
        except docker.errors.DockerException as exc:
            raise NginxError(f"listing the processes of {self.name}") from exc
        titles = top.get("Titles") or []
        pid, cmd = titles.index("PID"), titles.index("CMD")
        return {row[pid] for row in top.get("Processes") or [] if row[cmd].startswith("nginx: worker process")}

    def remove(self) -> None:
        container = self._container()
        if container is not None and container.labels.get(LABEL) == self.name:
            container.remove(force=True)

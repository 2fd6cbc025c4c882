"""Liveness, readiness and startup probes: one thread per probe of a running container.

Each worker waits `initialDelaySeconds` from the container's start, then runs its probe every
`periodSeconds` with `timeoutSeconds`, and flips its result only after `successThreshold`
successes or `failureThreshold` failures in a row, as the kubelet's prober does. Results
start as Kubernetes' do: liveness passing, readiness failing, startup unknown — except for a container the API's status already reports ready or
started (an agent restarted and adopted it), which resumes from there. While a
startup probe has not passed, liveness and readiness wait. A change of result wakes the
pod's worker, which reads `state(container_id)`: readiness feeds the Ready condition, a
failed liveness or startup probe makes the sync loop kill and restart the container.

httpGet and tcpSocket probes go from the node to the pod IP (or the probe's `host`); exec
probes run through the runtime. Hollow nodes (fake runtime) pass network probes without
sending anything, since their pod IPs exist only in memory.
"""

from __future__ import annotations

import enum
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from agent.runtime import ContainerId, ContainerRuntime, ContainerRuntimeError, ExecTimeout
from kajitori.api.core import Container, Probe

log = logging.getLogger(__name__)

MAX_PROBE_WAIT_S = 86_400.0
"""No probe waits or times out after longer than a day: the seconds come from the pod's spec, and
past ``threading.TIMEOUT_MAX`` (or a socket's range) a wait raises instead of waiting, which
ended the probe's thread."""


def _seconds(value: float) -> float:
    return min(float(value), MAX_PROBE_WAIT_S)


class ProbeKind(enum.StrEnum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"


@dataclass(frozen=True)
class ProbeTarget:
    pod_key: str
    pod_uid: str
    pod_ip: str
    container: Container
    container_id: ContainerId
    started_at: datetime | None
    was_ready: bool = False
    """The API's status already says this very container is ready (an agent restarted and adopted it)."""
    was_started: bool = False
    """Likewise for started (its startup probe passed before)."""


@dataclass(frozen=True)
class ProbeState:
    """What the sync loop needs to know about one container's probes."""

    started: bool
    ready: bool
    failed: ProbeKind | None
    """Liveness or Startup when that probe failed its threshold: the container must be restarted."""
    message: str = ""


class Prober:
    """Runs one probe once: (success, message)."""

    def __init__(self, runtime: ContainerRuntime, *, network: bool = True) -> None:
        self._runtime = runtime
        self._network = network

    def run(self, probe: Probe, target: ProbeTarget) -> tuple[bool, str]:
        timeout = _seconds(probe.timeoutSeconds)
        if probe.exec is not None:
            try:
                code, output = self._runtime.exec_sync(target.container_id, list(probe.exec.command), timeout)
            except ExecTimeout:
                return False, f"command timed out after {timeout:g}s"
            except ContainerRuntimeError as exc:
                return False, str(exc)
            return code == 0, output.decode("utf-8", "replace")[:1024]
        if not self._network:
            return True, ""
        if probe.httpGet is not None:
            action = probe.httpGet
            port = _port(action.port, target.container)
            host = action.host or target.pod_ip
            url = f"{action.scheme.lower()}://{_bracket(host)}:{port}{action.path or '/'}"
            headers = {"User-Agent": "kajitori-probe/1.0", **{h.name: h.value for h in action.httpHeaders or []}}
            try:
                response = httpx.get(url, headers=headers, timeout=timeout, verify=False)
            except httpx.HTTPError as exc:
                return False, f"Get {url}: {exc}"
            ok = 200 <= response.status_code < 400
            return ok, "" if ok else f"HTTP probe failed with statuscode: {response.status_code}"
        if probe.tcpSocket is not None:
            port = _port(probe.tcpSocket.port, target.container)
            host = probe.tcpSocket.host or target.pod_ip
            try:
                with socket.create_connection((host, port), timeout=timeout):
                    return True, ""
            except OSError as exc:
                return False, f"dial tcp {host}:{port}: {exc}"
        return False, "probe has no handler"


def _port(port: int | str, container: Container) -> int:
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for declared in container.ports or []:
        if declared.name == port:
            return declared.containerPort
    raise ValueError(f"container {container.name} has no port named {port!r}")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Worker:
    """One probe of one container, on its own thread until stopped."""

    def __init__(
        self,
        manager: ProbeManager,
        kind: ProbeKind,
        probe: Probe,
        target: ProbeTarget,
    ) -> None:
        self.kind = kind
        self.probe = probe
        self.target = target
        self._manager = manager
        self._stop = threading.Event()
        self.result: bool | None = {ProbeKind.LIVENESS: True, ProbeKind.READINESS: False}.get(kind)
        # A container adopted after an agent restart resumes from what its status said:
        # starting it over as unready would pull every pod out of its Services.
        if (kind is ProbeKind.READINESS and target.was_ready) or (kind is ProbeKind.STARTUP and target.was_started):
            self.result = True
        self.message = ""
        self._streak = 0
        self._last: bool | None = None
        name = f"probe-{kind.value.lower()}-{target.container.name}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        started = self.target.started_at or datetime.now(tz=UTC)
        delay = _seconds(self.probe.initialDelaySeconds) - (datetime.now(tz=UTC) - started).total_seconds()
        if delay > 0 and self._stop.wait(delay):
            return
        while not self._stop.is_set():
            if self.kind != ProbeKind.STARTUP and not self._manager.startup_passed(self.target):
                self._stop.wait(min(1.0, float(self.probe.periodSeconds)))
                continue
            try:
                ok, message = self._manager.prober.run(self.probe, self.target)
            except Exception as exc:  # a probe must never kill its worker
                ok, message = False, str(exc)
            if self._stop.is_set():
                return
            self._observe(ok, message)
            if self.kind == ProbeKind.STARTUP and self.result is not None:
                return  # a startup probe is done once it passed or failed for good
            self._stop.wait(_seconds(self.probe.periodSeconds))

    def _observe(self, ok: bool, message: str) -> None:
        self._streak = self._streak + 1 if ok == self._last else 1
        self._last = ok
        threshold = self.probe.successThreshold if ok else self.probe.failureThreshold
        if self.kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP) and ok:
            threshold = 1  # Kubernetes requires successThreshold 1 for these
        if self._streak < threshold or self.result == ok:
            return
        self.result = ok
        self.message = message
        log.info(
            "%s probe of %s/%s %s%s",
            self.kind.value,
            self.target.pod_key,
            self.target.container.name,
            "succeeded" if ok else "failed",
            f": {message}" if message and not ok else "",
        )
        self._manager.changed(self.target)


class ProbeManager:
    """The probe workers of every running container of the node, keyed by container id."""

    def __init__(self, prober: Prober, wake: Callable[[str], None]) -> None:
        self.prober = prober
        self._wake = wake
        self._lock = threading.Lock()
        self._workers: dict[ContainerId, list[_Worker]] = {}
        self._by_container: dict[tuple[str, str], ContainerId] = {}

    def ensure(self, target: ProbeTarget) -> None:
        """Probe this running container (no-op if already probed); stop probing its previous instance."""
        spec = target.container
        probes = [
            (kind, probe)
            for kind, probe in (
                (ProbeKind.STARTUP, spec.startupProbe),
                (ProbeKind.LIVENESS, spec.livenessProbe),
                (ProbeKind.READINESS, spec.readinessProbe),
            )
            if probe is not None
        ]
        if not probes:
            return
        slot = (target.pod_uid, spec.name)
        with self._lock:
            if target.container_id in self._workers:
                return
            previous = self._by_container.get(slot)
            if previous is not None:
                for worker in self._workers.pop(previous, []):
                    worker.stop()
            workers = [_Worker(self, kind, probe, target) for kind, probe in probes]
            self._workers[target.container_id] = workers
            self._by_container[slot] = target.container_id
        for worker in workers:
            worker.start()

    def state(self, container: Container, container_id: ContainerId) -> ProbeState:
        with self._lock:
            workers = {worker.kind: worker for worker in self._workers.get(container_id, [])}
        startup = workers.get(ProbeKind.STARTUP)
        liveness = workers.get(ProbeKind.LIVENESS)
        readiness = workers.get(ProbeKind.READINESS)
        if container.startupProbe is not None and startup is None:
            return ProbeState(started=False, ready=False, failed=None)
        started = startup is None or startup.result is True
        failed: ProbeKind | None = None
        message = ""
        if startup is not None and startup.result is False:
            failed, message = ProbeKind.STARTUP, startup.message
        elif liveness is not None and liveness.result is False:
            failed, message = ProbeKind.LIVENESS, liveness.message
        if container.readinessProbe is not None:
            ready = started and readiness is not None and readiness.result is True
        else:
            ready = started
        return ProbeState(started=started, ready=ready, failed=failed, message=message)

    def startup_passed(self, target: ProbeTarget) -> bool:
        with self._lock:
            workers = self._workers.get(target.container_id, [])
        return all(w.result is True for w in workers if w.kind == ProbeKind.STARTUP)

    def changed(self, target: ProbeTarget) -> None:
        self._wake(target.pod_key)

    def forget_container(self, container_id: ContainerId) -> None:
        with self._lock:
            workers = self._workers.pop(container_id, [])
            for slot, current in list(self._by_container.items()):
                if current == container_id:
                    del self._by_container[slot]
        for worker in workers:
            worker.stop()

    def forget_pod(self, pod_uid: str) -> None:
        with self._lock:
            ids = [cid for (uid, _), cid in self._by_container.items() if uid == pod_uid]
        for container_id in ids:
            self.forget_container(container_id)

    def stop(self) -> None:
        with self._lock:
            ids = list(self._workers)
        for container_id in ids:
            self.forget_container(container_id)


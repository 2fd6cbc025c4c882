"""The node's presence in the API: registration, the Lease heartbeat, and the Node's status.

`register()` creates the Node (or takes over an existing one of that name), writes its
status (addresses, capacity/allocatable, nodeInfo, conditions, kubelet endpoint) and reads
back `spec.podCIDR`, which the master assigns at creation. Then two loops run:

- every `lease_renew_s` (2 s) the Lease `kube-node-lease/<node>` is renewed (created when
  missing): holderIdentity, renewTime, leaseDurationSeconds. This is the heartbeat the node
  lifecycle controller watches.
- every `status_update_s` (10 s) the Node's conditions are written again with a fresh
  lastHeartbeatTime (Ready True, pressure conditions False); lastTransitionTime moves only
  when a condition's status differs from what the API holds (e.g. after the controller
  marked the node Unknown while this agent was away). A deleted Node is registered again.

While the master cannot be reached, both loops keep trying with a growing delay (up to
`retry_max_s`), and pods keep running: nothing here touches the runtime beyond `info()`.
"""

from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.runtime import ContainerRuntime
from agent.settings import AgentSettings
from kajitori.api.coordination import Lease
from kajitori.api.core import Node
from kajitori.api.quantity import format_bytes
from kajitori.api.well_known import SERVING_CERTIFICATE
from kajitori.api.well_known import VOLUMES_ROOT as VOLUMES_ROOT_ANNOTATION
from kajitori.client import AlreadyExistsError, ApiClient, ApiError, NotFoundError
from kajitori.clock import Clock
from kajitori.version import GIT_VERSION

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
AGENT_VERSION = GIT_VERSION
"""Reported as nodeInfo.kubeletVersion (Kubernetes-shaped, so tools that parse it keep working)."""


def micro_time(when: datetime) -> str:
    """Kubernetes' MicroTime: RFC 3339 with microseconds, as a Lease's renewTime is written."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def detect_node_ip() -> str:
    """The address this host's name resolves to, if not loopback; else 127.0.0.1."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
    return address


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def renew_node_lease(client: ApiClient, node_name: str, *, duration_s: int, now: datetime) -> None:
    """Renew (or create) the Lease `kube-node-lease/<node>`: the heartbeat that says the node is alive.

    A function of a client alone, so that a starting agent can call it before it builds its
    runtime, informers and server (see `kajitori agent` in cli/daemons_cmd.py).
    """
    spec = {"holderIdentity": node_name, "leaseDurationSeconds": duration_s, "renewTime": micro_time(now)}
    try:
        client.patch(Lease, node_name, {"spec": spec}, LEASE_NAMESPACE)
    except NotFoundError:
        lease = Lease.model_validate(
            {"metadata": {"name": node_name, "namespace": LEASE_NAMESPACE}, "spec": {**spec, "acquireTime": spec["renewTime"]}}
        )
        try:
            client.create(lease, LEASE_NAMESPACE)
        except AlreadyExistsError:
            client.patch(Lease, node_name, {"spec": spec}, LEASE_NAMESPACE)


class NodeStatusReporter:
    def __init__(
        self, client: ApiClient, runtime: ContainerRuntime, settings: AgentSettings, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.settings = settings
        self.clock = clock or Clock()
        self.pod_cidr: str | None = None
        self.serving_cert: str | None = None  # PEM published in the Node annotations at registration
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conditions: list[dict[str, Any]] | None = None
        self.lease_renewals = 0
        self.status_updates = 0

    # ------------------------------------------------------------ registration

    def node_status(self, previous: Node | None) -> dict[str, Any]:
        info = self.runtime.info()
        cpus = self.settings.capacity_cpu if self.settings.capacity_cpu is not None else info.cpus
        memory = self.settings.capacity_memory_bytes
        if memory is None:
            memory = info.memory_bytes
        capacity = {"cpu": str(cpus), "memory": format_bytes(memory // 1024 * 1024), "pods": str(self.settings.max_pods)}
        fake = self.settings.runtime == "fake"
        return {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": self.conditions(previous),
            "addresses": [
                {"type": "InternalIP", "address": self.settings.node_ip},
                {"type": "Hostname", "address": self.settings.node_name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.settings.port}},
            "nodeInfo": {
                "machineID": "" if fake else _read("/etc/machine-id"),
                "systemUUID": "",
                "bootID": "" if fake else _read("/proc/sys/kernel/random/boot_id"),
                "kernelVersion": info.kernel_version,
                "osImage": info.os_image,
                "containerRuntimeVersion": info.runtime_version,
                "kubeletVersion": AGENT_VERSION,
                "kubeProxyVersion": AGENT_VERSION,
                "operatingSystem": info.operating_system,
                "architecture": info.architecture,
            },
        }

    def conditions(self, previous: Node | None) -> list[dict[str, Any]]:
        now = self.clock.rfc3339()
        stored = {c.type: c for c in (previous.status.conditions or [])} if previous is not None else {}
        wanted = [
            ("Ready", "True", "KubeletReady", "kajitori agent is posting ready status"),
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kajitori agent has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kajitori agent has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kajitori agent has sufficient PID available"),
        ]
        out = []
        for type_, status, reason, message in wanted:
            before = stored.get(type_)
            same = before is not None and before.status == status and before.lastTransitionTime
            out.append(
                {
                    "type": type_,
                    "status": status,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": before.lastTransitionTime if same and before else now,
                    "reason": reason,
                    "message": message,
                }
            )
        return out

    def register(self, *, serving_cert: str | None = None) -> Node:
        """Create or take over the Node (publishing the serving certificate of port 10250 in
        its annotations) and write its status; retried until the master answers."""
        self.serving_cert = serving_cert
        delay = 0.5
        while not self._stop.is_set():
            try:
                return self._register_once()
            except ApiError as exc:
                log.warning("registering node %s: %s; retrying in %.1fs", self.settings.node_name, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.settings.heartbeat.retry_max_s)
        raise RuntimeError("agent stopped before the node was registered")

    def _register_once(self) -> Node:
        serving_cert = self.serving_cert
        name = self.settings.node_name
        arch = self.runtime.info().architecture or "amd64"
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch),
        }
        try:
            existing: Node | None = self.client.get(Node, name)
        except NotFoundError:
            existing = None
        if existing is None:
            try:
                self.client.create(Node.model_validate({"metadata": {"name": name, "labels": labels}}))
                log.info("registered node %s", name)
            except AlreadyExistsError:
                pass
            existing = self.client.get(Node, name)
        root = str(self.settings.volumes_root)
        if (existing.metadata.annotations or {}).get(VOLUMES_ROOT_ANNOTATION) != root:
            self.client.patch(Node, name, {"metadata": {"annotations": {VOLUMES_ROOT_ANNOTATION: root}}})
        if serving_cert is not None and (existing.metadata.annotations or {}).get(SERVING_CERTIFICATE) != serving_cert:
            self.client.patch(Node, name, {"metadata": {"annotations": {SERVING_CERTIFICATE: serving_cert}}})
            log.info("node %s: serving certificate of port %d published", name, self.settings.port)
        node = self.client.patch(Node, name, {"status": self.node_status(existing)}, subresource="status")
        self.pod_cidr = node.spec.podCIDR
        return node

    # ------------------------------------------------------------ loops

    def start(self) -> None:
        for target, name in ((self._lease_loop, "node-lease"), (self._status_loop, "node-status")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def renew_lease(self) -> None:
        renew_node_lease(
            self.client, self.settings.node_name, duration_s=self.settings.heartbeat.lease_duration_s, now=self.clock.now()
        )
        self.lease_renewals += 1

    def update_status(self) -> None:
        name = self.settings.node_name
        try:
            current = self.client.get(Node, name)
        except NotFoundError:
            log.warning("node %s was deleted; registering it again", name)
            self._register_once()
            return
        patch = {"status": {"conditions": self.conditions(current)}}
        node = self.client.patch(Node, name, patch, subresource="status")
        self.pod_cidr = node.spec.podCIDR or self.pod_cidr
        self.status_updates += 1

    def _lease_loop(self) -> None:
        # The first renewal is at once: the Lease is what says the node is alive.
        self._periodic(self.renew_lease, self.settings.heartbeat.lease_renew_s, "renewing lease", first_delay_s=0.0)

    def _status_loop(self) -> None:
        self._periodic(self.update_status, self.settings.heartbeat.status_update_s, "updating node status")

    def _periodic(self, action: Any, period_s: float, doing: str, *, first_delay_s: float | None = None) -> None:
        failures = 0
        delay = period_s if first_delay_s is None else first_delay_s
        while not self._stop.wait(delay):
            try:
                action()
                failures, delay = 0, period_s
            except ApiError as exc:
                # The master is away: retry sooner than the period at first, then back off.
                failures += 1
                delay = min(0.5 * 2 ** (failures - 1), self.settings.heartbeat.retry_max_s)
                log.warning("%s of node %s: %s; retrying in %.1fs", doing, self.settings.node_name, exc, delay)
            except Exception:
                failures += 1
                delay = self.settings.heartbeat.retry_max_s
                log.exception("%s of node %s failed", doing, self.settings.node_name)

"""What this node does for a Service, a pod or itself, read live from the kernel and the runtime.

The agent's read-only `GET /explain/...` answers (agent.server), reached through the API server
as the node proxy subresource (`/api/v1/nodes/{node}/proxy/explain/...`) and shown by
`kajitori explain`. Each answer names the Kajitori files whose work it shows, so it doubles
as a map of the code:

    service/{ns}/{name}   the proxy's KT- nat chains for the Service with live packet and byte
                          counters (net.iptables_counters, python-iptables on its own thread)
    pod/{ns}/{name}       the pause container, its network namespace, pod IP, the host veth and
                          bridge (net.link_view), each container with image, state, restarts, mounts
    node                  the routes into the pod network on this node, the agent's and the
                          installed proxy's versions

Nothing here writes anything. The kernel and runtime sit behind small seams (`ChainSource`,
`Inspector`, the route and link functions), so unit tests answer from recorded state.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agent.runtime import (
    ContainerId,
    ContainerInfo,
    ContainerRuntime,
    ContainerRuntimeError,
    PodUID,
    SandboxInfo,
)
from kajitori.version import __version__
from net.iptables_counters import SOURCE as RULES_SOURCE
from net.iptables_counters import ChainView

if TYPE_CHECKING:  # pyroute2 is loaded only by the agent's wiring (agent.agent), not by importing this
    from net.link_view import PodLink, RouteView

log = logging.getLogger(__name__)

PROXY_WRITER = "net/iptables_proxy.py"
ROUTES_SOURCE = "net/routes.py"
BRIDGE_SOURCE = "net/pod_network.py"
RUNTIME_SOURCE = "agent/docker_runtime.py"
POD_SYNC_SOURCE = "agent/pod_sync.py"
LINK_READER = "net/link_view.py"


class ExplainError(Exception):
    """What was asked cannot be explained; `code` is the HTTP status to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ChainSource(Protocol):
    def service_chains(self, service: dict[str, Any]) -> list[ChainView]: ...


class Inspector(Protocol):
    def inspect_raw(self, container_id: ContainerId) -> dict[str, Any]: ...


ServiceLookup = Callable[[str, str], dict[str, Any] | None]
"""(namespace, name) -> the v1 Service from the API, None when it does not exist."""


@dataclass
class Explainer:
    node_name: str
    runtime: ContainerRuntime
    pod_uid: Callable[[str, str], str | None]
    """(namespace, name) -> the uid of a pod bound to this node, from the agent's informer."""
    service: ServiceLookup
    chains: ChainSource
    inspector: Inspector | None = None
    """Docker's inspect, for names, pids, netns paths and mounts; None on the fake runtime."""
    routes: Callable[[], list[RouteView]] = field(default=lambda: [])
    link: Callable[[str], PodLink | None] = field(default=lambda path: None)
    pod_cidr: Callable[[], str | None] = field(default=lambda: None)

    def explain(self, parts: list[str]) -> dict[str, Any]:
        """The answer for the path below /explain/ (already split); ExplainError for a bad one."""
        if parts[:1] == ["service"] and len(parts) == 3:
            return self.service_view(parts[1], parts[2])
        if parts[:1] == ["pod"] and len(parts) == 3:
            return self.pod_view(parts[1], parts[2])
        if parts == ["node"]:
            return self.node_view()
        raise ExplainError(404, "explain serves service/NAMESPACE/NAME, pod/NAMESPACE/NAME and node")

    # ------------------------------------------------------------ service

    def service_view(self, namespace: str, name: str) -> dict[str, Any]:
        service = self.service(namespace, name)
        if service is None:
            raise ExplainError(404, f'services "{name}" not found')
        try:
            chains = self.chains.service_chains(service)
        except Exception as exc:  # libiptc's errors, a missing table: say so, never a traceback
            log.warning("reading the nat chains of %s/%s failed: %s", namespace, name, exc)
            raise ExplainError(500, f"reading the nat table with python-iptables failed: {exc}") from exc
        return {
            "node": self.node_name,
            "source": RULES_SOURCE,
            "writer": PROXY_WRITER,
            "chains": [c.to_dict() for c in chains],
        }

    # ------------------------------------------------------------ pod

    def pod_view(self, namespace: str, name: str) -> dict[str, Any]:
        uid = self.pod_uid(namespace, name)
        if uid is None:
            raise ExplainError(404, f'pod "{name}" is not bound to node {self.node_name}')
        try:
            sandboxes = self.runtime.list_sandboxes(PodUID(uid))
            containers = self.runtime.list_containers(PodUID(uid))
        except ContainerRuntimeError as exc:
            raise ExplainError(500, str(exc)) from exc
        sandbox = _newest(sandboxes)
        current = {s.id for s in sandboxes if sandbox is not None and s.id == sandbox.id}
        return {
            "node": self.node_name,
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "source": POD_SYNC_SOURCE,
            "sandbox": self._sandbox(sandbox) if sandbox is not None else None,
            "network": self._network(sandbox) if sandbox is not None else None,
            "containers": [self._container(c) for c in _latest_per_name(containers, current)],
        }

    def _inspect(self, container_id: ContainerId) -> dict[str, Any]:
        if self.inspector is None:
            return {}
        try:
            return self.inspector.inspect_raw(container_id)
        except ContainerRuntimeError as exc:
            log.info("inspecting %s for explain: %s", container_id, exc)
            return {}

    def _sandbox(self, sandbox: SandboxInfo) -> dict[str, Any]:
        data = self._inspect(sandbox.id)
        settings = data.get("NetworkSettings") or {}
        return {
            "id": sandbox.id,
            "name": str(data.get("Name") or "").lstrip("/"),
            "image": str((data.get("Config") or {}).get("Image") or ""),
            "state": str(sandbox.state),
            "pid": int((data.get("State") or {}).get("Pid") or 0),
            "netns": str(settings.get("SandboxKey") or ""),
            "network": sandbox.network,
            "source": RUNTIME_SOURCE,
        }

    def _network(self, sandbox: SandboxInfo) -> dict[str, Any]:
        netns = str((self._inspect(sandbox.id).get("NetworkSettings") or {}).get("SandboxKey") or "")
        link: PodLink | None = None
        error = ""
        if netns:
            try:
                link = self.link(netns)
            except Exception as exc:  # the namespace went away with the sandbox, or netlink refused
                error = f"{type(exc).__name__}: {exc}"
        view: dict[str, Any] = {
            "podIP": sandbox.ip,
            "interface": link.interface if link else "eth0",
            "hostVeth": link.host_veth if link else "",
            "bridge": link.bridge if link else "",
            "source": BRIDGE_SOURCE,
            "reader": LINK_READER,
        }
        if error:
            view["error"] = error
        return view

    def _container(self, info: ContainerInfo) -> dict[str, Any]:
        data = self._inspect(info.id)
        mounts = [
            {"source": str(m.get("Source") or ""), "destination": str(m.get("Destination") or ""), "readOnly": not m.get("RW", True)}
            for m in data.get("Mounts") or []
        ]
        view: dict[str, Any] = {
            "name": info.name,
            "id": info.id,
            "image": info.image,
            "imageID": info.image_id,
            "state": str(info.state),
            "restarts": info.restart_count,
            "startedAt": info.started_at.isoformat() if info.started_at else None,
            "mounts": mounts,
            "source": RUNTIME_SOURCE,
        }
        if info.exit_code is not None:
            view["exitCode"] = info.exit_code
            view["reason"] = str(info.reason) if info.reason else ""
        return view

    # ------------------------------------------------------------ node

    def node_view(self) -> dict[str, Any]:
        error = ""
        try:
            routes = [asdict(r) for r in self.routes()]
        except Exception as exc:  # netlink refused: say so
            routes, error = [], f"{type(exc).__name__}: {exc}"
        view: dict[str, Any] = {
            "node": self.node_name,
            "podCIDR": self.pod_cidr() or "",
            "routes": routes,
            "source": ROUTES_SOURCE,
            "bridgeSource": BRIDGE_SOURCE,
            "versions": {"agent": __version__, "proxy": installed_version()},
        }
        if error:
            view["error"] = error
        return view


def installed_version() -> str:
    """The kajitori package installed on this node, which `kajitori proxy` runs from (it may be newer
    than the running agent until the agent restarts)."""
    try:
        return importlib.metadata.version("kajitori")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def _newest(sandboxes: list[SandboxInfo]) -> SandboxInfo | None:
    running = [s for s in sandboxes if str(s.state) == "running"] or sandboxes
    return max(running, key=lambda s: s.created_at.timestamp() if s.created_at else 0.0, default=None)


def _latest_per_name(containers: list[ContainerInfo], sandbox_ids: set[ContainerId]) -> list[ContainerInfo]:
    """One container per name: the newest attempt, preferring those in the current sandbox."""
    best: dict[str, ContainerInfo] = {}
    for c in containers:
        key = (c.sandbox_id in sandbox_ids, c.restart_count, c.created_at.timestamp() if c.created_at else 0.0)
        known = best.get(c.name)
        if known is None or key > (known.sandbox_id in sandbox_ids, known.restart_count, known.created_at.timestamp() if known.created_at else 0.0):
            best[c.name] = c
    return sorted(best.values(), key=lambda c: c.name)

"""The node agent's container runtime seam: what the pod sync loop may ask of a runtime.

This module owns the contract between the kubelet-like sync loop (which decides *what*
should run) and a container runtime (which makes it run), in the spirit of Kubernetes'
CRI: a `ContainerRuntime` Protocol, the plain frozen dataclasses that cross it, the
labels every runtime object carries, and the exception tree.

A pod is one *sandbox* (the pause container that owns the network, IPC and optionally
PID namespaces) plus its *containers*, each joining the sandbox's namespaces. Every
object carries `io.kajitori.*` labels naming its pod and container, so the runtime's own
listing is the source of truth: an agent that restarts lists what runs and adopts it.

Exceptions (third-party errors are mapped at the runtime's boundary, `raise ... from exc`):

    ContainerRuntimeError            anything the runtime could not do
    ├── RuntimeUnavailable           the runtime daemon cannot be reached (temporary)
    ├── ImageError
    │   ├── ImagePullError           pulling failed; the message is the registry's/daemon's (ErrImagePull)
    │   └── ImageNotPresent          policy Never and the image is absent (ErrImageNeverPull)
    ├── ContainerNotFound            no such container or sandbox
    ├── ContainerCreateError         the runtime refused the config (CreateContainerError)
    ├── ContainerStartError          the process could not be started (RunContainerError)
    └── ExecTimeout                  an exec did not finish within its timeout
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType, Protocol, runtime_checkable

from kajitori.version import PAUSE_IMAGE

ContainerId = NewType("ContainerId", str)
"""A runtime's id of a container; a sandbox is a container too, so it shares the type."""

PodUID = NewType("PodUID", str)

SANDBOX_CONTAINER_NAME = "POD"
"""The value of `LABEL_CONTAINER_NAME` on a sandbox (the kubelet's name for it too)."""

LABEL_MANAGED = "io.kajitori.managed"
LABEL_POD_NAMESPACE = "io.kajitori.pod.namespace"
LABEL_POD_NAME = "io.kajitori.pod.name"
LABEL_POD_UID = "io.kajitori.pod.uid"
LABEL_CONTAINER_NAME = "io.kajitori.container.name"
LABEL_RESTART_COUNT = "io.kajitori.container.restart-count"
LABEL_SANDBOX_ID = "io.kajitori.sandbox.id"
"""On containers only: the sandbox whose namespaces they joined."""
LABEL_SANDBOX_NETWORK = "io.kajitori.sandbox.network"
"""On sandboxes only: the network the pod was put on."""


class PullPolicy(enum.StrEnum):
    """Kubernetes' `imagePullPolicy`."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class ContainerState(enum.StrEnum):
    """Where a container or sandbox is in its life, as a runtime sees it."""

    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


class TerminationReason(enum.StrEnum):
    """Why an exited container stopped, in the words of `containerStatuses[].state.terminated.reason`."""

    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"


class RuntimeEventKind(enum.StrEnum):
    """The container events the agent wakes pod workers on."""

    START = "start"
    DIE = "die"
    OOM = "oom"
    DESTROY = "destroy"


# ---------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class PodRef:
    """The pod an object belongs to; stored in labels, so read back unchanged on adoption."""

    namespace: str
    name: str
    uid: PodUID


@dataclass(frozen=True)
class DNSConfig:
    """What the pod's /etc/resolv.conf says (Kubernetes' `dnsConfig` after `dnsPolicy` is applied)."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """resolv.conf options, e.g. `ndots:5`."""


@dataclass(frozen=True)
class PortMapping:
    """A `hostPort`: published on the sandbox, since the sandbox owns the pod's network."""

    container_port: int
    host_port: int
    protocol: str = "TCP"
    """TCP, UDP or SCTP, as in a Pod spec."""
    host_ip: str = ""
    """Address on the node to bind; empty means every address."""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything needed to start a pod's pause container."""

    pod: PodRef
    network: str
    """Name of the runtime network the pod joins (the node's pod network)."""
    hostname: str = ""
    """Defaults to the pod name."""
    dns: DNSConfig | None = None
    """None keeps the runtime's default resolv.conf."""
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    """hostname → IP lines added to /etc/hosts (Kubernetes' `hostAliases`)."""
    port_mappings: tuple[PortMapping, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels; the `io.kajitori.*` ones are added by the runtime."""
    image: str = PAUSE_IMAGE


@dataclass(frozen=True)
class Mount:
    """A bind mount of a host path: emptyDir/configMap/secret are directories the sync loop prepared."""

    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    """The runtime's view of `resources`: limits become quota and memory limit, requests become shares."""

    cpu_limit_millicores: int | None = None
    cpu_request_millicores: int | None = None
    memory_limit_bytes: int | None = None


@dataclass(frozen=True)
class ContainerConfig:
    """One container of a pod, already resolved by the sync loop (env values looked up, volumes on disk)."""

    name: str
    image: str
    restart_count: int = 0
    """How many times this container was restarted before; stored in a label, read back on adoption."""
    command: tuple[str, ...] = ()
    """Kubernetes' `command`: if non-empty it replaces the image's ENTRYPOINT (and drops its CMD)."""
    args: tuple[str, ...] = ()
    """Kubernetes' `args`: if non-empty it replaces the image's CMD."""
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    """Empty keeps the image's."""
    mounts: tuple[Mount, ...] = ()
    resources: Resources = field(default_factory=Resources)
    share_pid: bool = False
    """Join the sandbox's PID namespace (`shareProcessNamespace: true`)."""
    user: str = ""
    """`uid[:gid]` to run as; empty keeps the image's."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels, e.g. a hash of the container spec; `io.kajitori.*` ones are added by the runtime."""


# ---------------------------------------------------------------- what comes out


@dataclass(frozen=True)
class ImageInfo:
    ref: str
    """The reference as asked for, with `:latest` added when it had no tag."""
    id: str
    """Content id, `sha256:...`."""
    repo_digests: tuple[str, ...] = ()
    size_bytes: int = 0


@dataclass(frozen=True)
class SandboxInfo:
    id: ContainerId
    pod: PodRef
    state: ContainerState
    ip: str
    """The pod IP on `network`; empty when the sandbox is not running."""
    network: str
    hostname: str
    created_at: datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerInfo:
    id: ContainerId
    pod: PodRef
    name: str
    """The container's name in the pod spec (from its label)."""
    sandbox_id: ContainerId
    state: ContainerState
    restart_count: int
    image: str
    """The image reference it was created from."""
    image_id: str
    """The image's content id, `sha256:...`."""
    exit_code: int | None = None
    """Set once exited."""
    reason: TerminationReason | None = None
    """Set once exited."""
    message: str = ""
    """The runtime's error text, if it gave one (e.g. why the process could not start)."""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectState:
    """One line of a cheap listing: enough to tell whether an object changed since it was inspected."""

    pod_uid: PodUID
    is_sandbox: bool
    state: ContainerState


@dataclass(frozen=True)
class RuntimeEvent:
    kind: RuntimeEventKind
    container_id: ContainerId
    pod_uid: PodUID | None
    container_name: str
    """`POD` for sandboxes."""
    time: datetime
    exit_code: int | None = None
    """Set on `die`."""


@dataclass(frozen=True)
class RuntimeInfo:
    """Node facts for the Node object's capacity and nodeInfo."""

    cpus: int
    memory_bytes: int
    runtime_version: str
    """e.g. `docker://20.10.24`, as nodeInfo.containerRuntimeVersion says it."""
    kernel_version: str
    os_image: str
    operating_system: str
    architecture: str


@runtime_checkable
class EventStream(Protocol):
    """An endless iterator of runtime events; `close()` (from any thread) ends the iteration."""

    def __iter__(self) -> Iterator[RuntimeEvent]: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- the seam


@runtime_checkable
class ContainerRuntime(Protocol):
    """What the pod sync loop may ask of a container runtime. Safe to call from several threads."""

    def ensure_image(self, image: str, pull_policy: PullPolicy) -> ImageInfo:
        """Make `image` present as `pull_policy` says; ImagePullError/ImageNotPresent otherwise."""
        ...

    def run_sandbox(self, config: SandboxConfig) -> SandboxInfo:
        """Create and start the pod's pause container on `config.network`; returns its id and IP."""
        ...

    def stop_sandbox(self, sandbox_id: ContainerId, timeout_s: float) -> None:
        """Stop every container of the sandbox (each with `timeout_s` of grace), then the sandbox."""
        ...

    def remove_sandbox(self, sandbox_id: ContainerId) -> None:
        """Remove every container of the sandbox and the sandbox, killing what still runs; no-op if gone."""
        ...

    def create_container(self, sandbox_id: ContainerId, config: ContainerConfig) -> ContainerId:
        """Create (not start) a container joining the sandbox's network and IPC (and PID if asked)."""
        ...

    def start_container(self, container_id: ContainerId) -> None:
        """Start a created container; ContainerStartError if its process cannot start."""
        ...

    def stop_container(self, container_id: ContainerId, timeout_s: float) -> None:
        """SIGTERM (the image's stop signal), SIGKILL after `timeout_s`; no-op if already exited."""
        ...

    def remove_container(self, container_id: ContainerId) -> None:
        """Remove the container, killing it if it still runs; no-op if it is already gone."""
        ...

    def inspect_sandbox(self, sandbox_id: ContainerId) -> SandboxInfo:
        """The sandbox's current state; ContainerNotFound if gone."""
        ...

    def inspect_container(self, container_id: ContainerId) -> ContainerInfo:
        """The container's current state; ContainerNotFound if gone."""
        ...

    def list_sandboxes(self, pod_uid: PodUID | None = None) -> list[SandboxInfo]:
        """Every managed sandbox (of one pod if `pod_uid`), running or not."""
        ...

    def list_containers(self, pod_uid: PodUID | None = None) -> list[ContainerInfo]:
        """Every managed container except sandboxes (of one pod if `pod_uid`), running or not."""
        ...

    def list_states(self, pod_uid: PodUID | None = None) -> dict[ContainerId, ObjectState]:
        """Every managed sandbox and container (of one pod if `pod_uid`) with its state, from one cheap listing."""
        ...

    def exec_sync(self, container_id: ContainerId, cmd: list[str], timeout_s: float) -> tuple[int, bytes]:
        """Run `cmd` in the container; its exit code and stdout+stderr. ExecTimeout past `timeout_s`."""
        ...

    def logs(
        self,
        container_id: ContainerId,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        since: datetime | None = None,
    ) -> Iterator[bytes]:
        """The container's stdout and stderr as chunks of bytes; with `follow`, until it exits."""
        ...

    def events(self) -> EventStream:
        """Container events of managed containers from now on; reconnects by itself when broken."""
        ...

    def info(self) -> RuntimeInfo:
        """Node facts: CPUs, memory, runtime, kernel and OS versions."""
        ...


# ---------------------------------------------------------------- errors


class ContainerRuntimeError(Exception):
    """Anything the runtime could not do; the message says what was being done."""


class RuntimeUnavailable(ContainerRuntimeError):
    """The runtime daemon cannot be reached; retry later."""


class ImageError(ContainerRuntimeError):
    """The image cannot be made present."""


class ImagePullError(ImageError):
    """Pulling failed; the message is the daemon's own (shown as ErrImagePull / ImagePullBackOff)."""


class ImageNotPresent(ImageError):
    """Pull policy Never and the image is not on the node (ErrImageNeverPull)."""


class ContainerNotFound(ContainerRuntimeError):
    """No such container or sandbox."""


class ContainerCreateError(ContainerRuntimeError):
    """The runtime refused the container's configuration (CreateContainerError)."""


class ContainerStartError(ContainerRuntimeError):
    """The container was created but its process could not start (RunContainerError)."""


class ExecTimeout(ContainerRuntimeError):
    """An exec did not finish within its timeout; its process may still be running."""


# ---------------------------------------------------------------- label codec, shared by runtimes


def object_labels(pod: PodRef, container_name: str, restart_count: int) -> dict[str, str]:
    """The labels every runtime object of a pod carries."""
    return {
        LABEL_MANAGED: "true",
        LABEL_POD_NAMESPACE: pod.namespace,
        LABEL_POD_NAME: pod.name,
        LABEL_POD_UID: pod.uid,
        LABEL_CONTAINER_NAME: container_name,
        LABEL_RESTART_COUNT: str(restart_count),
    }


def pod_from_labels(labels: Mapping[str, str]) -> PodRef:
    return PodRef(
        namespace=labels.get(LABEL_POD_NAMESPACE, ""),
        name=labels.get(LABEL_POD_NAME, ""),
        uid=PodUID(labels.get(LABEL_POD_UID, "")),
    )


def restart_count_from_labels(labels: Mapping[str, str]) -> int:
    try:
        return int(labels.get(LABEL_RESTART_COUNT, "0"))
    except ValueError:
        # A label edited by hand must not stop the agent from adopting the container.
        return 0


def termination_reason(exit_code: int, oom_killed: bool) -> TerminationReason:
    if oom_killed:
        return TerminationReason.OOM_KILLED
    return TerminationReason.COMPLETED if exit_code == 0 else TerminationReason.ERROR

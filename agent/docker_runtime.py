"""`ContainerRuntime` on a real dockerd through the Docker SDK's low-level `APIClient`.

A pod is a pause container (the sandbox) on the pod network, publishing the pod's
hostPorts and holding its resolv.conf and /etc/hosts; every container of the pod joins it
with `network_mode` and `ipc_mode` `container:<pause id>` (and `pid_mode` when the pod shares
its process namespace), so they all see one another on 127.0.0.1. Docker names follow the
kubelet's `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` so `docker ps` reads well;
the labels, not the names, are what the agent trusts.

Nothing here decides anything: restart policy, backoff and probes belong to the sync loop.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import re
import select
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors

from agent.docker_errors import daemon_message, docker_errors
from agent.docker_events import DockerEventStream
from agent.docker_hijack import Hijacked, hijacked
from agent.docker_streams import Demultiplexer, DockerStreams
from agent.runtime import (
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_POD_UID,
    LABEL_SANDBOX_ID,
    LABEL_SANDBOX_NETWORK,
    SANDBOX_CONTAINER_NAME,
    ContainerConfig,
    ContainerCreateError,
    ContainerId,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntimeError,
    ContainerStartError,
    ContainerState,
    DNSConfig,
    EventStream,
    ExecTimeout,
    ImageInfo,
    ImageNotPresent,
    ImagePullError,
    ObjectState,
    PodRef,
    PodUID,
    PullPolicy,
    Resources,
    RuntimeInfo,
    SandboxConfig,
    SandboxInfo,
    object_labels,
    pod_from_labels,
    restart_count_from_labels,
    termination_reason,
)
from agent.start_gate import BEGIN, FINISH, OPEN_GATE, OpenGate, StartGate

log = logging.getLogger(__name__)

DEFAULT_DOCKER_URL = "unix:///var/run/docker.sock"
DOCKER_API_VERSION = "1.41"
MAX_TIMEOUT_S = 86_400
"""The longest stop grace or exec timeout given to Docker: a pod's terminationGracePeriodSeconds is a
valid int64, and past a socket's range the SDK's timeout (grace + its own) raised OverflowError, so the
pod could never be stopped. A container that ignores SIGTERM for a day is killed then."""
"""Debian bookworm's docker.io 20.10; newer daemons still speak it, and pinning saves a round trip."""

CPU_PERIOD_US = 100_000
"""CFS period the kubelet uses; a limit of N millicores is a quota of N * 100 µs per period."""
MIN_CPU_QUOTA_US = 1_000
"""The kernel refuses quotas below 1 ms."""
MIN_CPU_SHARES = 2

_STATES = {
    "created": ContainerState.CREATED,
    "running": ContainerState.RUNNING,
    "paused": ContainerState.RUNNING,
    "restarting": ContainerState.RUNNING,
    "removing": ContainerState.EXITED,
    "exited": ContainerState.EXITED,
    "dead": ContainerState.EXITED,
}


class DockerRuntime:
    """The `ContainerRuntime` of real nodes. Construction does not connect; the first call does."""

    def __init__(
        self,
        base_url: str = DEFAULT_DOCKER_URL,
        *,
        timeout_s: float = 60.0,
        max_connections: int = 32,
        max_concurrent_starts: int | None = None,
        api: docker.APIClient | None = None,
    ) -> None:
        # One client for every thread (requests' pool is thread-safe); the pool is sized for a
        # pod worker per pod plus followed logs and the event stream, which each hold a connection.
        self._api = api or docker.APIClient(
            base_url=base_url, version=DOCKER_API_VERSION, timeout=timeout_s, max_pool_size=max_connections
        )
        self._gate: StartGate | OpenGate = StartGate(max_concurrent_starts) if max_concurrent_starts else OPEN_GATE
        # The pod of each sandbox this runtime ran or inspected, so creating a container in it
        # needs no inspect of the sandbox (plain dict operations are atomic under the GIL).
        self._sandbox_pods: dict[ContainerId, PodRef] = {}

    # ------------------------------------------------------------ images

    def ensure_image(self, image: str, pull_policy: PullPolicy) -> ImageInfo:
        ref = normalize_image_ref(image)
        if pull_policy != PullPolicy.ALWAYS:
            present = self._inspect_image(ref)
            if present is not None:
                return present
            if pull_policy == PullPolicy.NEVER:
                raise ImageNotPresent(f'container image "{ref}" is not present with pull policy of Never')
        self._pull(ref)
        pulled = self._inspect_image(ref)
        if pulled is None:
            raise ImagePullError(f"pulled {ref} but dockerd does not know it afterwards")
        return pulled

    def _inspect_image(self, ref: str) -> ImageInfo | None:
        try:
            with docker_errors(f"inspecting image {ref}"):
                data = self._api.inspect_image(ref)
        except ContainerNotFound:
            return None
        return ImageInfo(
            ref=ref,
            id=data["Id"],
            repo_digests=tuple(data.get("RepoDigests") or ()),
            size_bytes=int(data.get("Size") or 0),
        )

    def _pull(self, ref: str) -> None:
        repository, tag = _split_ref(ref)
        try:
            with docker_errors(f"pulling {ref}", not_found=ImagePullError):
                # Streamed, because an error after the first byte arrives as a message, not a status.
                for message in self._api.pull(repository, tag=tag, stream=True, decode=True):
                    if "error" in message:
                        detail = (message.get("errorDetail") or {}).get("message") or message["error"]
                        raise ImagePullError(str(detail))
        except ImagePullError:
            raise
        except ContainerRuntimeError as exc:
            cause = exc.__cause__
            message = daemon_message(cause) if cause is not None else str(exc)
            raise ImagePullError(message) from exc

    # ------------------------------------------------------------ sandboxes

    def run_sandbox(self, config: SandboxConfig) -> SandboxInfo:
        pod = config.pod
        labels = {
            **config.labels,
            **object_labels(pod, SANDBOX_CONTAINER_NAME, 0),
            LABEL_SANDBOX_NETWORK: config.network,
        }
        port_bindings: dict[str, list[Any]] = {}
        for mapping in config.port_mappings:
            key = f"{mapping.container_port}/{mapping.protocol.lower()}"
            binding = (mapping.host_ip, mapping.host_port) if mapping.host_ip else mapping.host_port
            port_bindings.setdefault(key, []).append(binding)
        dns = config.dns or DNSConfig()
        host_config = self._api.create_host_config(
            network_mode=config.network,
            # Containers may only join the IPC namespace of a container that agreed to share it.
            ipc_mode="shareable",
            port_bindings=port_bindings or None,
            dns=list(dns.nameservers) or None,
            dns_search=list(dns.searches) or None,
            dns_opt=list(dns.options) or None,
            extra_hosts=dict(config.extra_hosts) or None,
            init=False,
        )
        name = docker_name(SANDBOX_CONTAINER_NAME, pod, 0)
        with (
            docker_errors(
                f"creating sandbox of pod {pod.namespace}/{pod.name}", not_found=ContainerCreateError
            ),
            self._gate.slot(BEGIN),
        ):
            sandbox_id = self._create(
                name,
                image=config.image,
                hostname=(config.hostname or pod.name)[:63],
                labels=labels,
                ports=[(int(key.split("/")[0]), key.split("/")[1]) for key in port_bindings] or None,
                host_config=host_config,
            )
        try:
            with docker_errors(
                f"starting sandbox of pod {pod.namespace}/{pod.name}", not_found=ContainerStartError
            ):
                try:
                    with self._gate.slot(FINISH):
                        self._api.start(sandbox_id)
                except docker.errors.APIError as exc:
                    raise ContainerStartError(
                        f"starting sandbox of pod {pod.namespace}/{pod.name}: {daemon_message(exc)}"
                    ) from exc
            # One inspect after start serves both the resolv.conf path and the pod IP.
            with docker_errors(f"inspecting sandbox {sandbox_id}"):
                data = self._api.inspect_container(sandbox_id)
            if config.dns is not None:
                self._write_resolv_conf(sandbox_id, str(data.get("ResolvConfPath") or ""), config.dns)
            return self._remember(sandbox_info_from_inspect(data))
        except BaseException:
            # A sandbox that never ran is of no use to anyone: do not leave it for the next sync.
            self._remove_quietly(sandbox_id)
            raise

    def _write_resolv_conf(self, sandbox_id: ContainerId, path: str, dns: DNSConfig) -> None:
        """Write the pod's resolv.conf over Docker's, as the kubelet's dockershim did.

        On a user-defined network Docker points resolv.conf at its embedded resolver
        (127.0.0.11) and keeps only ndots it likes; pods expect the cluster DNS and their
        own options verbatim. Every container of the pod shares this file.
        """
        lines = [f"nameserver {server}" for server in dns.nameservers]
        if dns.searches:
            lines.append("search " + " ".join(dns.searches))
        if dns.options:
            lines.append("options " + " ".join(dns.options))
        try:
            with open(path, "w", encoding="ascii") as resolv_conf:
                resolv_conf.write("\n".join(lines) + "\n")
        except OSError as exc:
            # dockerd on another machine/mount namespace: its embedded resolver still forwards to
            # the nameservers we gave it, so the pod resolves, only with Docker's options.
            log.warning("cannot rewrite %s for sandbox %s: %s", path, sandbox_id, exc)

    def stop_sandbox(self, sandbox_id: ContainerId, timeout_s: float) -> None:
        members = self._member_ids(sandbox_id)
        if members:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(members), 8)) as pool:
                # Containers get their grace period in parallel, as the kubelet kills them.
                futures = [pool.submit(self._stop_if_present, member, timeout_s) for member in members]
                for future in futures:
                    future.result()
        self._stop_if_present(sandbox_id, timeout_s)

    def remove_sandbox(self, sandbox_id: ContainerId) -> None:
        for member in self._member_ids(sandbox_id):
            self.remove_container(member)
        self.remove_container(sandbox_id)
        self._sandbox_pods.pop(sandbox_id, None)

    def _member_ids(self, sandbox_id: ContainerId) -> list[ContainerId]:
        with docker_errors(f"listing containers of sandbox {sandbox_id}"):
            found = self._api.containers(all=True, filters={"label": [f"{LABEL_SANDBOX_ID}={sandbox_id}"]})
        return [ContainerId(summary["Id"]) for summary in found]

    def _stop_if_present(self, container_id: ContainerId, timeout_s: float) -> None:
        try:
            self.stop_container(container_id, timeout_s)
        except ContainerNotFound:
            pass

    def inspect_sandbox(self, sandbox_id: ContainerId) -> SandboxInfo:
        with docker_errors(f"inspecting sandbox {sandbox_id}"):
            data = self._api.inspect_container(sandbox_id)
        return self._remember(sandbox_info_from_inspect(data))

    def list_sandboxes(self, pod_uid: PodUID | None = None) -> list[SandboxInfo]:
        extra = [f"{LABEL_CONTAINER_NAME}={SANDBOX_CONTAINER_NAME}"]
        return [
            self._remember(sandbox_info_from_inspect(data)) for data in self._inspect_managed(pod_uid, extra)
        ]

    def _remember(self, sandbox: SandboxInfo) -> SandboxInfo:
        self._sandbox_pods[sandbox.id] = sandbox.pod
        return sandbox

    # ------------------------------------------------------------ containers

    def create_container(self, sandbox_id: ContainerId, config: ContainerConfig) -> ContainerId:
        pod = self._sandbox_pods.get(sandbox_id) or self.inspect_sandbox(sandbox_id).pod
        joined = f"container:{sandbox_id}"
        limits = _resource_limits(config.resources)
        host_config = self._api.create_host_config(
            network_mode=joined,
            ipc_mode=joined,
            pid_mode=joined if config.share_pid else None,
            binds=[
                f"{mount.host_path}:{mount.container_path}:{'ro' if mount.read_only else 'rw'}"
                for mount in config.mounts
            ]
            or None,
            **limits,
        )
        labels = {
            **config.labels,
            **object_labels(pod, config.name, config.restart_count),
            LABEL_SANDBOX_ID: sandbox_id,
        }
        with (
            docker_errors(
                f"creating container {config.name} of pod {pod.namespace}/{pod.name}",
                not_found=ContainerCreateError,
            ),
            self._gate.slot(FINISH),
        ):
            return self._create(
                docker_name(config.name, pod, config.restart_count),
                image=config.image,
                # Kubernetes: `command` replaces ENTRYPOINT, and dockerd then drops the image's CMD
                # by itself; `args` replaces CMD.
                entrypoint=list(config.command) or None,
                command=list(config.args) or None,
                environment=dict(config.env) or None,
                working_dir=config.working_dir or None,
                user=config.user or None,
                labels=labels,
                host_config=host_config,
            )

    def _create(self, name: str, **kwargs: Any) -> ContainerId:
        try:
            created = self._api.create_container(name=name, detach=True, use_config_proxy=False, **kwargs)
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise ContainerCreateError(daemon_message(exc)) from exc
            # A leftover of an interrupted create holds the name; as dockershim did, take another.
            created = self._api.create_container(
                name=f"{name}_{uuid.uuid4().hex[:8]}", detach=True, use_config_proxy=False, **kwargs
            )
        return ContainerId(created["Id"])

    def start_container(self, container_id: ContainerId) -> None:
        with docker_errors(f"starting container {container_id}"):
            try:
                with self._gate.slot(FINISH):
                    self._api.start(container_id)
            except docker.errors.NotFound:
                raise
            except docker.errors.APIError as exc:
                raise ContainerStartError(
                    f"starting container {container_id}: {daemon_message(exc)}"
                ) from exc

    def stop_container(self, container_id: ContainerId, timeout_s: float) -> None:
        with docker_errors(f"stopping container {container_id}"):
            self._api.stop(container_id, timeout=max(0, min(math.ceil(timeout_s), MAX_TIMEOUT_S)))

    def remove_container(self, container_id: ContainerId) -> None:
        try:
            with docker_errors(f"removing container {container_id}"):
                self._api.remove_container(container_id, v=True, force=True)
        except ContainerNotFound:
            pass

    def _remove_quietly(self, container_id: ContainerId) -> None:
        try:
            self.remove_container(container_id)
        except ContainerRuntimeError:
            log.warning("could not remove container %s after a failed start", container_id, exc_info=True)

    def inspect_container(self, container_id: ContainerId) -> ContainerInfo:
        with docker_errors(f"inspecting container {container_id}"):
            data = self._api.inspect_container(container_id)
        return container_info_from_inspect(data)

    def list_containers(self, pod_uid: PodUID | None = None) -> list[ContainerInfo]:
        return [
            container_info_from_inspect(data)
            for data in self._inspect_managed(pod_uid, [])
            if (data["Config"].get("Labels") or {}).get(LABEL_CONTAINER_NAME) != SANDBOX_CONTAINER_NAME
        ]

    def list_states(self, pod_uid: PodUID | None = None) -> dict[ContainerId, ObjectState]:
        wanted = [f"{LABEL_MANAGED}=true"]
        if pod_uid is not None:
            wanted.append(f"{LABEL_POD_UID}={pod_uid}")
        with docker_errors("listing managed containers"):
            summaries = self._api.containers(all=True, filters={"label": wanted})
        states = {}
        for summary in summaries:
            labels: Mapping[str, str] = summary.get("Labels") or {}
            states[ContainerId(summary["Id"])] = ObjectState(
                pod_uid=PodUID(labels.get(LABEL_POD_UID, "")),
                is_sandbox=labels.get(LABEL_CONTAINER_NAME) == SANDBOX_CONTAINER_NAME,
                state=_STATES.get(str(summary.get("State", "")), ContainerState.UNKNOWN),
            )
        return states

    def _inspect_managed(self, pod_uid: PodUID | None, extra_labels: list[str]) -> list[dict[str, Any]]:
        wanted = [f"{LABEL_MANAGED}=true", *extra_labels]
        if pod_uid is not None:
            wanted.append(f"{LABEL_POD_UID}={pod_uid}")
        with docker_errors("listing managed containers"):
            summaries = self._api.containers(all=True, filters={"label": wanted})
        inspected = []
        for summary in summaries:
            try:
                with docker_errors(f"inspecting container {summary['Id']}"):
                    inspected.append(self._api.inspect_container(summary["Id"]))
            except ContainerNotFound:
                continue  # removed between list and inspect
        return inspected

    # ------------------------------------------------------------ exec, logs, events, info

    def inspect_raw(self, container_id: ContainerId) -> dict[str, Any]:
        """Docker's whole inspect answer (name, pid, netns path, mounts), for `kajitori explain` (agent.explain)."""
        with docker_errors(f"inspecting {container_id}"):
            data: dict[str, Any] = self._api.inspect_container(container_id)
        return data

    def streaming(self) -> DockerStreams:
        """Interactive exec and pod namespaces on the same Docker client (agent.docker_streams)."""
        return DockerStreams(self._api)

    def exec_sync(self, container_id: ContainerId, cmd: list[str], timeout_s: float) -> tuple[int, bytes]:
        deadline = time.monotonic() + min(timeout_s, MAX_TIMEOUT_S)
        with docker_errors(f"exec {cmd!r} in container {container_id}"):
            exec_id = self._api.exec_create(container_id, cmd, stdout=True, stderr=True, tty=False)["Id"]
            wrapped = self._api.exec_start(exec_id, socket=True)
        try:
            output = _read_multiplexed(hijacked(wrapped), deadline, what=f"exec {cmd!r} in container {container_id}")
        finally:
            _close_socket(wrapped)
        with docker_errors(f"inspecting exec in container {container_id}"):
            # The stream ends when the process's output closes; its exit is recorded a moment later.
            while True:
                state = self._api.exec_inspect(exec_id)
                if not state.get("Running") or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
        if state.get("Running"):
            raise ExecTimeout(f"exec {cmd!r} in container {container_id} still running after {timeout_s}s")
        return int(state.get("ExitCode") or 0), output

    def logs(
        self,
        container_id: ContainerId,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        since: datetime | None = None,
    ) -> Iterator[bytes]:
        with docker_errors(f"reading logs of container {container_id}"):
            stream = self._api.logs(
                container_id,
                stream=True,
                follow=follow,
                tail=tail if tail is not None else "all",
                timestamps=timestamps,
                since=since.timestamp() if since is not None else None,
            )
        return _mapped_chunks(stream, f"reading logs of container {container_id}")

    def events(self) -> EventStream:
        return DockerEventStream(self._api)

    def info(self) -> RuntimeInfo:
        with docker_errors("reading docker info"):
            data = self._api.info()
        return RuntimeInfo(
            cpus=int(data["NCPU"]),
            memory_bytes=int(data["MemTotal"]),
            runtime_version=f"docker://{data.get('ServerVersion', '')}",
            kernel_version=str(data.get("KernelVersion", "")),
            os_image=str(data.get("OperatingSystem", "")),
            operating_system=str(data.get("OSType", "linux")),
            architecture=str(data.get("Architecture", "")),
        )

    @property
    def docker_api(self) -> docker.APIClient:
        """The Docker client, for readers beside the runtime (agent.docker_stats)."""
        return self._api

    def close(self) -> None:
        self._api.close()


# ---------------------------------------------------------------- pure translations


def normalize_image_ref(image: str) -> str:
    """`busybox` → `busybox:latest`; tagged and digested references stay as they are."""
    if "@" in image:
        return image
    _, tag = _split_ref(image)
    return image if tag else f"{image}:latest"


def _split_ref(ref: str) -> tuple[str, str | None]:
    if "@" in ref:
        repository, digest = ref.rsplit("@", 1)
        return repository, digest
    repository, _, tag = ref.rpartition(":")
    if repository and "/" not in tag:
        return repository, tag
    return ref, None


def docker_name(container_name: str, pod: PodRef, restart_count: int) -> str:
    """The kubelet's naming: readable in `docker ps`, unique per pod uid and attempt."""
    return f"k8s_{container_name}_{pod.name}_{pod.namespace}_{pod.uid}_{restart_count}"


def _resource_limits(resources: Resources) -> dict[str, int]:
    limits: dict[str, int] = {}
    if resources.cpu_limit_millicores is not None:
        limits["cpu_period"] = CPU_PERIOD_US
        limits["cpu_quota"] = max(MIN_CPU_QUOTA_US, resources.cpu_limit_millicores * CPU_PERIOD_US // 1000)
    request = resources.cpu_request_millicores
    if request is None:
        request = resources.cpu_limit_millicores
    if request is not None:
        limits["cpu_shares"] = max(MIN_CPU_SHARES, request * 1024 // 1000)
    if resources.memory_limit_bytes is not None:
        limits["mem_limit"] = resources.memory_limit_bytes
        # No swap beyond the limit, so the limit means what the pod spec says.
        limits["memswap_limit"] = resources.memory_limit_bytes
    return limits


_FRACTION = re.compile(r"\.(\d+)")


def parse_docker_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 times with nanoseconds; its zero time (`0001-01-01...`) is None."""
    if not text or text.startswith("0001-01-01"):
        return None
    # Python parses at most microseconds.
    trimmed = _FRACTION.sub(lambda match: "." + match.group(1)[:6].ljust(6, "0"), text, count=1)
    parsed = datetime.fromisoformat(trimmed.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sandbox_info_from_inspect(data: Mapping[str, Any]) -> SandboxInfo:
    labels: Mapping[str, str] = data["Config"].get("Labels") or {}
    state = _STATES.get(data["State"].get("Status", ""), ContainerState.UNKNOWN)
    networks: Mapping[str, Any] = (data.get("NetworkSettings") or {}).get("Networks") or {}
    network = labels.get(LABEL_SANDBOX_NETWORK) or next(iter(networks), "")
    ip = ""
    if state == ContainerState.RUNNING:
        ip = str((networks.get(network) or {}).get("IPAddress") or "")
    return SandboxInfo(
        id=ContainerId(data["Id"]),
        pod=pod_from_labels(labels),
        state=state,
        ip=ip,
        network=network,
        hostname=str(data["Config"].get("Hostname", "")),
        created_at=parse_docker_time(data.get("Created")),
        labels=dict(labels),
    )


def container_info_from_inspect(data: Mapping[str, Any]) -> ContainerInfo:
    labels: Mapping[str, str] = data["Config"].get("Labels") or {}
    docker_state: Mapping[str, Any] = data["State"]
    state = _STATES.get(docker_state.get("Status", ""), ContainerState.UNKNOWN)
    exited = state == ContainerState.EXITED
    exit_code = int(docker_state.get("ExitCode") or 0)
    network_mode = str((data.get("HostConfig") or {}).get("NetworkMode") or "")
    sandbox_id = labels.get(LABEL_SANDBOX_ID) or network_mode.removeprefix("container:")
    started_at = parse_docker_time(docker_state.get("StartedAt"))
    finished_at = parse_docker_time(docker_state.get("FinishedAt")) if exited else None
    if started_at and finished_at and finished_at < started_at:
        # dockerd stamps StartedAt after `start` returns, so a process that exits at once can
        # look finished before it started; a status must not say so.
        finished_at = started_at
    return ContainerInfo(
        id=ContainerId(data["Id"]),
        pod=pod_from_labels(labels),
        name=labels.get(LABEL_CONTAINER_NAME, ""),
        sandbox_id=ContainerId(sandbox_id),
        state=state,
        restart_count=restart_count_from_labels(labels),
        image=str(data["Config"].get("Image", "")),
        image_id=str(data.get("Image", "")),
        exit_code=exit_code if exited else None,
        reason=termination_reason(exit_code, bool(docker_state.get("OOMKilled"))) if exited else None,
        message=str(docker_state.get("Error") or ""),
        created_at=parse_docker_time(data.get("Created")),
        started_at=started_at,
        finished_at=finished_at,
        labels=dict(labels),
    )


# ---------------------------------------------------------------- streams


def _mapped_chunks(stream: Any, doing: str) -> Iterator[bytes]:
    try:
        with docker_errors(doing):
            yield from stream
    finally:
        stream.close()


def _read_multiplexed(stream: Hijacked, deadline: float, *, what: str) -> bytes:
    """Read a non-TTY attach stream (8-byte frame headers) to its end, stdout and stderr together."""
    demux = Demultiplexer()
    output = bytearray()
    data = stream.early
    while True:
        for _, payload in demux.feed(data):
            output += payload
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ExecTimeout(f"{what}: no end of output within its timeout")
        readable, _, _ = select.select([stream.sock], [], [], remaining)
        if not readable:
            data = b""
            continue
        data = stream.sock.recv(65536)
        if not data:
            return bytes(output)


def _close_socket(sock: Any) -> None:
    for closable in (sock, getattr(sock, "_sock", None)):
        if closable is not None:
            try:
                closable.close()
            except OSError:
                pass

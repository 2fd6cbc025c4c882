"""An in-memory `ContainerRuntime` for unit tests and hollow nodes (`--runtime fake`).

It keeps Docker's observable rules where the sync loop could notice them (a container
joins an existing sandbox; an image must be present before a container is created; a
hostPort can be held by one sandbox at a time; exec needs a running container; stopped
and removed containers produce die/destroy events) and makes everything else instant:
containers run the moment they start and stay running until a script, `exit_container`,
or a stop ends them. It starts no threads and holds one lock, so hundreds of instances
fit in one process.

Scripting for tests:
- `fail_pull(image, message)`: pulling that image raises ImagePullError(message).
- `script_exits(container_name, 1, 1, None)`: successive starts of containers of that name
  exit at once with 1, 1, then keep running (None) — a crash loop in one line.
- `fail_start(container_name, message)`: starting raises ContainerStartError.
- `exit_container(id, code, oom=False)`: a running container dies now.
- `script_exec(container_name, handler)`: `handler(cmd) -> (exit_code, output)` answers exec.
- `script_output(container_name, data)`: every start of such a container "prints" data.
- `write_log(id, data)`: what the container "printed".
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import queue
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.runtime import (
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
    EventStream,
    ImageInfo,
    ImageNotPresent,
    ImagePullError,
    ObjectState,
    PodRef,
    PodUID,
    PullPolicy,
    RuntimeEvent,
    RuntimeEventKind,
    RuntimeInfo,
    SandboxConfig,
    SandboxInfo,
    object_labels,
    termination_reason,
)

ExecHandler = Callable[[list[str]], tuple[int, bytes]]
Clock = Callable[[], datetime]

STOP_EXIT_CODE = 143
"""What a stopped fake container exits with: 128 + SIGTERM, as a process that obeys SIGTERM's default."""


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass
class _FakeObject:
    """One sandbox or container, mutable under the runtime's lock."""

    id: ContainerId
    pod: PodRef
    name: str
    sandbox_id: ContainerId
    image: str
    image_id: str
    restart_count: int
    labels: dict[str, str]
    created_at: datetime
    state: ContainerState = ContainerState.CREATED
    exit_code: int | None = None
    oom_killed: bool = False
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    ip: str = ""
    network: str = ""
    hostname: str = ""
    ports: tuple[tuple[str, int, str], ...] = ()
    log: list[tuple[datetime, bytes]] = field(default_factory=list)


class FakeEventStream:
    """Events of one `FakeRuntime` from subscription on; `close()` ends the iteration."""

    _CLOSED = object()

    def __init__(self, unsubscribe: Callable[[FakeEventStream], None]) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._unsubscribe = unsubscribe

    def put(self, event: RuntimeEvent) -> None:
        self._queue.put(event)

    def __iter__(self) -> Iterator[RuntimeEvent]:
        # Events emitted before close() are still delivered; the close marker ends the iteration.
        while True:
            item = self._queue.get()
            if item is self._CLOSED:
                return
            assert isinstance(item, RuntimeEvent)
            yield item

    def close(self) -> None:
        self._unsubscribe(self)
        self._queue.put(self._CLOSED)


class FakeRuntime:
    """`ContainerRuntime` in memory; see the module docstring for the scripting calls."""

    def __init__(
        self,
        *,
        cpus: int = 4,
        memory_bytes: int = 16 * 1024**3,
        pod_cidr: str = "10.244.0.0/24",
        images: Iterable[str] = (),
        clock: Clock = _utc_now,
    ) -> None:
        self._cpus = cpus
        self._memory_bytes = memory_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[ContainerId, _FakeObject] = {}
        self._ids = itertools.count(1)
        # .0 is the network, .1 the gateway on a Docker bridge: pods get the rest.
        self._free_ips: deque[str] = deque(str(ip) for ip in list(ipaddress.ip_network(pod_cidr).hosts())[1:])
        self._images: dict[str, ImageInfo] = {}
        self._pull_failures: dict[str, str] = {}
        self._start_failures: dict[str, str] = {}
        self._exit_scripts: dict[str, deque[int | None]] = defaultdict(deque)
        self._exec_handlers: dict[str, ExecHandler] = {}
        self._outputs: dict[str, bytes] = {}
        self._subscribers: list[FakeEventStream] = []
        self.pulls: list[str] = []
        """Every image reference pulled, in order (to assert pull policies)."""
        for image in images:
            self.add_image(image)

    # ------------------------------------------------------------ scripting

    def add_image(self, image: str) -> ImageInfo:
        ref = _normalize(image)
        info = ImageInfo(ref=ref, id="sha256:" + hashlib.sha256(ref.encode()).hexdigest(), size_bytes=1 << 20)
        with self._lock:
            self._images[ref] = info
        return info

    def fail_pull(self, image: str, message: str) -> None:
        with self._lock:
            self._pull_failures[_normalize(image)] = message

    def fail_start(self, container_name: str, message: str) -> None:
        with self._lock:
            self._start_failures[container_name] = message

    def script_exits(self, container_name: str, *exit_codes: int | None) -> None:
        with self._lock:
            self._exit_scripts[container_name].extend(exit_codes)

    def script_output(self, container_name: str, data: bytes) -> None:
        with self._lock:
            self._outputs[container_name] = data

    def script_exec(self, container_name: str, handler: ExecHandler) -> None:
        with self._lock:
            self._exec_handlers[container_name] = handler

    def exit_container(self, container_id: ContainerId, exit_code: int, *, oom: bool = False) -> None:
        with self._lock:
            obj = self._get(container_id)
            if obj.state == ContainerState.RUNNING:
                self._exit(obj, exit_code, oom=oom)

    def write_log(self, container_id: ContainerId, data: bytes) -> None:
        with self._lock:
            self._get(container_id).log.append((self._clock(), data))
            self._changed.notify_all()

    # ------------------------------------------------------------ images

    def ensure_image(self, image: str, pull_policy: PullPolicy) -> ImageInfo:
        ref = _normalize(image)
        with self._lock:
            present = self._images.get(ref)
            if present is not None and pull_policy != PullPolicy.ALWAYS:
                return present
            if present is None and pull_policy == PullPolicy.NEVER:
                raise ImageNotPresent(f'container image "{ref}" is not present with pull policy of Never')
            self.pulls.append(ref)
            failure = self._pull_failures.get(ref)
            if failure is not None:
                raise ImagePullError(failure)
        return present or self.add_image(ref)

    # ------------------------------------------------------------ sandboxes

    def run_sandbox(self, config: SandboxConfig) -> SandboxInfo:
        ref = _normalize(config.image)
        with self._lock:
            image = self._images.get(ref)
            if image is None:
                raise ContainerCreateError(f"No such image: {ref}")
            ports = tuple((m.host_ip, m.host_port, m.protocol.upper()) for m in config.port_mappings)
            taken = {
                port
                for other in self._objects.values()
                if other.state == ContainerState.RUNNING
                for port in other.ports
            }
            for host_ip, host_port, protocol in ports:
                # An address-less binding holds the port on every address, as Docker's does.
                if any(
                    (port, proto) == (host_port, protocol) and ("" in (ip, host_ip) or ip == host_ip)
                    for ip, port, proto in taken
                ):
                    raise ContainerStartError(
                        f"Bind for {host_ip or '0.0.0.0'}:{host_port} failed: port is already allocated"
                    )
            if not self._free_ips:
                raise ContainerStartError(f"no IP addresses left on network {config.network}")
            now = self._clock()
            obj = _FakeObject(
                id=self._new_id(),
                pod=config.pod,
                name=SANDBOX_CONTAINER_NAME,
                sandbox_id=ContainerId(""),
                image=config.image,
                image_id=image.id,
                restart_count=0,
                labels={
                    **config.labels,
                    **object_labels(config.pod, SANDBOX_CONTAINER_NAME, 0),
                    LABEL_SANDBOX_NETWORK: config.network,
                },
                created_at=now,
                state=ContainerState.RUNNING,
                started_at=now,
                ip=self._free_ips.popleft(),
                network=config.network,
                hostname=(config.hostname or config.pod.name)[:63],
                ports=ports,
            )
            self._objects[obj.id] = obj
            self._emit(obj, RuntimeEventKind.START)
            return _sandbox_info(obj)

    def stop_sandbox(self, sandbox_id: ContainerId, timeout_s: float) -> None:
        with self._lock:
            sandbox = self._get(sandbox_id)
            for member in self._members(sandbox_id):
                self._stop(member)
            self._stop(sandbox)

    def remove_sandbox(self, sandbox_id: ContainerId) -> None:
        with self._lock:
            if sandbox_id not in self._objects:
                return
            for member in self._members(sandbox_id):
                self._remove(member)
            self._remove(self._objects[sandbox_id])

    def inspect_sandbox(self, sandbox_id: ContainerId) -> SandboxInfo:
        with self._lock:
            obj = self._get(sandbox_id)
            if obj.name != SANDBOX_CONTAINER_NAME:
                raise ContainerNotFound(f"{sandbox_id} is a container, not a sandbox")
            return _sandbox_info(obj)

    def list_sandboxes(self, pod_uid: PodUID | None = None) -> list[SandboxInfo]:
        with self._lock:
            return [
                _sandbox_info(obj)
                for obj in self._objects.values()
                if obj.name == SANDBOX_CONTAINER_NAME and pod_uid in (None, obj.pod.uid)
            ]

    # ------------------------------------------------------------ containers

    def create_container(self, sandbox_id: ContainerId, config: ContainerConfig) -> ContainerId:
        ref = _normalize(config.image)
        with self._lock:
            sandbox = self._get(sandbox_id)
            image = self._images.get(ref)
            if image is None:
                raise ContainerCreateError(f"No such image: {ref}")
            obj = _FakeObject(
                id=self._new_id(),
                pod=sandbox.pod,
                name=config.name,
                sandbox_id=sandbox_id,
                image=config.image,
                image_id=image.id,
                restart_count=config.restart_count,
                labels={
                    **config.labels,
                    **object_labels(sandbox.pod, config.name, config.restart_count),
                    LABEL_SANDBOX_ID: sandbox_id,
                },
                created_at=self._clock(),
            )
            self._objects[obj.id] = obj
            return obj.id

    def start_container(self, container_id: ContainerId) -> None:
        with self._lock:
            obj = self._get(container_id)
            if obj.state == ContainerState.RUNNING:
                return
            sandbox = self._objects.get(obj.sandbox_id)
            if sandbox is None or sandbox.state != ContainerState.RUNNING:
                raise ContainerStartError(f"cannot join network of a non running container: {obj.sandbox_id}")
            failure = self._start_failures.get(obj.name)
            if failure is not None:
                obj.message = failure
                raise ContainerStartError(f"starting container {container_id}: {failure}")
            obj.state = ContainerState.RUNNING
            obj.started_at = self._clock()
            obj.exit_code = None
            obj.finished_at = None
            self._emit(obj, RuntimeEventKind.START)
            output = self._outputs.get(obj.name)
            if output is not None:
                obj.log.append((obj.started_at, output))
                self._changed.notify_all()
            script = self._exit_scripts.get(obj.name)
            scripted = script.popleft() if script else None
            if scripted is not None:
                self._exit(obj, scripted, oom=False)

    def stop_container(self, container_id: ContainerId, timeout_s: float) -> None:
        with self._lock:
            self._stop(self._get(container_id))

    def remove_container(self, container_id: ContainerId) -> None:
        with self._lock:
            obj = self._objects.get(container_id)
            if obj is not None:
                self._remove(obj)

    def inspect_container(self, container_id: ContainerId) -> ContainerInfo:
        with self._lock:
            return _container_info(self._get(container_id))

    def list_containers(self, pod_uid: PodUID | None = None) -> list[ContainerInfo]:
        with self._lock:
            return [
                _container_info(obj)
                for obj in self._objects.values()
                if obj.name != SANDBOX_CONTAINER_NAME and pod_uid in (None, obj.pod.uid)
            ]

    def list_states(self, pod_uid: PodUID | None = None) -> dict[ContainerId, ObjectState]:
        with self._lock:
            return {
                obj.id: ObjectState(obj.pod.uid, obj.name == SANDBOX_CONTAINER_NAME, obj.state)
                for obj in self._objects.values()
                if pod_uid in (None, obj.pod.uid)
            }

    # ------------------------------------------------------------ exec, logs, events, info

    def exec_sync(self, container_id: ContainerId, cmd: list[str], timeout_s: float) -> tuple[int, bytes]:
        with self._lock:
            obj = self._get(container_id)
            if obj.state != ContainerState.RUNNING:
                raise ContainerRuntimeError(f"exec {cmd!r}: container {container_id} is not running")
            handler = self._exec_handlers.get(obj.name)
        # Outside the lock: a handler may call back into the runtime (e.g. to exit the container).
        return handler(list(cmd)) if handler is not None else (0, b"")

    def logs(
        self,
        container_id: ContainerId,
        *,
        follow: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        since: datetime | None = None,
    ) -> Iterator[bytes]:
        with self._lock:
            self._get(container_id)
        return self._log_chunks(container_id, follow=follow, tail=tail, timestamps=timestamps, since=since)

    def _log_chunks(
        self,
        container_id: ContainerId,
        *,
        follow: bool,
        tail: int | None,
        timestamps: bool,
        since: datetime | None,
    ) -> Iterator[bytes]:
        with self._lock:
            entries = [e for e in self._objects[container_id].log if since is None or e[0] >= since]
            sent = len(self._objects[container_id].log)
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        for when, data in entries:
            yield _stamped(when, data) if timestamps else data
        while follow:
            with self._changed:
                obj = self._objects.get(container_id)
                while obj is not None and obj.state == ContainerState.RUNNING and len(obj.log) == sent:
                    self._changed.wait()
                    obj = self._objects.get(container_id)
                fresh = obj.log[sent:] if obj is not None else []
                sent += len(fresh)
                done = obj is None or obj.state != ContainerState.RUNNING
            for when, data in fresh:
                yield _stamped(when, data) if timestamps else data
            if done:
                return

    def events(self) -> EventStream:
        stream = FakeEventStream(self._unsubscribe)
        with self._lock:
            self._subscribers.append(stream)
        return stream

    def _unsubscribe(self, stream: FakeEventStream) -> None:
        with self._lock:
            if stream in self._subscribers:
                self._subscribers.remove(stream)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(
            cpus=self._cpus,
            memory_bytes=self._memory_bytes,
            runtime_version="fake://0.1.0",
            kernel_version="fake",
            os_image="Kajitori fake runtime",
            operating_system="linux",
            architecture="amd64",
        )

    # ------------------------------------------------------------ under the lock

    def _new_id(self) -> ContainerId:
        return ContainerId(f"{next(self._ids):064x}")

    def _get(self, container_id: ContainerId) -> _FakeObject:
        obj = self._objects.get(container_id)
        if obj is None:
            raise ContainerNotFound(f"No such container: {container_id}")
        return obj

    def _members(self, sandbox_id: ContainerId) -> list[_FakeObject]:
        return [obj for obj in self._objects.values() if obj.sandbox_id == sandbox_id]

    def _exit(self, obj: _FakeObject, exit_code: int, *, oom: bool) -> None:
        obj.state = ContainerState.EXITED
        obj.exit_code = exit_code
        obj.oom_killed = oom
        obj.finished_at = self._clock()
        if oom:
            self._emit(obj, RuntimeEventKind.OOM)
        self._emit(obj, RuntimeEventKind.DIE)
        self._changed.notify_all()

    def _stop(self, obj: _FakeObject) -> None:
        if obj.state == ContainerState.RUNNING:
            self._exit(obj, STOP_EXIT_CODE, oom=False)

    def _remove(self, obj: _FakeObject) -> None:
        self._stop(obj)
        del self._objects[obj.id]
        if obj.ip:
            self._free_ips.append(obj.ip)
        self._emit(obj, RuntimeEventKind.DESTROY)
        self._changed.notify_all()

    def _emit(self, obj: _FakeObject, kind: RuntimeEventKind) -> None:
        if not self._subscribers:
            return
        event = RuntimeEvent(
            kind=kind,
            container_id=obj.id,
            pod_uid=obj.pod.uid,
            container_name=obj.name,
            time=self._clock(),
            exit_code=obj.exit_code if kind == RuntimeEventKind.DIE else None,
        )
        for subscriber in self._subscribers:
            subscriber.put(event)


def _normalize(image: str) -> str:
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def _stamped(when: datetime, data: bytes) -> bytes:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ ").encode() + data


def _sandbox_info(obj: _FakeObject) -> SandboxInfo:
    return SandboxInfo(
        id=obj.id,
        pod=obj.pod,
        state=obj.state,
        ip=obj.ip if obj.state == ContainerState.RUNNING else "",
        network=obj.network,
        hostname=obj.hostname,
        created_at=obj.created_at,
        labels=dict(obj.labels),
    )


def _container_info(obj: _FakeObject) -> ContainerInfo:
    exited = obj.state == ContainerState.EXITED
    exit_code = obj.exit_code if exited else None
    return ContainerInfo(
        id=obj.id,
        pod=obj.pod,
        name=obj.name,
        sandbox_id=obj.sandbox_id,
        state=obj.state,
        restart_count=obj.restart_count,
        image=obj.image,
        image_id=obj.image_id,
        exit_code=exit_code,
        reason=termination_reason(exit_code or 0, obj.oom_killed) if exited else None,
        message=obj.message,
        created_at=obj.created_at,
        started_at=obj.started_at,
        finished_at=obj.finished_at if exited else None,
        labels=dict(obj.labels),
    )

"""One pod's sync: make the runtime match the pod spec, then report the pod's status.

`PodSyncer.sync(pod)` is level-triggered and idempotent; the pod workers call it whenever
anything about the pod may have changed (informer event, runtime event, probe result,
back-off timer, periodic relist), never for the same pod on two threads at once. A pod
goes through these states, each left as described:

  setting up   no running sandbox: write volumes, start the pause container on the pod
               network (left when it runs; a dead sandbox is replaced, its containers
               removed and their restart counts carried over);
  initializing init containers run one at a time, in order; each must exit 0 (restarted
               with back-off unless restartPolicy is Never, which fails the pod);
  running      every app container is started; exited ones are restarted as restartPolicy
               says, after the kubelet's back-off (CrashLoopBackOff while waiting); a failed
               liveness or startup probe kills the container, which then restarts the same way;
  terminating  the pod has metadata.deletionTimestamp: containers get the grace period,
               then everything of the pod (containers, pause container, volumes) is
               removed and the API object is deleted with grace 0, which releases it;
  finished     phase Succeeded/Failed: nothing is restarted, the sandbox is stopped.

Containers are found by their labels (pod uid, container name, restart count, this node),
so an agent that restarts adopts what runs and restarts nothing. Status is written through
/status only when it differs from what was last written or is stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.backoff import Backoff
from agent.env import ConfigSource, ContainerConfigError, container_env, expand
from agent.pod_identity import PodIdentity
from agent.pod_status import ContainerView, pod_status, same_status
from agent.probes import ProbeManager, ProbeTarget
from agent.runtime import (
    SANDBOX_CONTAINER_NAME,
    ContainerConfig,
    ContainerCreateError,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ContainerStartError,
    ContainerState,
    DNSConfig,
    ImageNotPresent,
    ImagePullError,
    PodRef,
    PodUID,
    PortMapping,
    PullPolicy,
    Resources,
    SandboxConfig,
    SandboxInfo,
)
from agent.settings import AgentSettings
from agent.volumes import VolumeManager
from kajitori.api.core import Container, Pod
from kajitori.api.quantity import cpu_millicores, memory_bytes
from kajitori.client import ApiClient, ConflictError, NotFoundError
from kajitori.clock import format_time
from kajitori.events import EventRecorder

log = logging.getLogger(__name__)

LABEL_NODE = "io.kajitori.node"
"""On every runtime object an agent makes: the node it belongs to (several hollow or test agents
may share one dockerd, and each must only ever adopt or remove its own)."""


@dataclass
class PodMemo:
    """What the sync loop remembers of a pod between syncs (in memory; lost, harmlessly, on restart)."""

    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    pull_errors: dict[str, str] = field(default_factory=dict)
    restart_base: dict[str, int] = field(default_factory=dict)
    """Attempt number for each container's next start after its sandbox was replaced."""
    last_status: dict[str, Any] | None = None


class PodSyncer:
    def __init__(
        self,
        *,
        runtime: ContainerRuntime,
        client: ApiClient,
        settings: AgentSettings,
        volumes: VolumeManager,
        probes: ProbeManager,
        config_source: ConfigSource,
        recorder: EventRecorder | None = None,
        identity: PodIdentity | None = None,
        backoff: Backoff | None = None,
        container_id_scheme: str = "docker",
        now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.settings = settings
        self.volumes = volumes
        self.probes = probes
        self.config_source = config_source
        self.recorder = recorder
        self.identity = identity  # ServiceAccount token volume and Services' env (agent.pod_identity)
        self.backoff = backoff or Backoff(
            initial_s=settings.backoff.initial_s,
            max_s=settings.backoff.max_s,
            reset_after_s=settings.backoff.reset_after_s,
            clock=monotonic,
        )
        self.scheme = container_id_scheme
        self._now = now
        self._monotonic = monotonic
        self._memos: dict[str, PodMemo] = defaultdict(PodMemo)
        self._memo_lock = threading.Lock()

    # ------------------------------------------------------------ entry points

    def sync(self, pod: Pod) -> float | None:
        """Converge one pod; returns seconds after which it wants another sync (a back-off ends), or None."""
        if pod.metadata.deletionTimestamp:
            self.terminate(pod)
            return None
        uid = PodUID(pod.metadata.uid or "")
        memo = self._memo(uid)
        if pod.status.phase in ("Succeeded", "Failed"):
            self._stop_finished(pod, uid)
            return None
        requeue: list[float] = []
        sandbox = self._ensure_sandbox(pod, uid, memo, requeue)
        if sandbox is not None and not self._ensure_identity(pod, memo, requeue):
            sandbox = None  # no container may start without the token it would mount
        containers = self.runtime.list_containers(uid) if sandbox is not None else []
        if sandbox is not None and sandbox.state == ContainerState.RUNNING:
            acted = self._converge(pod, sandbox, containers, memo, requeue)
            if acted:
                containers = self.runtime.list_containers(uid)
        self._write_status(pod, sandbox, containers, memo)
        return min(requeue) if requeue else None

    def _ensure_identity(self, pod: Pod, memo: PodMemo, requeue: list[float]) -> bool:
        """The pod's ServiceAccount token written or renewed when due; False (and waiting) if none can be had."""
        if self.identity is None:
            return True
        try:
            renew_in = self.identity.ensure(pod)
        except ContainerConfigError as exc:
            self._event(pod, "Warning", "FailedMount", f"MountVolume.SetUp failed for volume \"kube-api-access\": {exc}")
            for spec in [*(pod.spec.initContainers or []), *pod.spec.containers]:
                memo.waiting[spec.name] = ("ContainerCreating", str(exc))
            requeue.append(5.0)
            return False
        if renew_in is not None:
            requeue.append(max(renew_in, 1.0))
        return True

    def terminate(self, pod: Pod) -> None:
        """Stop the pod's containers with its grace period, remove everything of it, release the API object."""
        uid = PodUID(pod.metadata.uid or "")
        grace = pod.metadata.deletionGracePeriodSeconds
        if grace is None:
            grace = pod.spec.terminationGracePeriodSeconds
        sandboxes = self.runtime.list_sandboxes(uid)
        started = time.monotonic()
        self._run_pre_stop_hooks(pod, uid, float(grace))
        left = max(0.0, float(grace) - (time.monotonic() - started))
        for sandbox in sandboxes:
            if sandbox.state == ContainerState.RUNNING:
                self.runtime.stop_sandbox(sandbox.id, left)
        self.probes.forget_pod(uid)
        for sandbox in sandboxes:
            self.runtime.remove_sandbox(sandbox.id)
        for stray in self.runtime.list_containers(uid):
            self.runtime.remove_container(stray.id)
        self.volumes.cleanup(uid)
        try:
            self.client.delete(
                Pod, pod.metadata.name or "", pod.metadata.namespace, grace_period_seconds=0, uid=uid
            )
        except (NotFoundError, ConflictError):
            pass  # already gone, or a new pod of the same name (whose uid is not ours)
        self.forget(uid)
        log.info("pod %s/%s terminated and released", pod.metadata.namespace, pod.metadata.name)

    def _run_pre_stop_hooks(self, pod: Pod, uid: PodUID, grace_s: float) -> None:
        """Each running container's `lifecycle.preStop.exec` before it is signalled, as the
        kubelet runs them: within the grace period (what they take is taken from it), and a
        failing hook does not stop the termination. A short sleep here is what lets an app
        keep serving until every proxy has dropped the pod's endpoint (Kubernetes' advice
        for graceful drains); `httpGet` and `sleep` hooks are not run."""
        hooks = {}
        for spec in pod.spec.containers:
            lifecycle = getattr(spec, "lifecycle", None)
            command = (((lifecycle or {}).get("preStop") or {}).get("exec") or {}).get("command")
            if isinstance(lifecycle, dict) and isinstance(command, list) and command:
                hooks[spec.name] = [str(word) for word in command]
        if not hooks or grace_s <= 0:
            return
        give_up = time.monotonic() + grace_s
        for container in self.runtime.list_containers(uid):
            command = hooks.get(container.name)
            if command is None or container.state != ContainerState.RUNNING:
                continue
            left = give_up - time.monotonic()
            if left <= 0:
                break
            try:
                code, _ = self.runtime.exec_sync(container.id, command, left)
                log.info("pod %s/%s: preStop hook of %s exited %d", pod.metadata.namespace, pod.metadata.name, container.name, code)
            except Exception as exc:  # a failed hook is logged, the termination goes on (kubelet: FailedPreStopHook)
                log.warning("pod %s/%s: preStop hook of %s failed: %s", pod.metadata.namespace, pod.metadata.name, container.name, exc)

    def forget(self, uid: str) -> None:
        if self.identity is not None:
            self.identity.forget(uid)
        with self._memo_lock:
            self._memos.pop(uid, None)
        self.backoff.forget_prefix(f"{uid}/")

    def remove_orphans(self, live_uids: Callable[[], set[str]]) -> int:
        """Remove this node's containers, sandboxes and volumes of pods no longer bound here."""
        node = self.settings.node_name
        sandboxes = [s for s in self.runtime.list_sandboxes() if s.labels.get(LABEL_NODE) == node]
        containers = [c for c in self.runtime.list_containers() if c.labels.get(LABEL_NODE) == node]
        on_disk = self.volumes.known_pod_uids()
        # The live set is read after the runtime was listed: anything made for a pod was made
        # after the pod reached the cache, so it cannot look orphaned.
        live = live_uids()
        removed = 0
        for sandbox in sandboxes:
            if sandbox.pod.uid not in live:
                log.info("removing sandbox of pod %s/%s (no longer bound here)", sandbox.pod.namespace, sandbox.pod.name)
                self.probes.forget_pod(sandbox.pod.uid)
                self.runtime.remove_sandbox(sandbox.id)
                removed += 1
        for container in containers:
            if container.pod.uid not in live:
                self.runtime.remove_container(container.id)
                removed += 1
        for uid in on_disk:
            if uid not in live:
                self.volumes.cleanup(uid)
                self.forget(uid)
        return removed

    # ------------------------------------------------------------ sandbox

    def _memo(self, uid: str) -> PodMemo:
        with self._memo_lock:
            return self._memos[uid]

    def _ensure_sandbox(self, pod: Pod, uid: PodUID, memo: PodMemo, requeue: list[float]) -> SandboxInfo | None:
        sandboxes = sorted(
            self.runtime.list_sandboxes(uid),
            key=lambda s: s.created_at or datetime.min.replace(tzinfo=UTC),
        )
        running = [s for s in sandboxes if s.state == ContainerState.RUNNING]
        if running:
            for extra in running[:-1]:
                self.runtime.remove_sandbox(extra.id)
            return running[-1]
        old_containers = self.runtime.list_containers(uid) if sandboxes else []
        if sandboxes and pod.spec.restartPolicy == "Never" and old_containers:
            # Its containers ran and must not run again: keep the dead sandbox for the status.
            return sandboxes[-1]
        for container in old_containers:
            memo.restart_base[container.name] = max(
                memo.restart_base.get(container.name, 0), container.restart_count + 1
            )
        for dead in sandboxes:
            log.info("sandbox of pod %s/%s is not running; replacing it", pod.metadata.namespace, pod.metadata.name)
            self.probes.forget_pod(uid)
            self.runtime.remove_sandbox(dead.id)
        try:
            self.volumes.setup(pod)
        except ContainerConfigError as exc:
            self._event(pod, "Warning", "FailedMount", f"MountVolume.SetUp failed: {exc}")
            for spec in [*(pod.spec.initContainers or []), *pod.spec.containers]:
                memo.waiting[spec.name] = ("ContainerCreating", str(exc))
            requeue.append(5.0)
            return None
        ref = PodRef(namespace=pod.metadata.namespace or "default", name=pod.metadata.name or "", uid=uid)
        config = SandboxConfig(
            pod=ref,
            network=self.settings.network,
            hostname=pod.spec.hostname or pod.metadata.name or "",
            dns=self._dns_config(pod),
            port_mappings=tuple(
                PortMapping(
                    container_port=port.containerPort,
                    host_port=port.hostPort,
                    protocol=port.protocol,
                    host_ip=port.hostIP or "",
                )
                for container in pod.spec.containers
                for port in container.ports or []
                if port.hostPort
            ),
            labels={LABEL_NODE: self.settings.node_name},
        )
        try:
            sandbox = self.runtime.run_sandbox(config)
        except (ContainerCreateError, ContainerStartError) as exc:
            self._event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
            for spec in [*(pod.spec.initContainers or []), *pod.spec.containers]:
                memo.waiting[spec.name] = ("ContainerCreating", f"Failed to create pod sandbox: {exc}")
            requeue.append(self.backoff.next(f"{uid}/{SANDBOX_CONTAINER_NAME}"))
            return None
        self.backoff.forget(f"{uid}/{SANDBOX_CONTAINER_NAME}")
        for spec in [*(pod.spec.initContainers or []), *pod.spec.containers]:
            if memo.waiting.get(spec.name, ("",))[0] == "ContainerCreating":
                memo.waiting.pop(spec.name)
        return sandbox

    def _dns_config(self, pod: Pod) -> DNSConfig | None:
        dns = self.settings.dns
        policy = pod.spec.dnsPolicy
        extra = pod.spec.dnsConfig
        nameservers: list[str] = []
        searches: list[str] = []
        options: list[str] = []
        cluster_first = policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not pod.spec.hostNetwork)
        if cluster_first:
            namespace = pod.metadata.namespace or "default"
            nameservers = [dns.cluster_dns]
            searches = [f"{namespace}.svc.{dns.cluster_domain}", f"svc.{dns.cluster_domain}", dns.cluster_domain]
            options = [f"ndots:{dns.ndots}"]
        elif policy != "None" and extra is None:
            return None  # Default: the node's own resolv.conf, which the runtime gives
        if extra is not None:
            nameservers += [n for n in extra.nameservers or [] if n not in nameservers]
            searches += [s for s in extra.searches or [] if s not in searches]
            for option in extra.options or []:
                text = option.name if option.value is None else f"{option.name}:{option.value}"
                options = [o for o in options if o.split(":")[0] != option.name] + [text]
        return DNSConfig(nameservers=tuple(nameservers), searches=tuple(searches), options=tuple(options))

    def _stop_finished(self, pod: Pod, uid: PodUID) -> None:
        self.probes.forget_pod(uid)
        for sandbox in self.runtime.list_sandboxes(uid):
            if sandbox.state == ContainerState.RUNNING:
                grace = float(pod.spec.terminationGracePeriodSeconds)
                self.runtime.stop_sandbox(sandbox.id, grace)

    # ------------------------------------------------------------ containers

    def _converge(
        self,
        pod: Pod,
        sandbox: SandboxInfo,
        containers: list[ContainerInfo],
        memo: PodMemo,
        requeue: list[float],
    ) -> bool:
        """Start, restart or kill containers; returns whether anything was done to the runtime."""
        instances = _instances(containers, sandbox)
        acted = False
        for spec in pod.spec.initContainers or []:
            outcome, did = self._converge_one(pod, sandbox, spec, instances.get(spec.name, []), memo, requeue, is_init=True)
            acted |= did
            if outcome != "succeeded":
                return acted  # the next init container waits for this one
        for spec in pod.spec.containers:
            _, did = self._converge_one(pod, sandbox, spec, instances.get(spec.name, []), memo, requeue, is_init=False)
            acted |= did
        return acted

    def _converge_one(
        self,
        pod: Pod,
        sandbox: SandboxInfo,
        spec: Container,
        instances: list[ContainerInfo],
        memo: PodMemo,
        requeue: list[float],
        *,
        is_init: bool,
    ) -> tuple[str, bool]:
        """Returns (running|succeeded|failed|waiting, whether the runtime was acted on)."""
        uid = pod.metadata.uid or ""
        latest = instances[-1] if instances else None
        acted = False
        if latest is not None and latest.state == ContainerState.RUNNING:
            if is_init:
                return "running", False
            reported = next(
                (s for s in pod.status.containerStatuses or []
                 if s.name == spec.name and s.containerID == f"{self.scheme}://{latest.id}"),
                None,
            )  # fmt: skip
            self.probes.ensure(
                ProbeTarget(
                    pod_key=f"{pod.metadata.namespace}/{pod.metadata.name}",
                    pod_uid=uid,
                    pod_ip=sandbox.ip,
                    container=spec,
                    container_id=latest.id,
                    started_at=latest.started_at,
                    was_ready=bool(reported is not None and reported.ready),
                    was_started=bool(reported is not None and reported.started),
                )
            )
            probe = self.probes.state(spec, latest.id)
            if probe.failed is None:
                memo.waiting.pop(spec.name, None)
                return "running", False
            self._event(
                pod, "Normal", "Killing",
                f"Container {spec.name} failed {probe.failed.value.lower()} probe, will be restarted",
            )  # fmt: skip
            self.probes.forget_container(latest.id)
            self.runtime.stop_container(latest.id, float(pod.spec.terminationGracePeriodSeconds))
            acted = True
            try:
                latest = self.runtime.inspect_container(latest.id)
            except ContainerNotFound:
                latest = None
        if latest is not None:
            succeeded = latest.state == ContainerState.EXITED and latest.exit_code == 0
            policy = pod.spec.restartPolicy
            if is_init:
                restart = not succeeded and policy != "Never"
            else:
                restart = policy == "Always" or (policy == "OnFailure" and not succeeded)
            if not restart:
                memo.waiting.pop(spec.name, None)
                return ("succeeded" if succeeded else "failed"), acted
            key = f"{uid}/{spec.name}"
            finished = latest.finished_at or latest.started_at or latest.created_at
            since = None
            if finished is not None:
                since = self._monotonic() - max(0.0, (self._now() - finished).total_seconds())
            remaining = self.backoff.remaining(key, since)
            if remaining > 0:
                message = (
                    f"back-off {self.backoff.delay(key):g}s restarting failed container={spec.name} "
                    f"pod={pod.metadata.name}_{pod.metadata.namespace}({uid})"
                )
                if memo.waiting.get(spec.name, ("",))[0] != "CrashLoopBackOff":
                    self._event(pod, "Warning", "BackOff", "Back-off restarting failed container")
                memo.waiting[spec.name] = ("CrashLoopBackOff", message)
                requeue.append(remaining)
                return "waiting", acted
            attempt = latest.restart_count + 1
        else:
            attempt = memo.restart_base.get(spec.name, 0)
        started = self._start(pod, sandbox, spec, attempt, instances, memo, requeue, restarting=latest is not None)
        return ("running" if started else "waiting"), True if started else acted

    def _start(
        self,
        pod: Pod,
        sandbox: SandboxInfo,
        spec: Container,
        attempt: int,
        instances: list[ContainerInfo],
        memo: PodMemo,
        requeue: list[float],
        *,
        restarting: bool,
    ) -> bool:
        uid = pod.metadata.uid or ""
        name = spec.name
        pull_key = f"{uid}/{name}/pull"
        remaining = self.backoff.remaining(pull_key)
        if remaining > 0 and name in memo.pull_errors:
            memo.waiting[name] = ("ImagePullBackOff", f'Back-off pulling image "{spec.image}": {memo.pull_errors[name]}')
            requeue.append(remaining)
            return False
        try:
            self.runtime.ensure_image(spec.image, PullPolicy(spec.imagePullPolicy or "IfNotPresent"))
        except ImageNotPresent as exc:
            memo.waiting[name] = ("ErrImageNeverPull", str(exc))
            self._event(pod, "Warning", "ErrImageNeverPull", str(exc))
            requeue.append(self.settings.relist_s)
            return False
        except ImagePullError as exc:
            delay = self.backoff.next(pull_key)
            memo.pull_errors[name] = str(exc)
            memo.waiting[name] = ("ErrImagePull", str(exc))
            self._event(pod, "Warning", "Failed", f'Failed to pull image "{spec.image}": {exc}')
            requeue.append(delay)
            return False
        self.backoff.forget(pull_key)
        memo.pull_errors.pop(name, None)
        if restarting:
            self.backoff.next(f"{uid}/{name}")
        try:
            links = self.identity.service_env(pod) if self.identity is not None else None
            env = container_env(
                pod, spec, self.config_source, pod_ip=sandbox.ip, host_ip=self.settings.node_ip, base=links
            )
            mounts = self.volumes.mounts(pod, spec)  # a subPath leaving its volume is refused here
            if self.identity is not None:
                mounts += self.identity.mounts(pod, {m.container_path for m in mounts})
        except ContainerConfigError as exc:
            memo.waiting[name] = ("CreateContainerConfigError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            requeue.append(5.0)
            return False
        config = ContainerConfig(
            name=name,
            image=spec.image,
            restart_count=attempt,
            command=tuple(expand(part, env) for part in spec.command or []),
            args=tuple(expand(part, env) for part in spec.args or []),
            env=env,
            working_dir=spec.workingDir or "",
            mounts=mounts,
            resources=_resources(spec),
            share_pid=bool(pod.spec.shareProcessNamespace),
            labels={LABEL_NODE: self.settings.node_name},
        )
        try:
            container_id = self.runtime.create_container(sandbox.id, config)
        except ContainerCreateError as exc:
            memo.waiting[name] = ("CreateContainerError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            requeue.append(self.backoff.next(f"{uid}/{name}"))
            return False
        # Keep the instance before this one (for `logs --previous` and lastState); older ones go.
        for stale in instances[:-1]:
            self.runtime.remove_container(stale.id)
        try:
            self.runtime.start_container(container_id)
        except ContainerStartError as exc:
            memo.waiting[name] = ("RunContainerError", str(exc))
            self._event(pod, "Warning", "Failed", f"Error: {exc}")
            requeue.append(1.0)
            return False
        memo.waiting.pop(name, None)
        log.info("started container %s of pod %s/%s (attempt %d)", name, pod.metadata.namespace, pod.metadata.name, attempt)
        return True

    # ------------------------------------------------------------ status

    def _write_status(
        self, pod: Pod, sandbox: SandboxInfo | None, containers: list[ContainerInfo], memo: PodMemo
    ) -> None:
        instances = _instances(containers, sandbox) if sandbox is not None else {}

        def view(spec: Container) -> ContainerView:
            found = instances.get(spec.name, [])
            probe = None
            if found and found[-1].state == ContainerState.RUNNING:
                probe = self.probes.state(spec, found[-1].id)
            return ContainerView(spec=spec, instances=found, waiting=memo.waiting.get(spec.name), probe=probe)

        wanted = pod_status(
            pod,
            sandbox=sandbox if sandbox is not None and sandbox.state == ContainerState.RUNNING else None,
            init_views=[view(spec) for spec in pod.spec.initContainers or []],
            app_views=[view(spec) for spec in pod.spec.containers],
            host_ip=self.settings.node_ip,
            now=format_time(self._now().timestamp()),
            scheme=self.scheme,
        )
        if memo.last_status == wanted or same_status(pod.status.to_dict(), wanted):
            memo.last_status = wanted
            return
        self.client.patch(
            Pod, pod.metadata.name or "", {"status": wanted}, pod.metadata.namespace, subresource="status"
        )
        memo.last_status = wanted

    def _event(self, pod: Pod, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(pod, type_, reason, message)
        else:
            log.info("pod %s/%s: %s: %s", pod.metadata.namespace, pod.metadata.name, reason, message)


def _instances(containers: list[ContainerInfo], sandbox: SandboxInfo | None) -> dict[str, list[ContainerInfo]]:
    """A pod's containers in its current sandbox by spec name, oldest attempt first."""
    grouped: dict[str, list[ContainerInfo]] = defaultdict(list)
    for container in containers:
        if sandbox is None or container.sandbox_id == sandbox.id:
            grouped[container.name].append(container)
    for found in grouped.values():
        found.sort(key=lambda c: (c.restart_count, c.created_at or datetime.min.replace(tzinfo=UTC)))
    return grouped


def _resources(spec: Container) -> Resources:
    resources = spec.resources
    limits = (resources.limits if resources else None) or {}
    requests = (resources.requests if resources else None) or {}
    return Resources(
        cpu_limit_millicores=cpu_millicores(limits["cpu"]) if "cpu" in limits else None,
        cpu_request_millicores=cpu_millicores(requests["cpu"]) if "cpu" in requests else None,
        memory_limit_bytes=memory_bytes(limits["memory"]) if "memory" in limits else None,
    )


"""Hollow nodes: nodes that exist only as API objects, for tests and the scheduler benchmark.

A ``HollowCluster`` registers N nodes through the API (allocatable CPU, memory and
pods, Ready=True, and the taints it is given, as a kubelet's --register-with-taints),
keeps each one's Lease in ``kube-node-lease`` renewed and its Ready condition's
heartbeat posted, and plays the part of their agents for pods:
a pod bound to a live hollow node is reported Running and Ready with an IP from
the node's pod CIDR; a pod being deleted on it is deleted with grace 0 (the
containers "stopped"). No Docker, no network: this is kubemark's hollow kubelet.

A pod annotated ``kajitori.io/hollow-exit-code: "N"`` runs for
``kajitori.io/hollow-run-seconds`` (default 0.5) and then its containers exit with N:
the pod ends Succeeded (N = 0) or Failed with restartPolicy Never (also OnFailure with
0); otherwise its containers restart in place (restartCount + 1) and run again, as the
kubelet does. That is how Job tests make pods finish without Docker.

Tests control the heartbeats: ``silence(node)`` stops a node's Lease renewals,
status posts and pod handling (the machine is gone); ``revive(node)`` resumes them
and posts Ready=True at once, as a restarted agent does. One informer watches all
pods for all hollow nodes, so a thousand nodes cost one watch, not a thousand.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from kajitori.api.coordination import Lease, LeaseSpec
from kajitori.api.core import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStatus,
    Node,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    Pod,
    PodCondition,
    Taint,
)
from kajitori.api.meta import ObjectMeta
from kajitori.client import AlreadyExistsError, ApiClient, ApiError, NotFoundError
from kajitori.clock import format_time
from kajitori.informer import Informer, object_key
from kajitori.signal_wait import wait_until_set

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
EXIT_CODE_ANNOTATION = "kajitori.io/hollow-exit-code"
RUN_SECONDS_ANNOTATION = "kajitori.io/hollow-run-seconds"
EXIT_RETRIES = 600  # looks, 0.1 s apart, for the watch to show a pod Running before it may end


def micro_time() -> str:
    """RFC 3339 with microseconds, as a Lease's renewTime is written."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HollowCluster:
    def __init__(
        self,
        client: ApiClient,
        names: list[str],
        *,
        cpu: str = "4",
        memory: str = "8Gi",
        max_pods: int = 110,
        labels: dict[str, str] | None = None,
        taints: list[Taint] | None = None,
        lease_interval_s: float = 2.0,
        status_interval_s: float = 10.0,
        run_pods: bool = True,
        auto_ready: bool = True,
        writers: int = 8,
        own_pod_cidrs: bool = False,
    ) -> None:
        self.client = client
        self.names = list(names)
        self.cpu = cpu
        self.memory = memory
        self.max_pods = max_pods
        self.labels = labels or {}
        # As a kubelet's --register-with-taints: the node never exists without them.
        self.taints = taints
        self.lease_interval_s = lease_interval_s
        self.status_interval_s = status_interval_s
        self.run_pods = run_pods
        self.auto_ready = auto_ready
        # 10.244.0.0/16 holds 256 node /24s; a thousand hollow nodes bring their own from 100.64.0.0/10.
        self.own_pod_cidrs = own_pod_cidrs
        self._silenced: set[str] = set()
        self._cidrs: dict[str, ipaddress.IPv4Network] = {}
        self._next_ip: dict[str, int] = {}
        self._handled: dict[str, str] = {}  # pod key -> uid reported Running
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="hollow")
        self._threads: list[threading.Thread] = []
        self.pods: Informer[Pod] | None = None

    # -- nodes -------------------------------------------------------------------

    def node_body(self, name: str, *, cpu: str | None = None, memory: str | None = None) -> Node:
        now = format_time(datetime.now(UTC).timestamp())
        spec = NodeSpec(taints=[t.model_copy() for t in self.taints] if self.taints else None)
        if self.own_pod_cidrs:
            i = self.names.index(name)
            spec.podCIDR = f"100.{64 + i // 256}.{i % 256}.0/24"
            spec.podCIDRs = [spec.podCIDR]
        resources = {"cpu": cpu or self.cpu, "memory": memory or self.memory, "pods": str(self.max_pods)}
        return Node(
            metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name, "kajitori.io/hollow": "true", **self.labels}),
            spec=spec,
            status=NodeStatus(
                capacity=dict(resources),
                allocatable=dict(resources),
                conditions=[self._ready(now)],
                addresses=[NodeAddress(type="InternalIP", address="127.0.0.1"), NodeAddress(type="Hostname", address=name)],
            ),
        )

    @staticmethod
    def _ready(now: str, transition: str | None = None) -> NodeCondition:
        return NodeCondition(
            type="Ready",
            status="True",
            reason="KubeletReady",
            message="hollow node is posting ready status",
            lastHeartbeatTime=now,
            lastTransitionTime=transition or now,
        )

    def register(self, sizes: dict[str, tuple[str, str]] | None = None) -> None:
        """Create every node (``sizes``: name -> (cpu, memory) overrides) and its Lease."""
        sizes = sizes or {}

        def one(name: str) -> None:
            cpu, memory = sizes.get(name, (self.cpu, self.memory))
            try:
                node = self.client.create(self.node_body(name, cpu=cpu, memory=memory))
            except AlreadyExistsError:
                node = self.client.get(Node, name)
            if node.spec.podCIDR:
                with self._lock:
                    self._cidrs[name] = ipaddress.IPv4Network(node.spec.podCIDR)
            self._renew_lease(name)

        list(self._pool.map(one, self.names))

    def start(self) -> HollowCluster:
        """Heartbeats and pod handling in the background (after ``register``)."""
        t = threading.Thread(target=self._heartbeat_loop, name="hollow-heartbeats", daemon=True)
        t.start()
        self._threads.append(t)
        if self.run_pods:
            self.pods = Informer(self.client, Pod)
            self.pods.add_handlers(self._on_pod, lambda _o, n: self._on_pod(n))
            self.pods.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.pods is not None:
            self.pods.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def silence(self, name: str) -> None:
        """The node's machine is gone: no more Lease renewals, status posts or pod updates."""
        with self._lock:
            self._silenced.add(name)

    def revive(self, name: str) -> None:
        """The agent is back: renew the Lease and post Ready=True now."""
        with self._lock:
            self._silenced.discard(name)
        self._renew_lease(name)
        self._post_status(name)
        if self.pods is not None:
            for pod in self.pods.list():
                self._on_pod(pod)

    def alive(self, name: str) -> bool:
        with self._lock:
            return name in self.names and name not in self._silenced

    def _renew_lease(self, name: str) -> None:
        lease = Lease(
            metadata=ObjectMeta(name=name, namespace=LEASE_NAMESPACE),
            spec=LeaseSpec(holderIdentity=name, leaseDurationSeconds=40, renewTime=micro_time()),
        )
        try:
            self.client.patch(Lease, name, {"spec": {"renewTime": lease.spec.renewTime}}, LEASE_NAMESPACE)
        except NotFoundError:
            try:
                self.client.create(lease, LEASE_NAMESPACE)
            except AlreadyExistsError:
                pass

    def _post_status(self, name: str) -> None:
        now = format_time(datetime.now(UTC).timestamp())
        try:
            node = self.client.get(Node, name)
        except NotFoundError:
            return
        current = next((c for c in node.status.conditions or [] if c.type == "Ready"), None)
        transition = current.lastTransitionTime if current is not None and current.status == "True" else now
        conditions = [c.to_dict() for c in node.status.conditions or [] if c.type != "Ready"]
        conditions.insert(0, self._ready(now, transition).to_dict())
        self.client.patch(Node, name, {"status": {"conditions": conditions}}, subresource="status")

    def _heartbeat_loop(self) -> None:
        # Each node renews at its own phase of the interval, as a thousand kubelets started
        # at different times do: a steady trickle of writes, not one burst per interval.
        ticks_per_interval = max(1, min(len(self.names), int(self.lease_interval_s * 10)))
        tick_s = self.lease_interval_s / ticks_per_interval
        statuses_per_interval = max(1, round(self.status_interval_s / self.lease_interval_s))
        tick = 0
        next_at = time.monotonic() + tick_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += tick_s
            slot = tick % ticks_per_interval
            round_no = tick // ticks_per_interval
            tick += 1
            batch = [n for i, n in enumerate(self.names) if i % ticks_per_interval == slot and self.alive(n)]
            # A node posts its status once every ``statuses_per_interval`` renewals, also staggered.
            posts = {n for i, n in enumerate(batch) if (round_no + i) % statuses_per_interval == 0}

            def beat(name: str, posts: set[str] = posts) -> None:
                try:
                    self._renew_lease(name)
                    if name in posts:
                        self._post_status(name)
                except ApiError as exc:
                    log.debug("hollow %s heartbeat: %s", name, exc.message)

            for name in batch:
                try:
                    self._pool.submit(beat, name)
                except RuntimeError:
                    return  # shut down

    # -- pods ------------------------------------------------------------------------

    def _on_pod(self, pod: Pod) -> None:
        node = pod.spec.nodeName
        if not node or not self.alive(node):
            return
        if pod.metadata.deletionTimestamp is not None:
            self._submit(self._finish_deletion, pod)
            return
        key = object_key(pod)
        with self._lock:
            if self._handled.get(key) == pod.metadata.uid:
                return
            self._handled[key] = pod.metadata.uid or ""
        if pod.status.phase != "Running":
            self._submit(self._report_running, pod)

    def _submit(self, fn: object, pod: Pod) -> None:
        try:
            self._pool.submit(fn, pod)  # type: ignore[arg-type]
        except RuntimeError:
            pass  # shutting down

    def _pod_ip(self, node: str) -> str:
        with self._lock:
            cidr = self._cidrs.get(node)
            n = self._next_ip.get(node, 2)
            self._next_ip[node] = n + 1 if n < 250 else 2
        if cidr is None:
            return f"10.255.{hash(node) % 250}.{n}"
        return str(cidr.network_address + n)

    def _report_running(self, pod: Pod) -> None:
        now = format_time(datetime.now(UTC).timestamp())
        ready = "True" if self.auto_ready else "False"
        updated = pod.model_copy(deep=True)
        ip = self._pod_ip(pod.spec.nodeName or "")
        updated.status.phase = "Running"
        updated.status.podIP = ip
        updated.status.podIPs = None
        updated.status.hostIP = "127.0.0.1"
        updated.status.startTime = now
        updated.status.conditions = [
            PodCondition(type="PodScheduled", status="True", lastTransitionTime=now),
            PodCondition(type="Initialized", status="True", lastTransitionTime=now),
            PodCondition(type="ContainersReady", status=ready, lastTransitionTime=now),  # type: ignore[arg-type]
            PodCondition(type="Ready", status=ready, lastTransitionTime=now),  # type: ignore[arg-type]
        ]
        updated.status.containerStatuses = [
            ContainerStatus(
                name=c.name,
                image=c.image,
                ready=self.auto_ready,
                started=True,
                state=ContainerState(running=ContainerStateRunning(startedAt=now)),
            )
            for c in pod.spec.containers
        ]
        try:
            self.client.patch(Pod, pod.metadata.name or "", {"status": updated.status.to_dict()}, pod.metadata.namespace, subresource="status")
        except ApiError as exc:
            log.debug("hollow: reporting %s: %s", object_key(pod), exc.message)
            with self._lock:
                self._handled.pop(object_key(pod), None)
            return
        self._schedule_exit(pod)

    def _schedule_exit(self, pod: Pod) -> None:
        """A pod annotated with an exit code ends (or restarts) after its run time (module docstring)."""
        annotations = pod.metadata.annotations or {}
        if EXIT_CODE_ANNOTATION not in annotations:
            return
        run_s = float(annotations.get(RUN_SECONDS_ANNOTATION, "0.5"))
        timer = threading.Timer(run_s, self._submit, args=(self._exit_containers, pod))
        timer.daemon = True
        timer.start()

    def _exit_containers(self, pod: Pod, tries: int = 0) -> None:
        current = self.pods.get(object_key(pod)) if self.pods is not None else None
        if (
            current is None
            or current.metadata.uid != pod.metadata.uid
            or current.metadata.deletionTimestamp is not None
            or not self.alive(current.spec.nodeName or "")
            or self._stop.is_set()
        ):
            return
        if current.status.phase != "Running":
            # The watch has not yet brought back our own "Running" (a loaded machine): the pod
            # must still end, so look again shortly. Dropped, it ran forever and its Job never
            # completed (seen in bench/cronjob with 20 Jobs started at once).
            if tries < EXIT_RETRIES:
                timer = threading.Timer(0.1, self._submit_exit_retry, args=(pod, tries + 1))
                timer.daemon = True
                timer.start()
            return
        code = int((current.metadata.annotations or {})[EXIT_CODE_ANNOTATION])
        now = format_time(datetime.now(UTC).timestamp())
        policy = current.spec.restartPolicy
        ended = ContainerState(
            terminated=ContainerStateTerminated(
                exitCode=code, reason="Completed" if code == 0 else "Error", startedAt=current.status.startTime, finishedAt=now
            )
        )
        status = current.status.model_copy(deep=True)
        statuses = status.containerStatuses or []
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            for cs in statuses:
                cs.restartCount += 1
                cs.lastState = ended
                cs.state = ContainerState(running=ContainerStateRunning(startedAt=now))
        else:
            status.phase = "Succeeded" if code == 0 else "Failed"
            for cs in statuses:
                cs.state, cs.ready, cs.started = ended, False, False
            reason = "PodCompleted" if code == 0 else "PodFailed"
            status.conditions = [
                c if c.type not in ("Ready", "ContainersReady")
                else PodCondition(type=c.type, status="False", reason=reason, lastTransitionTime=now)
                for c in status.conditions or []
            ]
        try:
            self.client.patch(Pod, current.metadata.name or "", {"status": status.to_dict()}, current.metadata.namespace, subresource="status")
        except ApiError as exc:
            log.debug("hollow: ending %s: %s", object_key(current), exc.message)
            return
        if status.phase == "Running":
            self._schedule_exit(current)

    def _submit_exit_retry(self, pod: Pod, tries: int) -> None:
        try:
            self._pool.submit(self._exit_containers, pod, tries)
        except RuntimeError:
            pass  # shutting down

    def _finish_deletion(self, pod: Pod) -> None:
        try:
            self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace, grace_period_seconds=0, uid=pod.metadata.uid)
        except (NotFoundError, ApiError):
            pass
        with self._lock:
            self._handled.pop(object_key(pod), None)

    def set_ready(self, pod: Pod, ready: bool) -> None:
        """Flip a pod's readiness as its readiness probe would."""
        now = format_time(datetime.now(UTC).timestamp())
        status = "True" if ready else "False"
        conditions = [c.to_dict() for c in pod.status.conditions or [] if c.type not in ("Ready", "ContainersReady")]
        conditions += [
            {"type": "ContainersReady", "status": status, "lastTransitionTime": now},
            {"type": "Ready", "status": status, "lastTransitionTime": now},
        ]
        self.client.patch(Pod, pod.metadata.name or "", {"status": {"conditions": conditions}}, pod.metadata.namespace, subresource="status")


def main(argv: list[str] | None = None) -> None:
    """`python -m master.hollow_nodes`: a hollow cluster in its own process (kubemark's hollow kubelets).

    Registers the nodes, writes ``--ready-file`` (the registration time in seconds) once
    they all exist, then renews Leases until SIGTERM.
    """
    import argparse
    import signal
    from pathlib import Path

    from kajitori import config

    parser = argparse.ArgumentParser(prog="python -m master.hollow_nodes", description=main.__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--prefix", default="hollow")
    parser.add_argument("--cpu", default="4")
    parser.add_argument("--memory", default="32Gi")
    parser.add_argument("--max-pods", type=int, default=110)
    parser.add_argument("--lease-interval", type=float, default=10.0, help="Seconds between a node's Lease renewals (kubelet: 10).")
    parser.add_argument("--status-interval", type=float, default=60.0, help="Seconds between a node's status posts.")
    parser.add_argument("--run-pods", action="store_true", help="Report pods bound to the nodes Running.")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = ApiClient(config.load(args.kubeconfig), user_agent="kajitori-hollow-nodes", timeout=60.0)
    names = [f"{args.prefix}-{i:04d}" for i in range(args.nodes)]
    cluster = HollowCluster(client, names, cpu=args.cpu, memory=args.memory, max_pods=args.max_pods,
                            lease_interval_s=args.lease_interval, status_interval_s=args.status_interval,
                            run_pods=args.run_pods, writers=args.writers, own_pod_cidrs=args.nodes > 250)  # fmt: skip
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    started = time.monotonic()
    cluster.register()
    took = time.monotonic() - started
    log.info("%d hollow nodes registered in %.1fs", len(names), took)
    if args.ready_file:
        args.ready_file.write_text(f"{took:.3f}\n")
    cluster.start()
    wait_until_set(stopped)  # in slices: a SIGTERM given to another thread still runs its handler
    cluster.stop()
    client.close()


if __name__ == "__main__":
    main()

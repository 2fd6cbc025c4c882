"""The node agent put together: what `kajitori agent` runs.

Start order: check the runtime (and, for Docker, that the pause image is present), register
the Node (retrying until the master answers), make sure the pod network exists, start the
pod informer (fieldSelector spec.nodeName=<node>), the pod workers, the runtime event
loop, the housekeeping loop, the logs/exec server and the heartbeat loops. Nothing is
removed or restarted at start: pods already running are adopted by their labels once the
informer has synced. Stopping the agent (SIGTERM) stops only the agent; pods keep running.

Loops, each on its own thread:
  informer        list+watch of this node's pods; handlers wake the pod's worker
  pod workers     `PodSyncer.sync` per pod (see agent.pod_workers)
  runtime events  a container of a pod started/died → mark it in the runtime cache, wake that
                  pod; reconnects when broken. While it reads, pod syncs read what runs
                  from the cache (agent.runtime_cache) instead of listing and inspecting
  housekeeping    every relist period: wake every pod, remove containers of pods gone from here
  heartbeat       Lease every 2 s, Node conditions every 10 s (see agent.node_status)
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from agent.claims import ApiClaimSource, reclaim_released_volumes
from agent.client_certificate import Rotation
from agent.docker_streams import StreamRuntime
from agent.env import ApiConfigSource
from agent.explain import Explainer
from agent.metrics import AgentMetrics, CountingRuntime, running_pods
from agent.node_status import NodeStatusReporter, renew_node_lease
from agent.pod_identity import PodIdentity
from agent.pod_sync import LABEL_NODE, PodSyncer
from agent.pod_workers import PodWorkers
from agent.probes import ProbeManager, Prober
from agent.resource_stats import ResourceSampler
from agent.runtime import ContainerRuntime, ContainerState, ImageNotPresent, PodUID, PullPolicy
from agent.runtime_cache import CachedRuntime
from agent.server import AgentServer, TokenChecker
from agent.serving_cert import ensure_serving_cert
from agent.settings import AgentSettings
from agent.volumes import VolumeManager
from kajitori.api.core import Pod
from kajitori.api.registry import by_path
from kajitori.client import ApiClient, NotFoundError
from kajitori.events import EventRecorder
from kajitori.informer import Informer, object_key
from kajitori.signal_wait import wait_until_set
from kajitori.version import PAUSE_IMAGE

log = logging.getLogger(__name__)

SERVICES = by_path("", "v1", "services")
PLAIN_NETWORK_LABEL = ("io.kajitori.network", "plain")


class AgentError(Exception):
    """The agent cannot start; the message says what to do."""


def make_runtime(settings: AgentSettings) -> ContainerRuntime:
    if settings.runtime == "fake":
        from agent.fake_runtime import FakeRuntime

        return FakeRuntime(
            cpus=settings.capacity_cpu or 4,
            memory_bytes=settings.capacity_memory_bytes or 16 * 1024**3,
            images=[PAUSE_IMAGE],
        )
    if settings.runtime == "docker":
        from agent.docker_runtime import DockerRuntime

        return DockerRuntime(max_concurrent_starts=settings.max_concurrent_starts)
    raise AgentError(f"unknown runtime {settings.runtime!r} (docker or fake)")


def resource_sampler(runtime: ContainerRuntime, node_name: str) -> ResourceSampler:
    """The sampler behind /metrics/resource: Docker's container stats, or no containers for the fake runtime."""
    from agent.docker_runtime import DockerRuntime

    if isinstance(runtime, DockerRuntime):
        from agent.docker_stats import DockerStats

        return ResourceSampler(DockerStats(runtime.docker_api, (LABEL_NODE, node_name)).read)
    return ResourceSampler(list)


def streaming_of(runtime: ContainerRuntime) -> StreamRuntime | None:
    """The interactive-stream side of a runtime, where it has one (Docker's; the fake has none)."""
    from agent.docker_runtime import DockerRuntime

    return runtime.streaming() if isinstance(runtime, DockerRuntime) else None


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        *,
        runtime: ContainerRuntime | None = None,
        client: ApiClient | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or ApiClient.from_kubeconfig(settings.kubeconfig)
        # The heartbeat comes before the runtime (a Docker client), the informer and the rest:
        # a restarted agent on a busy machine must renew within the master's grace period.
        self._renew_lease_early()
        # Pod syncs read what runs from the cache (kept right by the runtime-events loop below)
        # instead of listing and inspecting on every sync.
        self.metrics = AgentMetrics()
        self._inner_runtime = runtime or make_runtime(settings)
        # Runtime errors are counted under the cache, where the calls reach the runtime.
        self.runtime = CachedRuntime(cast(ContainerRuntime, CountingRuntime(self._inner_runtime, self.metrics)))
        self.metrics.running_pods = lambda: running_pods(self.runtime)
        self._stop = threading.Event()
        self.node = NodeStatusReporter(self.client, self.runtime, settings)
        self.informer: Informer[Pod] = Informer(
            self.client, Pod, field_selector=f"spec.nodeName={settings.node_name}"
        )
        config_source = ApiConfigSource(self.client)
        self.volumes = VolumeManager(settings.pods_root, config_source, ApiClaimSource(self.client))
        self.recorder = EventRecorder(self.client, "kubelet", host=settings.node_name)
        self.probes = ProbeManager(Prober(self.runtime, network=settings.probe_network), self._wake_key)
        self.syncer = PodSyncer(
            runtime=self.runtime,
            client=self.client,
            settings=settings,
            volumes=self.volumes,
            probes=self.probes,
            config_source=config_source,
            recorder=self.recorder,
            identity=PodIdentity(self.client, self.volumes.volume_dir, self.client.config.ca_pem or b""),
            container_id_scheme="fake" if settings.runtime == "fake" else "docker",
        )
        self.workers = PodWorkers(self.syncer, self.informer, workers=settings.pod_workers, observe=self._observe_sync)
        self.server: AgentServer | None = None
        self.resources = resource_sampler(self._inner_runtime, settings.node_name)
        self.rotation: Rotation | None = None
        self._housekeeping_now = threading.Event()
        self._event_stream: Any = None

    def _on_pod_delete(self, pod: Pod) -> None:
        self.metrics.forget(pod.metadata.uid or "")
        self._housekeeping_now.set()

    def _observe_sync(self, pod: Pod, seconds: float) -> None:
        uid = pod.metadata.uid or ""
        running = sum(1 for c in self.runtime.list_containers(PodUID(uid)) if c.state == ContainerState.RUNNING)
        self.metrics.synced(uid, seconds, started=running >= len(pod.spec.containers))

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        # Renew the heartbeat before anything slow: a restarted agent (an upgrade, a busy
        # machine) must not look like a dead node and have its running pods evicted.
        self._renew_lease_once("starting")
        self._check_runtime()
        serving = ensure_serving_cert(self.settings.cert_dir, self.settings.node_name, self.settings.node_ip)
        node = self.node.register(serving_cert=serving.pem)
        log.info(
            "node %s registered (InternalIP %s, podCIDR %s, runtime %s)",
            self.settings.node_name, self.settings.node_ip, node.spec.podCIDR, self.settings.runtime,
        )  # fmt: skip
        self._ensure_network()
        self.informer.add_handlers(
            on_add=lambda pod: self._wake_key(object_key(pod)),
            on_update=lambda old, new: self._wake_key(object_key(new)),
            on_delete=self._on_pod_delete,
        )
        self.informer.start()
        # Callers' tokens are checked as theirs: over TLS that trusts the cluster CA but presents
        # no client certificate, or the master would take the node's certificate as the caller and
        # any token (even a made-up one) would pass wherever the node itself may look.
        anonymous = dataclasses.replace(self.client.config, client_cert_pem=None, client_key_pem=None)
        # A caller with a client certificate is reviewed by the master with a SubjectAccessReview the
        # node asks as itself. The agent's own kubeconfig token is no pass: it is checked like any other.
        tokens = TokenChecker(None, self.client.config.server, verify=anonymous.ssl_context(), review=self._review)
        self.server = AgentServer(
            self.runtime,
            self._pod_uid,
            tokens,
            host=self.settings.node_ip,
            port=self.settings.port,
            node_name=self.settings.node_name,
            node_label=LABEL_NODE,
            tls=serving,
            client_ca=self.client.config.ca_pem,
            streams=streaming_of(self._inner_runtime),
            metrics=self.metrics,
            explainer=self._explainer(),
            resources=self.resources,
        )
        self.resources.start()
        self.server.start()
        # A node on its own certificate renews it before it expires (a token kubeconfig has none).
        self.rotation = Rotation(self.client, Path(self.settings.kubeconfig), self.settings.node_name)
        self.rotation.start()
        self.node.start()
        self.workers.start()
        for target, name in ((self._runtime_events, "runtime-events"), (self._housekeeping, "housekeeping")):
            threading.Thread(target=target, name=name, daemon=True).start()
        log.info("agent of node %s serving logs/exec on %s:%d", self.settings.node_name, self.settings.node_ip, self.server.port)

    def _review(self, review: dict[str, Any]) -> dict[str, Any]:
        """A SubjectAccessReview asked of the master as this node (the Node role may create them)."""
        answer: dict[str, Any] = self.client.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
        return answer

    def _explainer(self) -> Explainer:
        """The read-only explain answers of this node (agent.explain): kernel state through net/'s readers."""
        from agent.docker_runtime import DockerRuntime
        from net.iptables_counters import ChainReader
        from net.link_view import pod_link, pod_routes

        inner = self._inner_runtime
        return Explainer(
            node_name=self.settings.node_name,
            runtime=self.runtime,
            pod_uid=self._pod_uid,
            service=self._service,
            chains=ChainReader(),
            inspector=inner if isinstance(inner, DockerRuntime) else None,
            routes=pod_routes,
            link=pod_link,
            pod_cidr=lambda: self.node.pod_cidr,
        )

    def _service(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.get_raw(SERVICES, name, namespace)
        except NotFoundError:
            return None

    def stop(self) -> None:
        self._stop.set()
        self._housekeeping_now.set()
        self.node.stop()
        if self.rotation is not None:
            self.rotation.stop()
        # A last renewal gives a restart the whole grace period; a node that does not come
        # back goes NotReady at most one renewal period later than it would have anyway.
        self._renew_lease_once("stopping")
        self.informer.stop()
        self.workers.stop()
        self.probes.stop()
        if self._event_stream is not None:
            self._event_stream.close()
        self.resources.stop()
        if self.server is not None:
            self.server.stop()

    def _renew_lease_once(self, why: str) -> None:
        try:
            self.node.renew_lease()
        except Exception as exc:  # the master may be down; the heartbeat loop retries
            log.info("lease not renewed while %s: %s", why, exc)

    def _renew_lease_early(self) -> None:
        try:
            renew_node_lease(
                self.client, self.settings.node_name,
                duration_s=self.settings.heartbeat.lease_duration_s, now=datetime.now(UTC),
            )  # fmt: skip
        except Exception as exc:  # the master may be down; start() and the heartbeat loop retry
            log.info("lease not renewed while constructing the agent: %s", exc)

    def run_forever(self) -> None:
        self.start()
        # In slices: a SIGTERM the kernel gave to another thread must still run its handler here.
        wait_until_set(self._stop)

    # ------------------------------------------------------------ start-up checks

    def _check_runtime(self) -> None:
        try:
            self.runtime.info()
        except Exception as exc:
            raise AgentError(f"the container runtime ({self.settings.runtime}) cannot be reached: {exc}") from exc
        if self.settings.runtime != "docker":
            return
        try:
            self.runtime.ensure_image(PAUSE_IMAGE, PullPolicy.NEVER)
        except ImageNotPresent:
            raise AgentError(
                f"the pause image {PAUSE_IMAGE} is missing on this node: build it with `make images` "
                "(or `.venv/bin/python images/build.py pause`)"
            ) from None

    def _ensure_network(self) -> None:
        if self.settings.runtime != "docker":
            return
        import docker

        from net.pod_network import POD_NETWORK_NAME, PodNetworkRules, ensure_pod_network

        client = docker.DockerClient(version="1.41")
        try:
            if self.settings.network == POD_NETWORK_NAME:
                pod_cidr = self.node.pod_cidr
                if not pod_cidr:
                    raise AgentError(f"node {self.settings.node_name} has no spec.podCIDR: the master assigns one at registration")
                ensure_pod_network(client, pod_cidr)
                try:
                    PodNetworkRules(pod_cidr).ensure()
                except Exception as exc:  # iptables may be absent on a test host; pods still start
                    log.warning("could not write the pod forwarding rules: %s", exc)
                return
            # Another network name: a plain bridge of Docker's choosing (tests, hand-made setups).
            if not client.networks.list(names=[self.settings.network]):
                key, value = PLAIN_NETWORK_LABEL
                client.networks.create(self.settings.network, driver="bridge", labels={key: value}, check_duplicate=True)
                log.info("created plain bridge network %s", self.settings.network)
        finally:
            client.close()

    # ------------------------------------------------------------ loops

    def _wake_key(self, key: str) -> None:
        self.workers.wake(key)

    def _pod_uid(self, namespace: str, name: str) -> str | None:
        pod = self.informer.get(f"{namespace}/{name}")
        return pod.metadata.uid if pod is not None else None

    def _runtime_events(self) -> None:
        while not self._stop.is_set():
            try:
                self._event_stream = self.runtime.events()
                for event in self._event_stream:
                    if self._stop.is_set():
                        return
                    if event.pod_uid:
                        self.workers.wake_uid(event.pod_uid)
            except Exception as exc:
                log.warning("runtime event stream broke: %s; reconnecting", exc)
            self._stop.wait(1.0)

    def _housekeeping(self) -> None:
        if not self.informer.wait_synced(None):
            return
        while not self._stop.is_set():
            try:
                removed = self.syncer.remove_orphans(self._live_uids)
                if removed:
                    log.info("removed %d containers of pods no longer bound to this node", removed)
                reclaim_released_volumes(self.client, self.settings.node_name, self.settings.volumes_root)
            except Exception as exc:
                log.warning("housekeeping failed: %s", exc)
            self.workers.wake_all()
            self._housekeeping_now.wait(self.settings.relist_s)
            self._housekeeping_now.clear()

    def _live_uids(self) -> set[str]:
        return {pod.metadata.uid or "" for pod in self.informer.list()}

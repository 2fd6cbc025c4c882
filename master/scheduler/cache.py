"""The scheduler's view of the cluster: per node, what it offers and what its pods take.

``PodFacts`` is what scheduling needs from a pod, computed once (requests in
millicores and bytes, host ports, tolerations, selectors, owner). ``NodeInfo`` holds
a node's allocatable resources and the running sum of the requests of the pods
bound (or assumed bound) to it. ``SchedulerCache`` keeps both current from the
informers and lets the scheduler *assume* a pod on a node the moment it decides,
before the binding is written, so the next pod already sees the resources taken;
the binding's watch event confirms it, a failed binding ``forget``s it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from kajitori.api.core import Node, NodeSelectorTerm, Pod, PreferredSchedulingTerm, Taint, Toleration
from kajitori.api.quantity import cpu_millicores, memory_bytes, parse_quantity
from kajitori.informer import object_key
from master.scheduler.volumes import PodVolumes

# Kubernetes scores a pod without requests as if it asked for this much (non-zero defaults).
DEFAULT_CPU_M = 100
DEFAULT_MEMORY_B = 200 * 1024 * 1024
DEFAULT_MAX_PODS = 110

HostPort = tuple[str, str, int]  # (hostIP, protocol, port)


@dataclass(frozen=True)
class PodFacts:
    key: str
    cpu_m: int
    memory_b: int
    nonzero_cpu_m: int
    nonzero_memory_b: int
    host_ports: tuple[HostPort, ...]
    tolerations: tuple[Toleration, ...]
    node_selector: dict[str, str]
    required_terms: tuple[NodeSelectorTerm, ...]
    preferred_terms: tuple[PreferredSchedulingTerm, ...]
    owner_uid: str | None
    volumes: PodVolumes | None = None
    """What the pod's claims ask of a node (master/scheduler/volumes.py), set by the scheduling cycle."""

    @classmethod
    def of(cls, pod: Pod) -> PodFacts:
        cpu = memory = 0
        nonzero_cpu = nonzero_memory = 0
        ports: list[HostPort] = []
        for container in pod.spec.containers:
            requests = (container.resources.requests if container.resources else None) or {}
            limits = (container.resources.limits if container.resources else None) or {}
            # As in Kubernetes, a limit without a request is the request.
            c = cpu_millicores(requests.get("cpu", limits.get("cpu", 0)))
            m = memory_bytes(requests.get("memory", limits.get("memory", 0)))
            cpu += c
            memory += m
            nonzero_cpu += c or DEFAULT_CPU_M
            nonzero_memory += m or DEFAULT_MEMORY_B
            for port in container.ports or []:
                if port.hostPort:
                    ports.append((port.hostIP or "0.0.0.0", port.protocol, port.hostPort))
        for container in pod.spec.initContainers or []:
            # Init containers run one at a time, before the others: the largest one counts.
            requests = (container.resources.requests if container.resources else None) or {}
            cpu = max(cpu, cpu_millicores(requests.get("cpu", 0)))
            memory = max(memory, memory_bytes(requests.get("memory", 0)))
        affinity = pod.spec.affinity.nodeAffinity if pod.spec.affinity else None
        required = affinity.requiredDuringSchedulingIgnoredDuringExecution if affinity else None
        preferred = affinity.preferredDuringSchedulingIgnoredDuringExecution if affinity else None
        owner = next((r.uid for r in pod.metadata.ownerReferences or [] if r.controller), None)
        return cls(
            key=object_key(pod),
            cpu_m=cpu,
            memory_b=memory,
            nonzero_cpu_m=nonzero_cpu,
            nonzero_memory_b=nonzero_memory,
            host_ports=tuple(ports),
            tolerations=tuple(pod.spec.tolerations or ()),
            node_selector=dict(pod.spec.nodeSelector or {}),
            required_terms=tuple(required.nodeSelectorTerms) if required else (),
            preferred_terms=tuple(preferred or ()),
            owner_uid=owner,
        )


@dataclass
class NodeInfo:
    name: str
    labels: dict[str, str]
    ready: bool
    unschedulable: bool
    taints: tuple[Taint, ...]
    allocatable_cpu_m: int
    allocatable_memory_b: int
    allocatable_pods: int
    requested_cpu_m: int = 0
    requested_memory_b: int = 0
    nonzero_cpu_m: int = 0
    nonzero_memory_b: int = 0
    pod_count: int = 0
    host_ports: set[HostPort] = field(default_factory=set)
    owner_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Node) -> NodeInfo:
        alloc = node.status.allocatable or node.status.capacity or {}
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        name = node.metadata.name or ""
        labels = dict(node.metadata.labels or {})
        labels.setdefault("kubernetes.io/hostname", name)
        return cls(
            name=name,
            labels=labels,
            ready=ready,
            unschedulable=bool(node.spec.unschedulable),
            taints=tuple(t for t in node.spec.taints or ()),
            allocatable_cpu_m=cpu_millicores(alloc.get("cpu", 0)),
            allocatable_memory_b=memory_bytes(alloc.get("memory", 0)),
            allocatable_pods=int(parse_quantity(alloc.get("pods", DEFAULT_MAX_PODS))),
        )

    def add(self, facts: PodFacts, sign: int = 1) -> None:
        self.requested_cpu_m += sign * facts.cpu_m
        self.requested_memory_b += sign * facts.memory_b
        self.nonzero_cpu_m += sign * facts.nonzero_cpu_m
        self.nonzero_memory_b += sign * facts.nonzero_memory_b
        self.pod_count += sign
        for port in facts.host_ports:
            if sign > 0:
                self.host_ports.add(port)
            else:
                self.host_ports.discard(port)
        if facts.owner_uid:
            count = self.owner_counts.get(facts.owner_uid, 0) + sign
            if count > 0:
                self.owner_counts[facts.owner_uid] = count
            else:
                self.owner_counts.pop(facts.owner_uid, None)


class SchedulerCache:
    """Nodes and the pods placed on them; every method takes the one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.nodes: dict[str, NodeInfo] = {}
        self._placed: dict[str, tuple[str, PodFacts]] = {}  # pod key -> (node, facts)
        self._assumed: set[str] = set()

    def set_node(self, node: Node) -> None:
        with self.lock:
            info = NodeInfo.of(node)
            old = self.nodes.get(info.name)
            if old is not None:
                # Keep what the pods take; only the node's own facts changed.
                for attr in ("requested_cpu_m", "requested_memory_b", "nonzero_cpu_m", "nonzero_memory_b", "pod_count", "host_ports", "owner_counts"):
                    setattr(info, attr, getattr(old, attr))
            else:
                for _key, (node_name, facts) in self._placed.items():
                    if node_name == info.name:
                        info.add(facts)
            self.nodes[info.name] = info

    def remove_node(self, name: str) -> None:
        with self.lock:
            self.nodes.pop(name, None)

    def place(self, facts: PodFacts, node_name: str, *, assumed: bool = False) -> None:
        """Count a pod on a node (idempotent; moves it if it was counted elsewhere)."""
        with self.lock:
            current = self._placed.get(facts.key)
            if current is not None:
                if current[0] == node_name:
                    if not assumed:
                        self._assumed.discard(facts.key)
                    return
                self.unplace(facts.key)
            self._placed[facts.key] = (node_name, facts)
            if assumed:
                self._assumed.add(facts.key)
            info = self.nodes.get(node_name)
            if info is not None:
                info.add(facts)

    def unplace(self, key: str) -> bool:
        with self.lock:
            current = self._placed.pop(key, None)
            self._assumed.discard(key)
            if current is None:
                return False
            info = self.nodes.get(current[0])
            if info is not None:
                info.add(current[1], -1)
            return True

    def forget_assumed(self, key: str) -> None:
        with self.lock:
            if key in self._assumed:
                self.unplace(key)

    def is_placed(self, key: str) -> bool:
        with self.lock:
            return key in self._placed

    def node_list(self) -> list[NodeInfo]:
        with self.lock:
            return list(self.nodes.values())

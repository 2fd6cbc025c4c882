"""The node lifecycle controller: heartbeats in, NotReady, taints and evictions out.

A node's heartbeat is the newest of its Lease's ``renewTime`` (namespace
``kube-node-lease``, renewed by the agent every ~2 s) and its Ready condition's
``lastHeartbeatTime`` (posted every ~10 s). Like Kubernetes, the controller does not
trust the agent's clock: it remembers, on its own monotonic clock, when it last saw
that heartbeat *change*, so a node whose clock is off is judged fairly.

reconcile(node name), per node:

- heartbeat changed less than ``node_monitor_grace_s`` ago: nothing; look again when
  the grace would run out. A node whose agent reports Ready=True loses the
  ``unreachable``/``not-ready`` taints. (Setting Ready=True is the agent's job.)
- silent for longer: Ready becomes ``Unknown`` (reason NodeStatusUnknown), an Event
  NodeNotReady, the pods' Ready conditions become False (so Endpoints drop them), and
  the taint ``node.kubernetes.io/unreachable`` is added with effects NoSchedule and
  NoExecute.
- tainted NoExecute: each pod that does not tolerate the taint forever is deleted
  with grace 0 (its agent is gone and cannot confirm) once its toleration
  (``tolerationSeconds``, default ``pod_eviction_timeout_s``) has passed since the
  taint was added, so its owner recreates it on a healthy node.
- no node Ready at all (full disruption, as Kubernetes calls a zone whose every node
  is unhealthy): no eviction, and the toleration clocks start again when a node is
  Ready. Every node falling silent at once says the master lost them (its own
  restart, its network, agents restarted together), not that they died; evicting
  then would only delete every pod with nowhere to run them.

Defaults (grace 6 s, eviction 2 s) put replacement pods within 10 s of the last
heartbeat in the lab; Kubernetes' conservative defaults are 40 s and 300 s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kajitori.api.coordination import Lease
from kajitori.api.core import Node, NodeCondition, Pod, PodCondition, Taint
from kajitori.client import ConflictError, NotFoundError
from kajitori.clock import parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."


@dataclass
class _Health:
    heartbeat: float  # the newest heartbeat timestamp the node reported (its clock)
    observed_at: float  # our monotonic time when that value last changed
    tainted_at: float | None = None  # our monotonic time when we saw the NoExecute taint first


def ready_condition(node: Node) -> NodeCondition | None:
    return next((c for c in node.status.conditions or [] if c.type == "Ready"), None)


def _is_ready(node: Node) -> bool:
    cond = ready_condition(node)
    return cond is not None and cond.status == "True"


def reported_heartbeat(node: Node, lease: Lease | None) -> float:
    cond = ready_condition(node)
    times = [
        parse_time(lease.spec.renewTime) if lease is not None else None,
        parse_time(cond.lastHeartbeatTime) if cond is not None else None,
        parse_time(node.metadata.creationTimestamp),
    ]
    return max((t for t in times if t is not None), default=0.0)


def tolerates_forever(pod: Pod, taint_key: str) -> bool:
    return any(_matches(t, taint_key) and t.tolerationSeconds is None for t in pod.spec.tolerations or [])


def toleration_seconds(pod: Pod, taint_key: str, default: float) -> float:
    for t in pod.spec.tolerations or []:
        if _matches(t, taint_key) and t.tolerationSeconds is not None:
            return max(0.0, float(t.tolerationSeconds))
    return default


def _matches(toleration: object, taint_key: str) -> bool:
    key = getattr(toleration, "key", None)
    effect = getattr(toleration, "effect", None)
    operator = getattr(toleration, "operator", "Equal")
    if effect not in (None, "", "NoExecute"):
        return False
    if key in (None, ""):
        return operator == "Exists"
    return bool(key == taint_key)


class NodeLifecycleController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.settings = ctx.settings
        self.nodes = ctx.informers.informer(Node)
        self.leases = ctx.informers.informer(Lease)
        self.pods = ctx.informers.informer(Pod)
        self.controller = Controller(
            "node-lifecycle", self.reconcile, informers=[self.nodes, self.leases, self.pods], workers=workers
        )
        self._health: dict[str, _Health] = {}
        self.nodes.add_handlers(self._on_node, lambda _o, n: self._on_node(n), self._on_node_delete)
        self.leases.add_handlers(self._on_lease, lambda _o, n: self._on_lease(n))

    def _on_node(self, node: Node) -> None:
        self.controller.enqueue(node.metadata.name or "")

    def _on_node_delete(self, node: Node) -> None:
        self._health.pop(node.metadata.name or "", None)

    def _on_lease(self, lease: Lease) -> None:
        if lease.metadata.namespace == LEASE_NAMESPACE and self.nodes.get(lease.metadata.name or "") is not None:
            self.controller.enqueue(lease.metadata.name or "")

    # -- reconcile -----------------------------------------------------------------

    def reconcile(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            self._health.pop(name, None)
            return
        now = self.ctx.clock.monotonic()
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        beat = reported_heartbeat(node, lease)
        health = self._health.get(name)
        if health is None or beat > health.heartbeat:
            health = _Health(beat, now, health.tainted_at if health else None)
            self._health[name] = health
        silent_for = now - health.observed_at
        grace = self.settings.node_monitor_grace_s
        cond = ready_condition(node)
        if silent_for > grace:
            if cond is None or cond.status != "Unknown":
                self._mark_unknown(node, cond)
                return  # the status write comes back as an event: taint then
            self._ensure_taints(node, [UNREACHABLE])
            self._evict(node, health)
            return
        # Heartbeating: the taints follow what the agent reports.
        if cond is not None and cond.status == "True":
            health.tainted_at = None
            self._ensure_taints(node, [])
        elif cond is not None and cond.status == "False":
            self._ensure_taints(node, [NOT_READY])
            self._evict(node, health)
        raise Requeue(grace - silent_for + 0.2)

    def _mark_unknown(self, node: Node, cond: NodeCondition | None) -> None:
        stamp = self.ctx.clock.rfc3339()
        updated = node.model_copy(deep=True)
        conditions = [c for c in updated.status.conditions or [] if c.type != "Ready"]
        for c in conditions:
            # Every condition the agent posts is unknown once the agent is silent.
            if c.status != "Unknown":
                c.status = "Unknown"
                c.reason = UNKNOWN_REASON
                c.message = UNKNOWN_MESSAGE
                c.lastTransitionTime = stamp
        conditions.insert(
            0,
            NodeCondition(
                type="Ready",
                status="Unknown",
                reason=UNKNOWN_REASON,
                message=UNKNOWN_MESSAGE,
                lastHeartbeatTime=cond.lastHeartbeatTime if cond else None,
                lastTransitionTime=stamp,
            ),
        )
        updated.status.conditions = conditions
        self.client.update_status(updated)
        self.ctx.recorder.normal(node, "NodeNotReady", f"Node {node.metadata.name} status is now: NodeNotReady")
        for pod in self.pods.by_index("node", node.metadata.name or ""):
            self._mark_pod_not_ready(pod)

    def _mark_pod_not_ready(self, pod: Pod) -> None:
        conditions = list(pod.status.conditions or [])
        ready = next((c for c in conditions if c.type == "Ready"), None)
        if ready is not None and ready.status == "False":
            return
        updated = pod.model_copy(deep=True)
        stamp = self.ctx.clock.rfc3339()
        new = [c for c in updated.status.conditions or [] if c.type != "Ready"]
        new.append(PodCondition(type="Ready", status="False", lastTransitionTime=stamp, reason="NodeNotReady"))
        updated.status.conditions = new
        try:
            self.client.update_status(updated)
            self.ctx.recorder.warning(pod, "NodeNotReady", "Node is not ready")
        except (NotFoundError, ConflictError):
            pass  # gone, or changed: the eviction below still applies

    def _ensure_taints(self, node: Node, keys: list[str]) -> None:
        """Exactly the lifecycle taints named in ``keys`` (both effects), other taints untouched."""
        ours = {UNREACHABLE, NOT_READY}
        current = node.spec.taints or []
        kept = [t for t in current if t.key not in ours or t.key in keys]
        have = {(t.key, t.effect) for t in kept}
        stamp = self.ctx.clock.rfc3339()
        added = [
            Taint(key=key, effect=effect, timeAdded=stamp if effect == "NoExecute" else None)  # type: ignore[arg-type]
            for key in keys
            for effect in ("NoSchedule", "NoExecute")
            if (key, effect) not in have
        ]
        if not added and len(kept) == len(current):
            return
        updated = node.model_copy(deep=True)
        updated.spec.taints = [*kept, *added] or None
        self.client.update(updated)

    def _evict(self, node: Node, health: _Health) -> None:
        taints = [t for t in node.spec.taints or [] if t.effect == "NoExecute" and t.key in (UNREACHABLE, NOT_READY)]
        if not taints:
            return  # the taint write is on its way; this node is enqueued again when it lands
        now = self.ctx.clock.monotonic()
        if not any(_is_ready(n) for n in self.nodes.list()):
            health.tainted_at = None
            raise Requeue(self.settings.node_monitor_grace_s)
        if health.tainted_at is None:
            health.tainted_at = now
        waits = []
        for pod in self.pods.by_index("node", node.metadata.name or ""):
            if pod.status.phase in ("Succeeded", "Failed"):
                continue
            key = taints[0].key
            if tolerates_forever(pod, key):
                continue
            due = health.tainted_at + toleration_seconds(pod, key, self.settings.pod_eviction_timeout_s)
            if now < due:
                waits.append(due - now)
                continue
            try:
                self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace, grace_period_seconds=0)
            except NotFoundError:
                continue
            self.ctx.recorder.normal(pod, "TaintManagerEviction", f"Marking for deletion Pod {object_key(pod)}")
        if waits:
            raise Requeue(min(waits) + 0.05)

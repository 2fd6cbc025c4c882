"""The scheduler: pending pods in, Bindings out.

One loop thread runs the scheduling cycle, one pod at a time (as kube-scheduler):

1. pop the next key from the ``SchedulingQueue``; read the pod from the shared pod
   cache (skip it if it is gone, bound or being deleted);
2. filter the nodes (``filters.FILTERS``), starting where the last cycle stopped and
   stopping once enough feasible nodes are found (Kubernetes'
   percentageOfNodesToScore: all nodes below 100, about 42 % of 1,000);
3. score the feasible ones (``scores.SCORES``) and take the best, ties at random;
4. *assume* the pod on that node in the ``SchedulerCache`` and hand the Binding to a
   small pool of writer threads, so the next cycle starts at once. A failed binding
   forgets the assumption and backs the pod off.

A pod that fits nowhere gets ``PodScheduled=False`` (reason Unschedulable, the
message in Kubernetes' words) and a FailedScheduling Event, and waits in the
queue's unschedulable set until a node is added or changes, or a pod goes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import prometheus_client

from kajitori.api.core import Node, Pod, PodCondition
from kajitori.client import ApiClient, ApiError, ConflictError, NotFoundError
from kajitori.informer import object_key, split_key
from kajitori.metrics import COMPONENTS
from master.controllers.context import LoopContext
from master.scheduler.binder import HttpBinder
from master.scheduler.cache import NodeInfo, PodFacts, SchedulerCache
from master.scheduler.filters import failure_reasons, unschedulable_message
from master.scheduler.queue import SchedulingQueue
from master.scheduler.scores import score_nodes

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
MIN_FEASIBLE_NODES = 100
STATS_EVERY_S = 5.0
# kube-scheduler's names: one attempt per cycle, by result, and how long the cycle took (the binding is written after).
SCHEDULE_ATTEMPTS = prometheus_client.Counter(
    "scheduler_schedule_attempts", "Number of attempts to schedule pods, by the result.", ["profile", "result"], registry=COMPONENTS
)
ATTEMPT_SECONDS = prometheus_client.Histogram(
    "scheduler_scheduling_attempt_duration_seconds",
    "Scheduling attempt latency in seconds (scheduling algorithm + binding submitted).",
    ["profile", "result"],
    buckets=[0.001 * 2**i for i in range(15)],
    registry=COMPONENTS,
)


def feasible_nodes_to_find(total: int, percentage: int = 0) -> int:
    """How many feasible nodes are enough (Kubernetes' numFeasibleNodesToFind, adaptive when 0)."""
    if total < MIN_FEASIBLE_NODES:
        return total
    if percentage <= 0:
        percentage = max(5, 50 - total // 125)
    return max(MIN_FEASIBLE_NODES, total * percentage // 100)


def wants_scheduling(pod: Pod) -> bool:
    return (
        not pod.spec.nodeName
        and pod.metadata.deletionTimestamp is None
        and pod.spec.schedulerName == SCHEDULER_NAME
        and pod.status.phase not in ("Succeeded", "Failed")
    )


def holds_resources(pod: Pod) -> bool:
    return bool(pod.spec.nodeName) and pod.status.phase not in ("Succeeded", "Failed")


class Scheduler:
    def __init__(self, ctx: LoopContext, *, bind_workers: int = 16, percentage_of_nodes_to_score: int = 0) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.pods = ctx.informers.informer(Pod)
        self.nodes = ctx.informers.informer(Node)
        self.queue = SchedulingQueue()
        self.cache = SchedulerCache()
        self.percentage = percentage_of_nodes_to_score
        self._next_start = 0
        # The real client binds over a lighter connection; test doubles record ``bind`` calls.
        self._bind_call = HttpBinder(ctx.client).bind if isinstance(ctx.client, ApiClient) else self._client_bind
        self._binder = ThreadPoolExecutor(max_workers=bind_workers, thread_name_prefix="scheduler-bind")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scheduled = 0
        self.cycles = 0
        self.cycle_seconds = 0.0  # time inside scheduling cycles (filter, score, assume)
        self._last_report = (0, 0.0)
        self.pods.add_handlers(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.nodes.add_handlers(self._on_node_add, self._on_node_update, self._on_node_delete)

    # -- informer handlers: keep the cache and the queue current ---------------------

    def _on_pod_add(self, pod: Pod) -> None:
        if holds_resources(pod):
            self.cache.place(PodFacts.of(pod), pod.spec.nodeName or "")
        elif wants_scheduling(pod):
            self.queue.add(object_key(pod), pod.spec.priority or 0)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        key = object_key(new)
        if holds_resources(new):
            self.queue.remove(key)
            self.cache.place(PodFacts.of(new), new.spec.nodeName or "")
            return
        if holds_resources(old):  # finished: its resources are free again
            self.cache.unplace(key)
            self.queue.move_all_to_active()
            return
        if not wants_scheduling(new):
            self.queue.remove(key)
            return
        # Our own status writes come back as updates; only a changed pod deserves a new try.
        if old.spec != new.spec or old.metadata.labels != new.metadata.labels:
            self.queue.add(key, new.spec.priority or 0)

    def _on_pod_delete(self, pod: Pod) -> None:
        key = object_key(pod)
        self.queue.remove(key)
        if self.cache.unplace(key):
            self.queue.move_all_to_active()

    def _on_node_add(self, node: Node) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active()

    def _on_node_update(self, old: Node, new: Node) -> None:
        self.cache.set_node(new)
        before, after = NodeInfo.of(old), NodeInfo.of(new)
        relevant = (
            before.ready != after.ready
            or before.unschedulable != after.unschedulable
            or before.taints != after.taints
            or before.labels != after.labels
            or (before.allocatable_cpu_m, before.allocatable_memory_b, before.allocatable_pods)
            != (after.allocatable_cpu_m, after.allocatable_memory_b, after.allocatable_pods)
        )
        if relevant:
            self.queue.move_all_to_active()

    def _on_node_delete(self, node: Node) -> None:
        self.cache.remove_node(node.metadata.name or "")

    # -- the loop ---------------------------------------------------------------------------

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._report_stats()
        self._stop.set()
        self.queue.close()
        self._binder.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not (self.pods.wait_synced(1.0) and self.nodes.wait_synced(1.0)):
            if self._stop.is_set():
                return
        log.info("scheduler: caches synced, scheduling")
        reported_at = time.monotonic()
        while not self._stop.is_set():
            key = self.queue.pop(timeout=STATS_EVERY_S)
            if time.monotonic() - reported_at >= STATS_EVERY_S:
                self._report_stats()
                reported_at = time.monotonic()
            if key is None:
                if self._stop.is_set():
                    return
                continue
            started = time.perf_counter()
            try:
                self.schedule_one(key)
            except Exception:
                log.exception("scheduler: scheduling %s failed", key)
                self.queue.backoff(key)
            self.cycles += 1
            self.cycle_seconds += time.perf_counter() - started

    def _report_stats(self) -> None:
        """One line of figures when there was work (the benchmark reads them from the log)."""
        cycles, seconds = self.cycles - self._last_report[0], self.cycle_seconds - self._last_report[1]
        if cycles:
            log.info(
                "scheduler stats: %d cycles in %.3fs (%.2f ms each, %.0f pods/s of scheduling work); "
                "%d bound in total; queue %s",
                cycles, seconds, 1000 * seconds / cycles, cycles / seconds if seconds else 0.0,
                self.scheduled, self.queue.counts(),
            )  # fmt: skip
        self._last_report = (self.cycles, self.cycle_seconds)

    def schedule_one(self, key: str) -> str | None:
        """One scheduling cycle; returns the chosen node (the binding is written in the background)."""
        pod = self.pods.get(key)
        if pod is None or not wants_scheduling(pod) or self.cache.is_placed(key):
            self.queue.done(key)
            return None
        started = time.perf_counter()
        facts = PodFacts.of(pod)
        with self.cache.lock:
            chosen, total, reasons = self._find_node(facts)
            if chosen is not None:
                self.cache.place(facts, chosen, assumed=True)
        if chosen is None:
            self._record_unschedulable(pod, unschedulable_message(total, reasons))
            self.queue.unschedulable(key)
            _attempted("unschedulable", started)
            return None
        self._binder.submit(self._bind, pod, chosen)
        _attempted("scheduled", started)
        return chosen

    def _find_node(self, facts: PodFacts) -> tuple[str | None, int, Counter[str]]:
        nodes = list(self.cache.nodes.values())
        total = len(nodes)
        reasons: Counter[str] = Counter()
        if not nodes:
            return None, 0, reasons
        enough = feasible_nodes_to_find(total, self.percentage)
        feasible: list[NodeInfo] = []
        start = self._next_start % total
        checked = 0
        # Most pods ask only for resources: on a Ready node without taints, only the resource
        # filter can fail, so check that inline and run the full filter chain for the rest.
        plain_pod = not facts.node_selector and not facts.required_terms and not facts.host_ports
        cpu, memory = facts.cpu_m, facts.memory_b
        for node in nodes[start:] + nodes[:start]:
            checked += 1
            if (
                plain_pod
                and node.ready
                and not node.unschedulable
                and not node.taints
                and node.pod_count < node.allocatable_pods
                and (not cpu or node.requested_cpu_m + cpu <= node.allocatable_cpu_m)
                and (not memory or node.requested_memory_b + memory <= node.allocatable_memory_b)
            ):
                feasible.append(node)
                if len(feasible) >= enough:
                    break
                continue
            why = failure_reasons(facts, node)
            if why:
                reasons.update(why)
                continue
            feasible.append(node)
            if len(feasible) >= enough:
                break
        self._next_start = (start + checked) % total
        if not feasible:
            return None, total, reasons
        if len(feasible) == 1:
            return feasible[0].name, total, reasons
        totals = score_nodes(facts, feasible)
        best = max(totals)
        winners = [n for n, s in zip(feasible, totals, strict=True) if s >= best - 1e-9]
        return random.choice(winners).name, total, reasons

    # -- writes -------------------------------------------------------------------------------

    def _client_bind(self, namespace: str, name: str, node_name: str, *, uid: str | None = None) -> None:
        self.client.bind(namespace, name, node_name, uid=uid)

    def _bind(self, pod: Pod, node_name: str) -> None:
        key = object_key(pod)
        namespace, name = split_key(key)
        try:
            self._bind_call(namespace or "", name, node_name, uid=pod.metadata.uid)
        except (NotFoundError, ConflictError) as exc:
            # Gone, or bound already (by us before a restart, or by someone): the watch tells.
            log.debug("scheduler: binding %s: %s", key, exc.message)
            self.cache.forget_assumed(key)
            self.queue.done(key)
            return
        except Exception as exc:
            log.warning("scheduler: binding %s to %s failed: %s", key, node_name, exc)
            self.cache.forget_assumed(key)
            self.queue.backoff(key)
            return
        self.scheduled += 1
        self.queue.done(key)
        self.ctx.recorder.normal(pod, "Scheduled", f"Successfully assigned {key} to {node_name}")

    def _record_unschedulable(self, pod: Pod, message: str) -> None:
        self.ctx.recorder.warning(pod, "FailedScheduling", message)
        current = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
        if current is not None and current.status == "False" and current.message == message:
            return
        updated = pod.model_copy(deep=True)
        conditions = [c for c in updated.status.conditions or [] if c.type != "PodScheduled"]
        conditions.append(
            PodCondition(
                type="PodScheduled",
                status="False",
                reason="Unschedulable",
                message=message,
                lastTransitionTime=self.ctx.clock.rfc3339(),
            )
        )
        updated.status.conditions = conditions
        try:
            self.client.update_status(updated)
        except ApiError as exc:
            log.debug("scheduler: recording why %s waits: %s", object_key(pod), exc.message)


def _attempted(result: str, started: float) -> None:
    SCHEDULE_ATTEMPTS.labels(SCHEDULER_NAME, result).inc()
    ATTEMPT_SECONDS.labels(SCHEDULER_NAME, result).observe(time.perf_counter() - started)

"""The ReplicaSet controller: keep ``spec.replicas`` pods matching the selector.

reconcile(namespace/name) compares the active pods the ReplicaSet controls (from the
pod cache) with ``spec.replicas``: it adopts matching orphans, releases pods whose
labels no longer match, creates the missing pods (in slow-start batches: 1, 2, 4, ...
so a bad template fails once, not a thousand times) and deletes the surplus, least
valuable first (unscheduled, pending, not ready, newest). Expectations keep a
reconcile from acting on a cache that has not yet seen its own previous writes.
Status (replicas, ready, available, observedGeneration) goes through /status.

The same loop keeps v1 ReplicationControllers (`ReplicationControllerController`): only
the kind, its status model and its selector (a plain map of labels, read as an equality
LabelSelector) differ, so the subclass says just those.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from kajitori.api.apps import ReplicaSet, ReplicaSetStatus
from kajitori.api.core import Pod, ReplicationController, ReplicationControllerStatus
from kajitori.api.meta import LabelSelector, ObjectMeta
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.clock import parse_time
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.expectations import Expectations
from master.controllers.owned_pods import OwnedPodEvents, claim_pods, requeue_at_min_ready
from master.controllers.pod_state import (
    is_active,
    is_available,
    is_ready,
    owner_reference,
    ready_since,
)

log = logging.getLogger(__name__)

SLOW_START_INITIAL = 1
BURST_REPLICAS = 500  # at most this many creates or deletes per reconcile (Kubernetes: 500)
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_rank(pod: Pod) -> tuple[int, int, int, float]:
    """Sort key: the pods to delete first sort first (Kubernetes' ActivePods ordering)."""
    scheduled = 1 if pod.spec.nodeName else 0
    phase = _PHASE_RANK.get(pod.status.phase, 0)
    ready = 1 if is_ready(pod) else 0
    created = parse_time(pod.metadata.creationTimestamp) or 0.0
    since = ready_since(pod) or 0.0
    # Newer first: negate times so that a larger (later) time sorts earlier.
    return (scheduled, phase, ready, -max(created, since))


Replicated = ReplicaSet | ReplicationController


class ReplicaSetController:
    kind: ClassVar[type[Replicated]] = ReplicaSet
    status_model: ClassVar[Any] = ReplicaSetStatus
    name: ClassVar[str] = "replicaset"

    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.replicasets: Any = ctx.informers.informer(self.kind)
        self.pods = ctx.informers.informer(Pod)
        self.expectations = Expectations(ctx.clock)
        # Kubernetes fires a whole slow-start batch at once; 32 in flight keeps the API server busy.
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix=f"{self.name}-write")
        self.controller = Controller(self.name, self.reconcile, informers=[self.replicasets, self.pods], workers=workers)
        self.replicasets.add_handlers(self._on_rs, lambda _old, new: self._on_rs(new), self._on_rs_delete)
        self.pod_events = OwnedPodEvents(self.kind.__name__, self.controller, self.expectations, on_orphan=self._enqueue_matching)
        self.pod_events.watch(self.pods)

    # -- handlers: objects to keys -------------------------------------------------

    @staticmethod
    def selector(rs: Replicated) -> LabelSelector:
        if isinstance(rs, ReplicationController):
            return rs.label_selector()
        return rs.spec.selector

    def _on_rs(self, rs: Replicated) -> None:
        self.controller.enqueue(object_key(rs))

    def _on_rs_delete(self, rs: Replicated) -> None:
        self.expectations.forget(object_key(rs))

    def _enqueue_matching(self, pod: Pod) -> None:
        # An orphan: the ReplicaSets whose selector matches may adopt it.
        for rs in self.replicasets.by_index("namespace", pod.metadata.namespace or ""):
            if self.selector(rs).matches(pod.metadata.labels):
                self.controller.enqueue(object_key(rs))

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        rs = self.replicasets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return
        pods = claim_pods(self.client, self.pods, rs, self.selector(rs), adoptable=_adoptable)
        active = [p for p in pods if is_active(p)]
        if rs.metadata.deletionTimestamp is None and self.expectations.satisfied(key):
            self._manage_replicas(rs, key, active)
        now = self.ctx.clock.time()
        self._write_status(rs, active, now)
        requeue_at_min_ready(active, rs.spec.minReadySeconds, now)

    def _manage_replicas(self, rs: Replicated, key: str, active: list[Pod]) -> None:
        diff = len(active) - rs.spec.replicas
        if diff < 0:
            self._create_pods(rs, key, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            victims = sorted(active, key=deletion_rank)[: min(diff, BURST_REPLICAS)]
            self._delete_pods(rs, key, victims)

    def _create_pods(self, rs: Replicated, key: str, count: int) -> None:
        template = rs.spec.template
        if template is None:
            return
        self.expectations.expect_creations(key, count)
        body = Pod(
            metadata=ObjectMeta(
                generateName=f"{rs.metadata.name}-",
                namespace=rs.metadata.namespace,
                labels=dict(template.metadata.labels or {}),
                annotations=dict(template.metadata.annotations) if template.metadata.annotations else None,
                ownerReferences=[owner_reference(rs)],
            ),
            spec=template.spec.model_copy(deep=True),
        )
        created = 0
        batch = SLOW_START_INITIAL
        remaining = count
        error: Exception | None = None
        while remaining > 0:
            size = min(batch, remaining)
            results = list(self._pool.map(lambda _i: self._create_one(body), range(size)))
            failures = [r for r in results if r is not None]
            created += size - len(failures)
            remaining -= size
            for failure in failures:
                self.expectations.creation_failed(key)
                error = failure
            if failures:
                # Skip the rest: they would most likely fail the same way.
                for _ in range(remaining):
                    self.expectations.creation_failed(key)
                break
            batch *= 2
        if created:
            self.ctx.recorder.normal(rs, "SuccessfulCreate", f"Created {created} pod(s)")
        if error is not None:
            self.ctx.recorder.warning(rs, "FailedCreate", f"Error creating: {error}")
            raise error

    def _create_one(self, body: Pod) -> Exception | None:
        try:
            self.client.create(body, body.metadata.namespace)
        except AlreadyExistsError:
            return None
        except Exception as exc:  # reported once by the caller
            return exc
        return None

    def _delete_pods(self, rs: Replicated, key: str, victims: list[Pod]) -> None:
        self.expectations.expect_deletions(key, [p.metadata.uid or "" for p in victims])

        def delete(pod: Pod) -> Exception | None:
            try:
                self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace)
            except NotFoundError:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
            except Exception as exc:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
                return exc
            return None

        errors = [e for e in self._pool.map(delete, victims) if e is not None]
        deleted = len(victims) - len(errors)
        if deleted:
            names = ", ".join(p.metadata.name or "" for p in victims[:5])
            self.ctx.recorder.normal(rs, "SuccessfulDelete", f"Deleted {deleted} pod(s): {names}")
        if errors:
            raise errors[0]

    def _write_status(self, rs: Replicated, active: list[Pod], now: float) -> None:
        labels = rs.spec.template.metadata.labels if rs.spec.template else {}
        status = self.status_model(
            replicas=len(active),
            fullyLabeledReplicas=sum(
                1 for p in active if all((p.metadata.labels or {}).get(k) == v for k, v in (labels or {}).items())
            ),
            readyReplicas=sum(1 for p in active if is_ready(p)),
            availableReplicas=sum(1 for p in active if is_available(p, rs.spec.minReadySeconds, now)),
            observedGeneration=rs.metadata.generation,
            conditions=rs.status.conditions,
        )
        if status.to_dict() == rs.status.to_dict():
            return
        updated = rs.model_copy(deep=True)
        updated.status = status
        self.client.update_status(updated)


class ReplicationControllerController(ReplicaSetController):
    """The ReplicaSet's loop over v1 ReplicationControllers (an equality selector)."""

    kind: ClassVar[type[Replicated]] = ReplicationController
    status_model: ClassVar[Any] = ReplicationControllerStatus
    name: ClassVar[str] = "replicationcontroller"


def _adoptable(pod: Pod) -> bool:
    # A ReplicaSet takes an orphan that still runs (or may run), as Kubernetes' does.
    return pod.metadata.deletionTimestamp is None and is_active(pod)

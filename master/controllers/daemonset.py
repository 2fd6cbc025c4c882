"""The DaemonSet controller: exactly one pod per eligible node, rolled node by node.

reconcile(namespace/name) reads the nodes and the pods the DaemonSet controls
(adopting matching orphans, releasing pods whose labels no longer match), groups the
pods by the node they are for (bound node, or the node their affinity names while
the scheduler has not bound them yet) and, per node (``daemon_placement.placement``):

- should run and has no pod: create one (``daemon_pod``: the node's name in a
  required node affinity; the default scheduler binds it, as in Kubernetes >= 1.12);
- may keep running: delete failed or finished pods (the next pass makes a new one);
  of several live pods keep the oldest;
- may not keep running (a label changed, a NoExecute taint it does not tolerate):
  delete its pods. Pods for a node that no longer exists are deleted with grace 0:
  no agent is left to confirm.

A node whose only pod is terminating waits for it to go before getting a new one, so
two pods of one DaemonSet share a node only during a surge. Only when that pass wrote
nothing (and the cache has seen the earlier writes: expectations) does the update
strategy move. RollingUpdate with ``maxUnavailable``: delete old-template pods that are
unavailable at once and available ones while fewer than ``maxUnavailable`` nodes lack
an available up-to-date pod; the first pass then creates their replacements. With
``maxSurge`` (Kubernetes allows one of the two): start the new pod beside the old one on
up to ``maxSurge`` nodes at once and delete the old one when the new one is available,
so no node goes without a serving pod. OnDelete replaces only pods someone else deleted.

A template's revision is ``controller-revision-hash``, a hash of the template kept in
the pods' label, and a ControllerRevision ``<name>-<hash>`` holding the template
(master/controllers/revisions.py), so ``kubectl rollout history|undo daemonset/NAME`` work
as on Kubernetes. Status goes through /status, only when it changed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from kajitori.api.apps import ControllerRevision, DaemonSet, DaemonSetStatus
from kajitori.api.core import Node, Pod
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.clock import parse_time
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.daemon_placement import REVISION_HASH_LABEL, daemon_pod, placement, target_node
from master.controllers.deployment import resolve_fraction, template_hash
from master.controllers.expectations import Expectations
from master.controllers.owned_pods import OwnedPodEvents, claim_pods, requeue_at_min_ready
from master.controllers.pod_state import is_available, is_ready
from master.controllers.revisions import ensure_revision, prune_revisions

log = logging.getLogger(__name__)

SLOW_START_INITIAL = 1
BURST_PODS = 250  # at most this many creates per pass; the rest follow on the next one


def revision_hash(ds: DaemonSet) -> str:
    return template_hash(ds.spec.template, ds.status.collisionCount or 0)


def max_surge(ds: DaemonSet, desired: int) -> int:
    """How many nodes may run an old and a new pod side by side (0: no surge)."""
    rolling = ds.spec.updateStrategy.rollingUpdate
    if ds.spec.updateStrategy.type != "RollingUpdate" or rolling is None:
        return 0
    # Kubernetes rounds a percentage of a DaemonSet's nodes up.
    return resolve_fraction(rolling.maxSurge, desired, round_up=True)


def max_unavailable(ds: DaemonSet, desired: int) -> int:
    """How many nodes may lack an available up-to-date pod during a rolling update (at least 1)."""
    rolling = ds.spec.updateStrategy.rollingUpdate
    if rolling is None:
        return 1
    return max(1, resolve_fraction(rolling.maxUnavailable, desired, round_up=True))


def oldest_first(pods: list[Pod]) -> list[Pod]:
    return sorted(pods, key=lambda p: (parse_time(p.metadata.creationTimestamp) or 0.0, p.metadata.name or ""))


def _adoptable(pod: Pod) -> bool:
    # A DaemonSet takes a live orphan only if it targets a node (one pod per node is its whole job).
    return is_live(pod) and target_node(pod) is not None


def is_live(pod: Pod) -> bool:
    return pod.metadata.deletionTimestamp is None and pod.status.phase not in ("Succeeded", "Failed")


class DaemonSetController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.daemonsets = ctx.informers.informer(DaemonSet)
        self.nodes = ctx.informers.informer(Node)
        self.pods = ctx.informers.informer(Pod)
        self.revisions = ctx.informers.informer(ControllerRevision)
        self.expectations = Expectations(ctx.clock)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ds-write")
        self._placement_reported: set[str] = set()  # pod uids a FailedPlacement event was recorded for
        self.controller = Controller(
            "daemonset", self.reconcile, informers=[self.daemonsets, self.nodes, self.pods, self.revisions], workers=workers
        )
        self.daemonsets.add_handlers(self._on_ds, lambda _o, n: self._on_ds(n), self._on_ds_delete)
        self.nodes.add_handlers(self._on_node, self._on_node_update, self._on_node)
        self.pod_events = OwnedPodEvents(
            "DaemonSet", self.controller, self.expectations, on_orphan=self._enqueue_matching,
            on_deleted=lambda pod: self._placement_reported.discard(pod.metadata.uid or ""),
        )  # fmt: skip
        self.pod_events.watch(self.pods)

    # -- handlers: objects to keys -------------------------------------------------

    def _on_ds(self, ds: DaemonSet) -> None:
        self.controller.enqueue(object_key(ds))

    def _on_ds_delete(self, ds: DaemonSet) -> None:
        self.expectations.forget(object_key(ds))

    def _on_node(self, _node: Node) -> None:
        for ds in self.daemonsets.list():
            self.controller.enqueue(object_key(ds))

    def _on_node_update(self, old: Node, new: Node) -> None:
        # Heartbeats change a node every few seconds; only what placement reads matters.
        if (old.metadata.labels, old.spec.taints, old.spec.unschedulable) != (
            new.metadata.labels,
            new.spec.taints,
            new.spec.unschedulable,
        ):
            self._on_node(new)

    def _enqueue_matching(self, pod: Pod) -> None:
        for ds in self.daemonsets.by_index("namespace", pod.metadata.namespace or ""):
            if ds.spec.selector.matches(pod.metadata.labels):
                self.controller.enqueue(object_key(ds))

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        ds = self.daemonsets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return
        pods = claim_pods(self.client, self.pods, ds, ds.spec.selector, adoptable=_adoptable)
        by_node: dict[str, list[Pod]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod) or "", []).append(pod)
        nodes = {n.metadata.name or "": n for n in self.nodes.list()}
        current = revision_hash(ds)
        if ds.metadata.deletionTimestamp is None:
            self._record_revision(ds, current, pods)
        if ds.metadata.deletionTimestamp is None and self.expectations.satisfied(key):
            wrote = self._manage(ds, key, nodes, by_node, current)
            if not wrote and ds.spec.updateStrategy.type == "RollingUpdate":
                self._rolling_update(ds, key, nodes, by_node, current)
        self._report_failed_placement(ds, pods)
        now = self.ctx.clock.time()
        self._write_status(ds, nodes, by_node, current, now)
        requeue_at_min_ready(pods, ds.spec.minReadySeconds, now)

    def _record_revision(self, ds: DaemonSet, current: str, pods: list[Pod]) -> None:
        """The template's ControllerRevision (the newest: a template that comes back is renumbered), old ones pruned."""
        name = f"{ds.metadata.name}-{current}"
        ensure_revision(self.client, self.revisions, ds, name, ds.spec.template.to_dict(),
                        labels={**(ds.spec.template.metadata.labels or {}), REVISION_HASH_LABEL: current}, newest=True)  # fmt: skip
        in_use = {name} | {f"{ds.metadata.name}-{(p.metadata.labels or {}).get(REVISION_HASH_LABEL)}" for p in pods}
        prune_revisions(self.client, self.revisions, ds, keep=ds.spec.revisionHistoryLimit, in_use=in_use)

    def _manage(self, ds: DaemonSet, key: str, nodes: dict[str, Node], by_node: dict[str, list[Pod]], current: str) -> bool:
        """Create missing pods and delete misplaced, failed and extra ones; True when it wrote."""
        create_on: list[str] = []
        delete: list[Pod] = []
        gone: list[Pod] = []  # pods for nodes that no longer exist
        for name, node in sorted(nodes.items()):
            pods = by_node.get(name, [])
            where = placement(ds.spec.template, node)
            if where.should_run and not pods:
                create_on.append(name)
            elif where.should_continue:
                live = [p for p in pods if is_live(p)]
                delete.extend(p for p in pods if p.metadata.deletionTimestamp is None and not is_live(p))
                delete.extend(self._extra_pods(live, current, surging=max_surge(ds, 1) > 0))
            else:
                delete.extend(p for p in pods if p.metadata.deletionTimestamp is None)
        for name, pods in by_node.items():
            if name not in nodes:
                gone.extend(p for p in pods if p.metadata.deletionTimestamp is None)
        if delete or gone:
            self._delete_pods(ds, key, delete, gone)
        if create_on:
            self._create_pods(ds, key, create_on[:BURST_PODS], current)
        return bool(create_on or delete or gone)

    @staticmethod
    def _extra_pods(live: list[Pod], current: str, *, surging: bool) -> list[Pod]:
        """Of a node's live pods, those to delete: all but the oldest, or during a surge all
        but the oldest of the current template and the oldest of older ones (Kubernetes' rule)."""
        ordered = oldest_first(live)
        if not surging:
            return ordered[1:]
        kept_new = next((p for p in ordered if (p.metadata.labels or {}).get(REVISION_HASH_LABEL) == current), None)
        kept_old = next((p for p in ordered if (p.metadata.labels or {}).get(REVISION_HASH_LABEL) != current), None)
        return [p for p in ordered if p is not kept_new and p is not kept_old]

    def _rolling_update(
        self, ds: DaemonSet, key: str, nodes: dict[str, Node], by_node: dict[str, list[Pod]], current: str
    ) -> None:
        """Kubernetes' rollingUpdate without surge: delete old pods while few enough nodes are unavailable."""
        now = self.ctx.clock.time()
        eligible = [name for name, node in sorted(nodes.items()) if placement(ds.spec.template, node).should_continue]
        surge = max_surge(ds, len(eligible))
        if surge > 0:
            self._surge_update(ds, key, eligible, by_node, current, surge)
            return
        limit = max_unavailable(ds, len(eligible))
        unavailable = 0
        replace_now: list[Pod] = []
        candidates: list[Pod] = []
        for name in eligible:
            live = [p for p in by_node.get(name, []) if is_live(p)]
            new = [p for p in live if (p.metadata.labels or {}).get(REVISION_HASH_LABEL) == current]
            old = [p for p in live if p not in new]
            if len(live) != 1:
                unavailable += 1  # none, or several: the next pass creates or deletes
            elif new:
                if not is_available(new[0], ds.spec.minReadySeconds, now):
                    unavailable += 1
            elif not is_available(old[0], ds.spec.minReadySeconds, now):
                replace_now.append(old[0])  # already unavailable: replacing it costs nothing
            else:
                candidates.append(old[0])
        room = max(0, min(limit - unavailable - len(replace_now), len(candidates)))
        victims = replace_now + candidates[:room]
        if victims:
            self._delete_pods(ds, key, victims, [])

    def _surge_update(
        self, ds: DaemonSet, key: str, eligible: list[str], by_node: dict[str, list[Pod]], current: str, surge: int
    ) -> None:
        """Kubernetes' rollingUpdate with surge: a new pod beside the old one, the old one deleted once the new is available."""
        now = self.ctx.clock.time()
        surging = 0
        retire: list[Pod] = []
        replace_now: list[str] = []
        candidates: list[str] = []
        for name in eligible:
            live = [p for p in by_node.get(name, []) if is_live(p)]
            new = [p for p in live if (p.metadata.labels or {}).get(REVISION_HASH_LABEL) == current]
            old = [p for p in live if p not in new]
            if not old:
                continue  # up to date, or the first pass makes its pod
            if not new:
                if not is_available(old[0], ds.spec.minReadySeconds, now):
                    replace_now.append(name)  # serves nothing now: no surge budget needed
                else:
                    candidates.append(name)
            elif is_available(new[0], ds.spec.minReadySeconds, now):
                retire.extend(old)
            else:
                surging += 1
        room = max(0, min(surge - surging, len(candidates)))
        if retire:
            self._delete_pods(ds, key, retire, [])
        create_on = replace_now + candidates[:room]
        if create_on:
            self._create_pods(ds, key, create_on, current)

    def _create_pods(self, ds: DaemonSet, key: str, node_names: list[str], current: str) -> None:
        self.expectations.expect_creations(key, len(node_names))
        created: list[str] = []
        error: Exception | None = None
        batch = SLOW_START_INITIAL
        remaining = list(node_names)
        while remaining:
            chunk, remaining = remaining[:batch], remaining[batch:]
            results = list(self._pool.map(lambda n: self._create_one(ds, n, current), chunk))
            failures = [r for r in results if isinstance(r, Exception)]
            created.extend(r for r in results if isinstance(r, str))
            for failure in failures:
                self.expectations.creation_failed(key)
                error = failure
            if failures:
                # The rest would most likely fail the same way.
                for _ in remaining:
                    self.expectations.creation_failed(key)
                break
            batch *= 2
        for name in created:
            self.ctx.recorder.normal(ds, "SuccessfulCreate", f"Created pod: {name}")
        if error is not None:
            self.ctx.recorder.warning(ds, "FailedCreate", f"Error creating: {error}")
            raise error

    def _create_one(self, ds: DaemonSet, node_name: str, current: str) -> str | Exception:
        body = daemon_pod(ds, node_name, current)
        try:
            made: Pod = self.client.create(body, body.metadata.namespace)
        except AlreadyExistsError as exc:
            return exc
        except Exception as exc:  # reported once by the caller
            return exc
        return made.metadata.name or ""

    def _delete_pods(self, ds: DaemonSet, key: str, victims: list[Pod], gone: list[Pod]) -> None:
        pods = [*victims, *gone]
        self.expectations.expect_deletions(key, [p.metadata.uid or "" for p in pods])
        orphaned = {p.metadata.uid for p in gone}

        def delete(pod: Pod) -> Exception | None:
            # A pod whose node is gone has no agent to confirm a graceful deletion.
            grace = 0 if pod.metadata.uid in orphaned else None
            try:
                self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace, grace_period_seconds=grace)
            except NotFoundError:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
                return None
            except Exception as exc:
                self.expectations.deletion_observed(key, pod.metadata.uid or "")
                return exc
            self.ctx.recorder.normal(ds, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")
            return None

        errors = [e for e in self._pool.map(delete, pods) if e is not None]
        if errors:
            raise errors[0]

    def _report_failed_placement(self, ds: DaemonSet, pods: list[Pod]) -> None:
        """A Warning once per pod the scheduler cannot place on its node (too little CPU, a host port taken)."""
        for pod in pods:
            if pod.spec.nodeName or not is_live(pod) or pod.metadata.uid in self._placement_reported:
                continue
            cond = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
            if cond is not None and cond.status == "False" and cond.reason == "Unschedulable":
                self._placement_reported.add(pod.metadata.uid or "")
                self.ctx.recorder.warning(
                    ds, "FailedPlacement", f"failed to place pod {pod.metadata.name} on {target_node(pod)}: {cond.message}"
                )

    def _write_status(
        self, ds: DaemonSet, nodes: dict[str, Node], by_node: dict[str, list[Pod]], current: str, now: float
    ) -> None:
        desired = scheduled = misscheduled = ready = available = updated = 0
        for name, node in nodes.items():
            live = oldest_first([p for p in by_node.get(name, []) if is_live(p)])
            if placement(ds.spec.template, node).should_run:
                desired += 1
                if live:
                    scheduled += 1
                    # As Kubernetes: the oldest pod of the node speaks for it.
                    if is_ready(live[0]):
                        ready += 1
                        if is_available(live[0], ds.spec.minReadySeconds, now):
                            available += 1
                    if (live[0].metadata.labels or {}).get(REVISION_HASH_LABEL) == current:
                        updated += 1
            elif live:
                misscheduled += 1
        status = DaemonSetStatus(
            currentNumberScheduled=scheduled,
            numberMisscheduled=misscheduled,
            desiredNumberScheduled=desired,
            numberReady=ready,
            observedGeneration=ds.metadata.generation,
            updatedNumberScheduled=updated,
            numberAvailable=available,
            numberUnavailable=desired - available,
            collisionCount=ds.status.collisionCount,
            conditions=ds.status.conditions,
        )
        if status.to_dict() == ds.status.to_dict():
            return
        fresh = ds.model_copy(deep=True)
        fresh.status = status
        try:
            self.client.update_status(fresh)
        except NotFoundError:
            pass

"""The Deployment controller: one ReplicaSet per pod template, rolled by strategy.

reconcile(namespace/name) finds the Deployment's ReplicaSets (those it controls), the
new one being the one whose template equals the Deployment's (ignoring the
``pod-template-hash`` label), creating it if missing, then makes one move:

- RollingUpdate: scale the new ReplicaSet up while the total (spec, or pods if more)
  stays within ``replicas + maxSurge``; otherwise scale old ones down while the
  available pods stay at least ``replicas - maxUnavailable`` (unhealthy old pods
  first). Each move is a CAS update of one ReplicaSet, so a stale cache gets a 409
  and a retry, never a double step; the next move follows the ReplicaSet/pod events.
- Recreate: scale every old ReplicaSet to 0, wait until their pods are gone, then
  scale the new one up.

Revisions live in the ``deployment.kubernetes.io/revision`` annotation (a template
that comes back, as after ``rollout undo``, takes the next number); ReplicaSets
beyond ``revisionHistoryLimit`` that are scaled to 0 are deleted. Status
(replicas, updated, ready, available, conditions Available/Progressing) goes
through /status, condition times kept while nothing changes.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import orjson

from kajitori.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet
from kajitori.api.core import Pod, PodTemplateSpec
from kajitori.api.meta import ObjectMeta
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.clock import parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.pod_state import (
    controller_ref,
    is_active,
    is_available,
    is_ready,
    owner_reference,
    ready_since,
)

log = logging.getLogger(__name__)

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_without_hash(template: PodTemplateSpec) -> dict[str, Any]:
    doc = template.to_dict()
    labels = dict((doc.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    doc.setdefault("metadata", {})["labels"] = labels
    return doc


def template_hash(template: PodTemplateSpec, collision_count: int = 0) -> str:
    """A short, stable name for a pod template (the suffix of its ReplicaSet's name)."""
    digest = hashlib.sha256(orjson.dumps(template_without_hash(template), option=orjson.OPT_SORT_KEYS))
    digest.update(str(collision_count).encode())
    number = int.from_bytes(digest.digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, rest = divmod(number, len(_SAFE_ALPHABET))
        chars.append(_SAFE_ALPHABET[rest])
    return "".join(chars)


def resolve_fraction(value: int | str, total: int, *, round_up: bool) -> int:
    """An int, or a percentage of ``total`` (surge rounds up, unavailability down)."""
    if isinstance(value, int):
        return value
    scaled = total * int(value.rstrip("%")) / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def surge_and_unavailable(d: Deployment) -> tuple[int, int]:
    rolling = d.spec.strategy.rollingUpdate
    if d.spec.strategy.type != "RollingUpdate" or rolling is None:
        return 0, 0
    surge = resolve_fraction(rolling.maxSurge, d.spec.replicas, round_up=True)
    unavailable = resolve_fraction(rolling.maxUnavailable, d.spec.replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # validation forbids both 0; rounding can still reach it
    return surge, min(unavailable, d.spec.replicas)


def revision_of(rs: ReplicaSet) -> int:
    try:
        return int((rs.metadata.annotations or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class DeploymentController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.deployments = ctx.informers.informer(Deployment)
        self.replicasets = ctx.informers.informer(ReplicaSet)
        self.pods = ctx.informers.informer(Pod)
        self.controller = Controller(
            "deployment", self.reconcile, informers=[self.deployments, self.replicasets, self.pods], workers=workers
        )
        self.deployments.add_handlers(self._on_deployment, lambda _o, n: self._on_deployment(n))
        self.replicasets.add_handlers(self._on_rs, lambda _o, n: self._on_rs(n), self._on_rs)
        self.pods.add_handlers(self._on_pod, self._on_pod_update, self._on_pod)

    # -- handlers ------------------------------------------------------------------

    def _on_deployment(self, d: Deployment) -> None:
        self.controller.enqueue(object_key(d))

    def _on_rs(self, rs: ReplicaSet) -> None:
        ref = controller_ref(rs)
        if ref is not None and ref.kind == "Deployment":
            self.controller.enqueue(f"{rs.metadata.namespace}/{ref.name}")

    def _on_pod(self, pod: Pod) -> None:
        ref = controller_ref(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{pod.metadata.namespace}/{ref.name}")
        if rs is not None:
            self._on_rs(rs)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        # Only readiness, phase and deletion matter to a Deployment.
        if (
            is_ready(old) != is_ready(new)
            or old.status.phase != new.status.phase
            or old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
        ):
            self._on_pod(new)

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        d = self.deployments.get(key)
        if d is None or d.metadata.deletionTimestamp is not None:
            return
        rss = [rs for rs in self.replicasets.by_index("controller-uid", d.metadata.uid or "") if rs.metadata.deletionTimestamp is None]
        wanted = template_without_hash(d.spec.template)
        new_rs = next((rs for rs in rss if rs.spec.template and template_without_hash(rs.spec.template) == wanted), None)
        old_rss = [rs for rs in rss if rs is not new_rs]
        if not d.spec.paused:
            if new_rs is None:
                new_rs = self._create_new_rs(d, old_rss)
                self._write_status(d, new_rs, old_rss, created=True)
                return
            new_rs = self._ensure_revision(d, new_rs, old_rss)
            if d.spec.strategy.type == "Recreate":
                self._rollout_recreate(d, new_rs, old_rss)
            else:
                self._rollout_rolling(d, new_rs, old_rss)
            self._cleanup_history(d, old_rss)
        deadline_in = self._write_status(d, new_rs, old_rss)
        waits = [w for w in (deadline_in, self._min_ready_wait(d, [new_rs, *old_rss] if new_rs else old_rss)) if w is not None]
        if waits:
            raise Requeue(max(0.1, min(waits)))

    # -- pods per ReplicaSet (from the pod cache) --------------------------------------

    def _pods(self, rs: ReplicaSet) -> list[Pod]:
        return self.pods.by_index("controller-uid", rs.metadata.uid or "")

    def _active(self, rs: ReplicaSet) -> list[Pod]:
        return [p for p in self._pods(rs) if is_active(p)]

    def _effective(self, rs: ReplicaSet) -> int:
        """Replicas that exist or will: the spec, or the live pods if the cache has more."""
        return max(rs.spec.replicas, len(self._active(rs)))

    def _available(self, rs: ReplicaSet, d: Deployment) -> int:
        now = self.ctx.clock.time()
        count = sum(1 for p in self._active(rs) if is_available(p, d.spec.minReadySeconds, now))
        return min(count, rs.spec.replicas)

    # -- the new ReplicaSet ------------------------------------------------------------

    def _create_new_rs(self, d: Deployment, old_rss: list[ReplicaSet]) -> ReplicaSet:
        collision = d.status.collisionCount or 0
        pod_hash = template_hash(d.spec.template, collision)
        template = d.spec.template.model_copy(deep=True)
        template.metadata.labels = {**(template.metadata.labels or {}), HASH_LABEL: pod_hash}
        selector = d.spec.selector.model_copy(deep=True)
        selector.matchLabels = {**(selector.matchLabels or {}), HASH_LABEL: pod_hash}
        revision = max((revision_of(rs) for rs in old_rss), default=0) + 1
        replicas = self._initial_new_replicas(d, old_rss)
        surge, _ = surge_and_unavailable(d)
        annotations = {
            REVISION: str(revision),
            DESIRED_REPLICAS: str(d.spec.replicas),
            MAX_REPLICAS: str(d.spec.replicas + surge),
        }
        cause = (d.metadata.annotations or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        body = ReplicaSet(
            metadata=ObjectMeta(
                name=f"{d.metadata.name}-{pod_hash}",
                namespace=d.metadata.namespace,
                labels=dict(template.metadata.labels),
                annotations=annotations,
                ownerReferences=[owner_reference(d)],
            ),
            spec={"replicas": replicas, "minReadySeconds": d.spec.minReadySeconds, "selector": selector, "template": template},  # type: ignore[arg-type]
        )
        try:
            created: ReplicaSet = self.client.create(body, d.metadata.namespace)
        except AlreadyExistsError:
            # Either our cache lags (the retry will see it) or another template has this hash.
            existing = self.replicasets.get(f"{d.metadata.namespace}/{body.metadata.name}")
            if existing is not None and existing.spec.template is not None and template_without_hash(
                existing.spec.template
            ) != template_without_hash(d.spec.template):
                bumped = d.model_copy(deep=True)
                bumped.status.collisionCount = collision + 1
                self.client.update_status(bumped)
            raise
        self.ctx.recorder.normal(d, "ScalingReplicaSet", f"Scaled up replica set {created.metadata.name} to {replicas}")
        self._update_deployment_revision(d, revision)
        return created

    def _initial_new_replicas(self, d: Deployment, old_rss: list[ReplicaSet]) -> int:
        if d.spec.strategy.type == "Recreate":
            return 0 if any(self._effective(rs) for rs in old_rss) else d.spec.replicas
        surge, _ = surge_and_unavailable(d)
        current = sum(self._effective(rs) for rs in old_rss)
        return max(0, min(d.spec.replicas + surge - current, d.spec.replicas))

    def _ensure_revision(self, d: Deployment, new_rs: ReplicaSet, old_rss: list[ReplicaSet]) -> ReplicaSet:
        """A template that comes back (rollout undo) becomes the newest revision again."""
        newest_old = max((revision_of(rs) for rs in old_rss), default=0)
        revision = revision_of(new_rs)
        if revision <= newest_old:
            revision = newest_old + 1
            updated = new_rs.model_copy(deep=True)
            updated.metadata.annotations = {**(updated.metadata.annotations or {}), REVISION: str(revision)}
            cause = (d.metadata.annotations or {}).get(CHANGE_CAUSE)
            if cause:
                updated.metadata.annotations[CHANGE_CAUSE] = cause
            new_rs = self.client.update(updated)
        if (d.metadata.annotations or {}).get(REVISION) != str(revision):
            self._update_deployment_revision(d, revision)
        return new_rs

    def _update_deployment_revision(self, d: Deployment, revision: int) -> None:
        patch = {"metadata": {"annotations": {REVISION: str(revision)}}}
        self.client.patch(Deployment, d.metadata.name or "", patch, d.metadata.namespace)

    def _scale(self, d: Deployment, rs: ReplicaSet, replicas: int) -> None:
        if rs.spec.replicas == replicas:
            return
        surge, _ = surge_and_unavailable(d)
        updated = rs.model_copy(deep=True)
        updated.spec.replicas = replicas
        updated.metadata.annotations = {
            **(updated.metadata.annotations or {}),
            DESIRED_REPLICAS: str(d.spec.replicas),
            MAX_REPLICAS: str(d.spec.replicas + surge),
        }
        self.client.update(updated)
        direction = "up" if replicas > rs.spec.replicas else "down"
        self.ctx.recorder.normal(
            d, "ScalingReplicaSet", f"Scaled {direction} replica set {rs.metadata.name} to {replicas} from {rs.spec.replicas}"
        )

    # -- strategies ----------------------------------------------------------------------

    def _rollout_recreate(self, d: Deployment, new_rs: ReplicaSet, old_rss: list[ReplicaSet]) -> None:
        scaled_down = False
        for rs in old_rss:
            if rs.spec.replicas:
                self._scale(d, rs, 0)
                scaled_down = True
        if scaled_down or any(self._pods(rs) for rs in old_rss):
            return  # wait until every old pod is gone
        self._scale(d, new_rs, d.spec.replicas)

    def _rollout_rolling(self, d: Deployment, new_rs: ReplicaSet, old_rss: list[ReplicaSet]) -> None:
        if self._reconcile_new(d, new_rs, old_rss):
            return
        self._reconcile_old(d, new_rs, old_rss)

    def _reconcile_new(self, d: Deployment, new_rs: ReplicaSet, old_rss: list[ReplicaSet]) -> bool:
        want = d.spec.replicas
        if new_rs.spec.replicas == want:
            return False
        if new_rs.spec.replicas > want:
            self._scale(d, new_rs, want)
            return True
        surge, _ = surge_and_unavailable(d)
        current = sum(self._effective(rs) for rs in [new_rs, *old_rss])
        room = want + surge - current
        if room <= 0:
            return False
        self._scale(d, new_rs, new_rs.spec.replicas + min(room, want - new_rs.spec.replicas))
        return True

    def _reconcile_old(self, d: Deployment, new_rs: ReplicaSet, old_rss: list[ReplicaSet]) -> bool:
        if not any(self._effective(rs) for rs in old_rss):
            return False
        _, max_unavailable = surge_and_unavailable(d)
        min_available = d.spec.replicas - max_unavailable
        all_count = sum(rs.spec.replicas for rs in [new_rs, *old_rss])
        new_unavailable = new_rs.spec.replicas - self._available(new_rs, d)
        budget = all_count - min_available - new_unavailable
        if budget <= 0:
            return False
        oldest_first = sorted(old_rss, key=lambda rs: (revision_of(rs), rs.metadata.creationTimestamp or ""))
        specs = {rs.metadata.uid: rs.spec.replicas for rs in old_rss}
        # Unhealthy old pods first: removing them costs no availability.
        cleaned = 0
        for rs in oldest_first:
            if cleaned >= budget:
                break
            unhealthy = rs.spec.replicas - self._available(rs, d)
            if rs.spec.replicas == 0 or unhealthy <= 0:
                continue
            step = min(budget - cleaned, unhealthy)
            specs[rs.metadata.uid] = rs.spec.replicas - step
            cleaned += step
        available = self._available(new_rs, d) + sum(
            min(self._available(rs, d), specs[rs.metadata.uid]) for rs in old_rss
        )
        allowed = min(available - min_available, budget - cleaned)
        scaled = 0
        for rs in oldest_first:
            if scaled >= allowed:
                break
            current = specs[rs.metadata.uid]
            if current == 0:
                continue
            step = min(current, allowed - scaled)
            specs[rs.metadata.uid] = current - step
            scaled += step
        changed = False
        for rs in oldest_first:
            if specs[rs.metadata.uid] != rs.spec.replicas:
                self._scale(d, rs, specs[rs.metadata.uid])
                changed = True
        return changed

    def _cleanup_history(self, d: Deployment, old_rss: list[ReplicaSet]) -> None:
        idle = [rs for rs in old_rss if rs.spec.replicas == 0 and rs.status.replicas == 0 and not self._pods(rs)]
        surplus = len(idle) - d.spec.revisionHistoryLimit
        if surplus <= 0:
            return
        for rs in sorted(idle, key=revision_of)[:surplus]:
            try:
                self.client.delete(ReplicaSet, rs.metadata.name or "", rs.metadata.namespace)
            except NotFoundError:
                pass

    # -- status ----------------------------------------------------------------------------

    def _write_status(
        self, d: Deployment, new_rs: ReplicaSet | None, old_rss: list[ReplicaSet], *, created: bool = False
    ) -> float | None:
        """Writes the status if it changed; seconds until the progress deadline falls, if it is running."""
        all_rss = [rs for rs in [new_rs, *old_rss] if rs is not None]
        now = self.ctx.clock.time()
        active = [p for rs in all_rss for p in self._active(rs)]
        updated = self._active(new_rs) if new_rs is not None else []
        available = sum(1 for p in active if is_available(p, d.spec.minReadySeconds, now))
        _, max_unavailable = surge_and_unavailable(d)
        old_pods = sum(len(self._active(rs)) for rs in old_rss)
        status = DeploymentStatus(
            observedGeneration=d.metadata.generation,
            replicas=len(active),
            updatedReplicas=len(updated),
            readyReplicas=sum(1 for p in active if is_ready(p)),
            availableReplicas=available,
            unavailableReplicas=max(0, d.spec.replicas - available),
            collisionCount=d.status.collisionCount,
        )
        conditions = list(d.status.conditions or [])
        if available >= d.spec.replicas - max_unavailable:
            self._set_condition(conditions, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            self._set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        deadline_in: float | None = None
        name = (new_rs.metadata.name or "") if new_rs is not None else ""
        if created:
            self._set_condition(conditions, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
        elif new_rs is not None:
            complete = len(updated) == d.spec.replicas and old_pods == 0 and available >= d.spec.replicas
            if complete:
                self._set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.')
            elif progressed(d.status, status) or _progressing(conditions) is None:
                # Progress restarts the deadline (Kubernetes' DeploymentProgressing): the time
                # counts from the last step forward, not from the start of the rollout.
                self._set_condition(
                    conditions, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', refresh=True
                )
            if not complete and not d.spec.paused:
                deadline_in = self._progress_deadline(d, conditions, name, now)
        status.conditions = conditions
        if status.to_dict() != d.status.to_dict():
            changed = d.model_copy(deep=True)
            changed.status = status
            self.client.update_status(changed)
        return deadline_in

    def _progress_deadline(self, d: Deployment, conditions: list[DeploymentCondition], name: str, now: float) -> float | None:
        """Marks the rollout ProgressDeadlineExceeded once no step forward came for
        progressDeadlineSeconds; otherwise the seconds left (None: already exceeded)."""
        cond = _progressing(conditions)
        if cond is None or cond.reason == DEADLINE_EXCEEDED:
            return None
        since = parse_time(cond.lastUpdateTime)
        if since is None:
            return None
        left = since + d.spec.progressDeadlineSeconds - now
        if left > 0:
            return left
        self._set_condition(conditions, "Progressing", "False", DEADLINE_EXCEEDED, f'ReplicaSet "{name}" has timed out progressing.')
        self.ctx.recorder.warning(
            d, DEADLINE_EXCEEDED, f"Deployment made no progress for {d.spec.progressDeadlineSeconds} s (progressDeadlineSeconds)"
        )
        return None

    def _set_condition(
        self, conditions: list[DeploymentCondition], type_: str, status: str, reason: str, message: str, *, refresh: bool = False
    ) -> None:
        """Sets one condition in place; `refresh` moves lastUpdateTime even when nothing else changes."""
        now = self.ctx.clock.rfc3339()
        for i, cond in enumerate(conditions):
            if cond.type != type_:
                continue
            if cond.status == status and cond.reason == reason and cond.message == message and (not refresh or cond.lastUpdateTime == now):
                return
            transition = cond.lastTransitionTime if cond.status == status else now
            conditions[i] = DeploymentCondition(
                type=type_, status=status, reason=reason, message=message, lastUpdateTime=now, lastTransitionTime=transition  # type: ignore[arg-type]
            )
            return
        conditions.append(
            DeploymentCondition(type=type_, status=status, reason=reason, message=message, lastUpdateTime=now, lastTransitionTime=now)  # type: ignore[arg-type]
        )

    def _min_ready_wait(self, d: Deployment, rss: list[ReplicaSet]) -> float | None:
        """Seconds until the next Ready pod counts as available (minReadySeconds), if any waits."""
        if d.spec.minReadySeconds <= 0:
            return None
        now = self.ctx.clock.time()
        waits = [
            since + d.spec.minReadySeconds - now
            for rs in rss
            for p in self._active(rs)
            if (since := ready_since(p)) is not None and not is_available(p, d.spec.minReadySeconds, now)
        ]
        return min(waits) if waits else None


def _progressing(conditions: list[DeploymentCondition]) -> DeploymentCondition | None:
    return next((c for c in conditions if c.type == "Progressing"), None)


def progressed(old: DeploymentStatus, new: DeploymentStatus) -> bool:
    """A step forward between two statuses (Kubernetes' DeploymentProgressing): more updated,
    ready or available pods, or fewer old ones."""
    old_olds = (old.replicas or 0) - (old.updatedReplicas or 0)
    new_olds = (new.replicas or 0) - (new.updatedReplicas or 0)
    return (
        (new.updatedReplicas or 0) > (old.updatedReplicas or 0)
        or new_olds < old_olds
        or (new.readyReplicas or 0) > (old.readyReplicas or 0)
        or (new.availableReplicas or 0) > (old.availableReplicas or 0)
    )

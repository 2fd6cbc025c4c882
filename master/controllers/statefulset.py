"""The StatefulSet controller: pods with stable names, hostnames and claims, in order; revisions; status.

reconcile(namespace/name):

1. revisions: the set's ControllerRevisions (owned by it); the pod template's revision
   is found or made (``<set>-<hash>``, numbered one past the highest; a template that
   comes back, as after ``rollout undo``, takes its old revision with a new number);
   ``status.currentRevision`` stays what the pods were made from until a rolling update
   has replaced them all;
2. the pods the set controls (its controller reference, names ``<set>-<ordinal>``), by
   ordinal; ``statefulset_rules.next_actions`` decides what this pass creates and deletes
   (order, scale-down, rolling update); a new pod's claims (``volumeClaimTemplates``) are
   made first and kept when the pod goes, so the pod that comes back finds its data (a claim
   deleted under a live pod is made again);
3. persistentVolumeClaimRetentionPolicy: ``whenDeleted: Delete`` gives the claims an
   owner reference to the set (the garbage collector removes them with it);
   ``whenScaled: Delete`` deletes the claims of ordinals above the range once their pod is gone;
4. status through /status: replicas, readyReplicas, availableReplicas, currentReplicas,
   updatedReplicas, current/update revision, observedGeneration.

Creating by fixed names is idempotent (AlreadyExists is success), so no expectations are
needed for creates; a pod this controller deleted counts as terminating until the cache
shows it so, so a stale cache never lets a rolling update take down one pod too many.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kajitori.api.apps import ControllerRevision, StatefulSet, StatefulSetStatus
from kajitori.api.core import Pod, PodTemplateSpec
from kajitori.api.meta import ObjectMeta, OwnerReference
from kajitori.api.storage import PersistentVolumeClaim, PersistentVolumeClaimSpec
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.owned_pods import requeue_at_min_ready
from master.controllers.pod_state import (
    controller_ref,
    is_available,
    is_ready,
    is_terminating,
    owner_reference,
)
from master.controllers.revisions import ensure_revision, prune_revisions, template_of
from master.controllers.statefulset_rules import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    REVISION_LABEL,
    claim_name,
    next_actions,
    ordinal_of,
    pod_name,
    revision_of,
    template_hash,
)

log = logging.getLogger(__name__)


class StatefulSetController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.sets = ctx.informers.informer(StatefulSet)
        self.pods = ctx.informers.informer(Pod)
        self.claims = ctx.informers.informer(PersistentVolumeClaim)
        self.revisions = ctx.informers.informer(ControllerRevision)
        self.controller = Controller(
            "statefulset", self.reconcile, informers=[self.sets, self.pods, self.claims, self.revisions], workers=workers
        )
        self._deleted: dict[str, set[str]] = {}  # set key -> uids of pods deleted, not yet seen terminating
        self._lock = threading.Lock()
        self.sets.add_handlers(self._on_set, lambda _old, new: self._on_set(new), self._on_set)
        self.pods.add_handlers(self._on_pod, lambda _old, new: self._on_pod(new), self._on_pod)
        self.claims.add_handlers(None, None, self._on_claim_gone)

    # -- handlers: objects to keys -------------------------------------------------

    def _on_set(self, sts: StatefulSet) -> None:
        self.controller.enqueue(object_key(sts))

    def _on_pod(self, pod: Pod) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.kind == "StatefulSet":
            self.controller.enqueue(f"{pod.metadata.namespace}/{ref.name}")

    def _on_claim_gone(self, claim: PersistentVolumeClaim) -> None:
        # A claim deleted under a pod that needs it is made again.
        for sts in self.sets.by_index("namespace", claim.metadata.namespace or ""):
            if any((claim.metadata.name or "").startswith(f"{t.metadata.name}-{sts.metadata.name}-") for t in sts.spec.volumeClaimTemplates or []):
                self.controller.enqueue(object_key(sts))

    # -- reconcile -------------------------------------------------------------------

    def reconcile(self, key: str) -> None:
        sts = self.sets.get(key)
        if sts is None:
            with self._lock:
                self._deleted.pop(key, None)
            return
        name = sts.metadata.name or ""
        pods: dict[int, Pod] = {}
        for pod in self.pods.by_index("controller-uid", sts.metadata.uid or ""):
            ordinal = ordinal_of(name, pod.metadata.name or "")
            if ordinal is not None:
                pods[ordinal] = self._as_seen(key, pod)
        revisions = self._revisions(sts)
        update_revision = self._ensure_update_revision(sts, revisions)
        current_revision = sts.status.currentRevision if sts.status.currentRevision in revisions else update_revision
        now = self.ctx.clock.time()
        if sts.metadata.deletionTimestamp is None:
            actions = next_actions(sts, pods, update_revision=update_revision, now=now)
            for ordinal in actions.create:
                revision = self._revision_for_new_pod(sts, ordinal, current_revision, update_revision)
                template = revisions.get(revision) or sts.spec.template.to_dict()
                self._create_pod(sts, ordinal, revision, template)
            for victim in actions.delete:
                self._delete_pod(key, sts, victim, pods)
            self._ensure_claims_of_live_pods(sts, pods)
            self._retain_claims(sts, pods)
        self._write_status(sts, pods, current_revision, update_revision, now)
        requeue_at_min_ready([p for p in pods.values() if not is_terminating(p)], sts.spec.minReadySeconds, now)

    def _as_seen(self, key: str, pod: Pod) -> Pod:
        """The cached pod, marked terminating if this controller deleted it and the cache has not caught up."""
        with self._lock:
            deleted = self._deleted.get(key, set())
            if pod.metadata.uid not in deleted:
                return pod
            if is_terminating(pod):
                deleted.discard(pod.metadata.uid or "")
                return pod
        seen = pod.model_copy(deep=True)
        seen.metadata.deletionTimestamp = self.ctx.clock.rfc3339()
        return seen

    # -- revisions ---------------------------------------------------------------------

    def _revisions(self, sts: StatefulSet) -> dict[str, dict[str, Any]]:
        """Revision name -> its pod template."""
        return {
            r.metadata.name or "": template_of(r.data)
            for r in self.revisions.by_index("controller-uid", sts.metadata.uid or "")
        }

    def _ensure_update_revision(self, sts: StatefulSet, templates: dict[str, dict[str, Any]]) -> str:
        template = sts.spec.template.to_dict()
        name = f"{sts.metadata.name}-{template_hash(template, sts.status.collisionCount or 0)}"
        # A template that comes back (rollout undo) becomes the newest revision again.
        newest = sts.status.updateRevision != name
        ensure_revision(self.client, self.revisions, sts, name, template, labels=sts.spec.template.metadata.labels, newest=newest)
        templates.setdefault(name, template)
        in_use = {sts.status.currentRevision or "", sts.status.updateRevision or "", name}
        in_use |= {revision_of(p) for p in self.pods.by_index("controller-uid", sts.metadata.uid or "")}
        prune_revisions(self.client, self.revisions, sts, keep=sts.spec.revisionHistoryLimit, in_use=in_use)
        return name

    @staticmethod
    def _revision_for_new_pod(sts: StatefulSet, ordinal: int, current: str, update: str) -> str:
        """Below the partition a recreated pod keeps the current revision (Kubernetes' newVersionedStatefulSetPod)."""
        rolling = sts.spec.updateStrategy.rollingUpdate
        start = sts.spec.ordinals.start if sts.spec.ordinals is not None else 0
        if sts.spec.updateStrategy.type == "RollingUpdate" and rolling is not None and ordinal < start + rolling.partition:
            return current
        return update

    # -- pods and claims -------------------------------------------------------------------

    def _create_pod(self, sts: StatefulSet, ordinal: int, revision: str, template: dict[str, Any]) -> None:
        name = pod_name(sts.metadata.name or "", ordinal)
        set_name = sts.metadata.name or ""
        # The claim templates become the pod's volumes (replacing any of the same name) before the pod's own checks.
        claim_templates = sorted({t.metadata.name for t in sts.spec.volumeClaimTemplates or [] if t.metadata.name})
        raw_spec = dict(template.get("spec") or {})
        volumes = [v for v in raw_spec.get("volumes") or [] if v.get("name") not in claim_templates]
        volumes += [{"name": t, "persistentVolumeClaim": {"claimName": claim_name(t, set_name, ordinal)}} for t in claim_templates]
        raw_spec["volumes"] = volumes or None
        spec_template = PodTemplateSpec.model_validate({**template, "spec": raw_spec})
        for claim in self._claims_for(sts, ordinal):
            try:
                self.client.create(claim, claim.metadata.namespace)
            except AlreadyExistsError:
                pass
        labels = {
            **(spec_template.metadata.labels or {}),
            REVISION_LABEL: revision,
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(ordinal),
        }
        spec = spec_template.spec
        spec.hostname = name
        if sts.spec.serviceName:
            spec.subdomain = sts.spec.serviceName
        body = Pod(
            metadata=ObjectMeta(
                name=name,
                namespace=sts.metadata.namespace,
                labels=labels,
                annotations=dict(spec_template.metadata.annotations) if spec_template.metadata.annotations else None,
                ownerReferences=[owner_reference(sts)],
            ),
            spec=spec,
        )
        try:
            self.client.create(body, sts.metadata.namespace)
        except AlreadyExistsError:
            return
        self.ctx.recorder.normal(sts, "SuccessfulCreate", f"create Pod {name} in StatefulSet {sts.metadata.name} successful")

    def _claims_for(self, sts: StatefulSet, ordinal: int) -> list[PersistentVolumeClaim]:
        owners: list[OwnerReference] | None = None
        if sts.spec.persistentVolumeClaimRetentionPolicy.whenDeleted == "Delete":
            ref = owner_reference(sts)
            ref.controller = False
            owners = [ref]
        claims = []
        for template in sts.spec.volumeClaimTemplates or []:
            labels = {**(template.metadata.labels or {}), **(sts.spec.selector.matchLabels or {})}
            claims.append(
                PersistentVolumeClaim(
                    metadata=ObjectMeta(
                        name=claim_name(template.metadata.name or "", sts.metadata.name or "", ordinal),
                        namespace=sts.metadata.namespace,
                        labels=labels or None,
                        annotations=dict(template.metadata.annotations) if template.metadata.annotations else None,
                        ownerReferences=owners,
                    ),
                    spec=PersistentVolumeClaimSpec.model_validate(template.spec.to_dict()),
                )
            )
        return claims

    def _ensure_claims_of_live_pods(self, sts: StatefulSet, pods: dict[int, Pod]) -> None:
        """A claim deleted under a live pod is made again (the pod waits for it), as Kubernetes does."""
        if not sts.spec.volumeClaimTemplates:
            return
        for ordinal, pod in pods.items():
            if is_terminating(pod):
                continue
            for claim in self._claims_for(sts, ordinal):
                if self.claims.get(f"{claim.metadata.namespace}/{claim.metadata.name}") is not None:
                    continue
                try:
                    self.client.create(claim, claim.metadata.namespace)
                except AlreadyExistsError:
                    pass

    def _delete_pod(self, key: str, sts: StatefulSet, name: str, pods: dict[int, Pod]) -> None:
        pod = next((p for p in pods.values() if p.metadata.name == name), None)
        if pod is None:
            return
        with self._lock:
            self._deleted.setdefault(key, set()).add(pod.metadata.uid or "")
        try:
            self.client.delete(Pod, name, sts.metadata.namespace)
        except NotFoundError:
            return
        self.ctx.recorder.normal(sts, "SuccessfulDelete", f"delete Pod {name} in StatefulSet {sts.metadata.name} successful")

    def _retain_claims(self, sts: StatefulSet, pods: dict[int, Pod]) -> None:
        """whenScaled: Delete — the claims of ordinals above the range go once their pod has gone."""
        policy = sts.spec.persistentVolumeClaimRetentionPolicy
        if policy.whenScaled != "Delete" or not sts.spec.volumeClaimTemplates:
            return
        start = sts.spec.ordinals.start if sts.spec.ordinals is not None else 0
        end = start + sts.spec.replicas
        set_name = sts.metadata.name or ""
        for claim in self.claims.by_index("namespace", sts.metadata.namespace or ""):
            for template in sts.spec.volumeClaimTemplates:
                prefix = f"{template.metadata.name}-"
                if not (claim.metadata.name or "").startswith(prefix):
                    continue
                ordinal = ordinal_of(set_name, (claim.metadata.name or "").removeprefix(prefix))
                if ordinal is None or start <= ordinal < end or ordinal in pods or claim.metadata.deletionTimestamp:
                    continue
                try:
                    self.client.delete(PersistentVolumeClaim, claim.metadata.name or "", claim.metadata.namespace)
                except NotFoundError:
                    pass

    # -- status ----------------------------------------------------------------------------

    def _write_status(self, sts: StatefulSet, pods: dict[int, Pod], current: str, update: str, now: float) -> None:
        active = [p for p in pods.values() if not is_terminating(p) and p.status.phase not in ("Succeeded", "Failed")]
        ready = [p for p in active if is_ready(p)]
        updated = sum(1 for p in active if revision_of(p) == update)
        current_count = sum(1 for p in active if revision_of(p) == current)
        if (
            sts.spec.updateStrategy.type == "RollingUpdate"
            and updated >= sts.spec.replicas
            and len(ready) >= sts.spec.replicas
            and len(active) == sts.spec.replicas
        ):
            current, current_count = update, updated  # the rolling update is complete
        status = StatefulSetStatus(
            observedGeneration=sts.metadata.generation,
            replicas=len(active),
            readyReplicas=len(ready),
            currentReplicas=current_count,
            updatedReplicas=updated,
            currentRevision=current,
            updateRevision=update,
            collisionCount=sts.status.collisionCount or 0,
            availableReplicas=sum(1 for p in active if is_available(p, sts.spec.minReadySeconds, now)),
            conditions=sts.status.conditions,
        )
        if status.to_dict() == sts.status.to_dict():
            return
        changed = sts.model_copy(deep=True)
        changed.status = status
        try:
            self.client.update_status(changed)
        except NotFoundError:
            pass


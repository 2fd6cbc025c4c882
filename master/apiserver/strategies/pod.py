"""The API server's rules for v1 Pods: what an update may change, and graceful deletion.

A new pod is Pending (status is the agent's to write); an update may change only the
images, tolerations and deadlines, and never `nodeName` (a pod is bound through
pods/binding); a pod bound to a node is deleted gracefully, and goes only once its agent
confirms with a delete of grace 0.
"""

from __future__ import annotations

import copy

from kajitori.api.core import PodSpec
from kajitori.api.registry import Resource
from master.apiserver import errors
from master.apiserver.strategies.base import FieldError, Obj, Strategy
from master.store import Store

DEFAULT_SERVICE_ACCOUNT = "default"


class PodStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        # Status is the agent's to write; a new pod is Pending.
        obj["status"] = {"phase": "Pending"}
        # ServiceAccount admission: a pod runs as its namespace's default ServiceAccount unless it names one.
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec["serviceAccountName"] = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
            spec["serviceAccount"] = spec["serviceAccountName"]

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        """A pod naming a ServiceAccount that does not exist is refused, as Kubernetes' ServiceAccount admission
        refuses it (403). The ``default`` one is let through while missing: the ServiceAccounts controller
        makes it moments after its namespace, and the pod's token then works once it exists."""
        meta, spec = obj["metadata"], obj.get("spec") or {}
        account, namespace = spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT, meta.get("namespace", "")
        if account == DEFAULT_SERVICE_ACCOUNT or store.get(f"/core/serviceaccounts/{namespace}/{account}") is not None:
            return
        raise errors.ApiError(
            403,
            "Forbidden",
            f'pods "{meta.get("name", "")}" is forbidden: error looking up service account {namespace}/{account}: '
            f'serviceaccount "{account}" not found',
            name=meta.get("name"),
            kind="pods",
        )

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Kubernetes allows a pod's spec to change only in container images, tolerations, deadlines."""
        old_account = (old.get("spec") or {}).get("serviceAccountName")
        if isinstance(new.get("spec"), dict) and old_account:
            # The ServiceAccount is defaulted on create; a client sending back its manifest means the same pod.
            new["spec"].setdefault("serviceAccountName", old_account)
            new["spec"].setdefault("serviceAccount", old_account)
        new_spec = copy.deepcopy(new.get("spec") or {})
        old_spec = copy.deepcopy(old.get("spec") or {})
        if old_spec.get("nodeName") and new_spec.get("nodeName") in (None, ""):
            new["spec"]["nodeName"] = old_spec["nodeName"]
            new_spec["nodeName"] = old_spec["nodeName"]
        if new_spec.get("nodeName") != old_spec.get("nodeName"):
            raise FieldError("spec.nodeName", "may not be changed by an update; bind through pods/binding")
        for spec in (new_spec, old_spec):
            for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
                container.pop("image", None)
            for field in ("tolerations", "activeDeadlineSeconds", "terminationGracePeriodSeconds"):
                spec.pop(field, None)
        # Compare after defaulting would be stricter; comparing what clients send back is what they expect.
        if _without_defaults(new_spec) != _without_defaults(old_spec):
            raise FieldError(
                "spec",
                "Forbidden: pod updates may not change fields other than spec.containers[*].image, "
                "spec.initContainers[*].image, spec.activeDeadlineSeconds, spec.tolerations "
                "(only additions to existing tolerations) or spec.terminationGracePeriodSeconds",
            )

    def ready_to_delete(self, obj: Obj) -> bool:
        """A pod still bound to a node waits for its agent to confirm (grace 0), unless it never ran or finished."""
        if not super().ready_to_delete(obj):
            return False
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        return not spec.get("nodeName") or phase in ("Succeeded", "Failed") or meta.get("deletionGracePeriodSeconds") == 0

    def deletion_grace(self, obj: Obj, requested: int | None) -> int | None:
        """Only a pod that runs on a node waits: its agent must stop the containers and then
        confirms with a delete of grace 0. An unscheduled or finished pod goes at once.
        """
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed") or grace == 0:
            return 0 if spec.get("nodeName") and requested == 0 else None
        return int(grace)


def _without_defaults(spec: Obj) -> Obj:
    # A client may send back a spec without the server's defaults; both mean the same pod.
    try:
        return PodSpec.model_validate(spec).to_dict()
    except ValueError:
        return spec

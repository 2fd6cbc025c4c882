"""The API server's rules for batch/v1 Jobs (kube-apiserver's job strategy).

At create the server makes the Job's selector ``controller-uid=<uid>`` and puts the
labels ``controller-uid``, ``job-name`` and their ``batch.kubernetes.io/`` spellings on
the pod template, so a Job's pods can never be confused with another's; a selector
written by the user is accepted only with ``manualSelector: true``. On update the
generated selector and labels are kept when a client leaves them out (a manifest
sent back by ``replace``), and the selector, the pod template and completions are
immutable, as in Kubernetes.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from kajitori.api.batch import (
    BATCH_CONTROLLER_UID_LABEL,
    BATCH_JOB_NAME_LABEL,
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
)
from kajitori.api.registry import Resource
from master.apiserver.strategies.base import FieldError
from master.apiserver.strategies.workloads import WorkloadStrategy
from master.store import Store


def _generated_labels(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    return {
        BATCH_CONTROLLER_UID_LABEL: uid,
        BATCH_JOB_NAME_LABEL: name,
        CONTROLLER_UID_LABEL: uid,
        JOB_NAME_LABEL: name,
    }


def generate_selector(obj: dict[str, Any]) -> None:
    """Give a new Job (uid already assigned) its selector and its template the matching labels."""
    spec = obj["spec"]
    if spec.get("manualSelector"):
        if not spec.get("selector"):
            raise FieldError("spec.selector", "Required value: must be set when manualSelector is true")
        return
    if spec.get("selector"):
        raise FieldError(
            "spec.selector",
            f"Invalid value: {spec['selector']!r}: `selector` will be auto-generated (set manualSelector to choose one)",
        )
    template_meta = spec["template"].setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **_generated_labels(obj)}
    if not obj["metadata"].get("labels"):
        # Kubernetes' SetDefaults_Job (applied again when the new Job is read back): a Job
        # without labels takes its template's, the generated ones included.
        obj["metadata"]["labels"] = dict(template_meta["labels"])
    spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: obj["metadata"]["uid"]}}


def keep_generated_selector(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Before validation: a client that sends the manifest back without what the server added keeps it."""
    old_spec = old.get("spec") or {}
    new_spec = new.get("spec")
    if not isinstance(new_spec, dict) or old_spec.get("manualSelector"):
        return
    if not new_spec.get("selector") and old_spec.get("selector"):
        new_spec["selector"] = copy.deepcopy(old_spec["selector"])
    template = new_spec.get("template")
    if isinstance(template, dict):
        template_meta = template.setdefault("metadata", {})
        old_labels = ((old_spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        generated = {k: v for k, v in old_labels.items() if k in _generated_labels(old)}
        template_meta["labels"] = {**generated, **(template_meta.get("labels") or {})}


class JobStrategy(WorkloadStrategy):
    """A workload (status the controller's, selector immutable) whose pod template and
    completions are fixed once it exists too."""

    immutable_fields: ClassVar[tuple[str, ...]] = (*WorkloadStrategy.immutable_fields, "template", "completions", "completionMode")

    def prepare_for_update(self, new: dict[str, Any], old: dict[str, Any]) -> None:
        keep_generated_selector(new, old)

    def after_validate_create(self, store: Store, resource: Resource, obj: dict[str, Any]) -> None:
        generate_selector(obj)

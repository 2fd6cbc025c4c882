"""What a StatefulSet's pods and claims are called, what its revisions hold, and what to do next: pure rules.

Names are Kubernetes': pod ``<set>-<ordinal>``, claim ``<template>-<set>-<ordinal>``,
revision ``<set>-<hash of the pod template>``; a pod carries the labels
``controller-revision-hash`` (its revision), ``statefulset.kubernetes.io/pod-name``
and ``apps.kubernetes.io/pod-index``, the hostname of its name and the subdomain of
the set's ``serviceName``, so ``web-0.nginx.<ns>.svc.cluster.local`` names it.

``next_actions`` is the decision of one pass, as Kubernetes' stateful set control makes it:

1. every ordinal of the set's range (``ordinals.start`` .. + ``replicas``) that has no
   pod gets one (a finished pod is deleted first, to be made again); with OrderedReady
   the pass stops at the first ordinal that is missing, terminating, or not yet Running
   and Ready (available for ``minReadySeconds``), so pod N+1 starts only once N is ready;
2. pods outside the range are deleted from the highest ordinal down; with OrderedReady
   one at a time, each gone before the next, and only while all the others are healthy;
3. RollingUpdate replaces pods whose revision is not the update revision from the
   highest ordinal down to ``partition``, at most ``maxUnavailable`` (1) unavailable at
   once; OnDelete replaces nothing (a pod deleted by hand comes back at the update revision).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from kajitori.api.apps import StatefulSet
from kajitori.api.core import Pod
from master.controllers.pod_state import is_available, is_terminating

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def pod_name(set_name: str, ordinal: int) -> str:
    return f"{set_name}-{ordinal}"


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    return f"{template}-{set_name}-{ordinal}"


def ordinal_of(set_name: str, name: str) -> int | None:
    """The ordinal of a pod of this set by its name (``web-3`` → 3), None for any other name."""
    prefix, sep, digits = name.rpartition("-")
    if not sep or prefix != set_name or not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
        return None
    return int(digits)


def template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """A short, stable hash of the pod template (Kubernetes hashes it with fnv; any stable hash names a revision)."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":")) + (f"/{collision_count}" if collision_count else "")
    digest = hashlib.sha256(text.encode()).hexdigest()
    # Kubernetes' SafeEncodeString alphabet: no vowels, no look-alikes.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int(digest[:16], 16)
    out = ""
    for _ in range(10):
        number, index = divmod(number, len(alphabet))
        out += alphabet[index]
    return out


def max_unavailable(sts: StatefulSet) -> int:
    rolling = sts.spec.updateStrategy.rollingUpdate
    value = rolling.maxUnavailable if rolling is not None else None
    if value is None:
        return 1
    if isinstance(value, int):
        return max(1, value)
    return max(1, math.floor(int(value[:-1]) * sts.spec.replicas / 100))


def partition(sts: StatefulSet) -> int:
    rolling = sts.spec.updateStrategy.rollingUpdate
    return rolling.partition if rolling is not None else 0


def healthy(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    return pod.status.phase == "Running" and not is_terminating(pod) and is_available(pod, min_ready_seconds, now)


def revision_of(pod: Pod) -> str:
    return (pod.metadata.labels or {}).get(REVISION_LABEL, "")


@dataclass
class Actions:
    create: list[int] = field(default_factory=list)
    """Ordinals to make a pod for, in order."""
    delete: list[str] = field(default_factory=list)
    """Names of pods to delete, in order."""


def next_actions(
    sts: StatefulSet, pods: dict[int, Pod], *, update_revision: str, now: float
) -> Actions:
    """One pass of the set's control (see the module docstring); `pods` by ordinal."""
    ordered = sts.spec.podManagementPolicy == "OrderedReady"
    min_ready = sts.spec.minReadySeconds
    start = sts.spec.ordinals.start if sts.spec.ordinals is not None else 0
    wanted = range(start, start + sts.spec.replicas)
    actions = Actions()
    # 1. the pods of the range, in ordinal order
    for ordinal in wanted:
        pod = pods.get(ordinal)
        if pod is None:
            actions.create.append(ordinal)
            if ordered:
                return actions
            continue
        if pod.status.phase in ("Failed", "Succeeded") and not is_terminating(pod):
            actions.delete.append(pod.metadata.name or "")
            if ordered:
                return actions
            continue
        if ordered and not healthy(pod, min_ready, now):
            return actions
    if actions.create or actions.delete:
        return actions
    # 2. the pods outside the range, highest first
    condemned = sorted((o for o in pods if o not in wanted), reverse=True)
    if condemned:
        if ordered:
            highest = pods[condemned[0]]
            if not is_terminating(highest):
                actions.delete.append(highest.metadata.name or "")
            return actions
        actions.delete.extend(pods[o].metadata.name or "" for o in condemned if not is_terminating(pods[o]))
        return actions
    # 3. the rolling update, highest first down to the partition
    if sts.spec.updateStrategy.type != "RollingUpdate":
        return actions
    updatable = [o for o in sorted(wanted, reverse=True) if o >= start + partition(sts)]
    unavailable = sum(1 for o in wanted if o in pods and not healthy(pods[o], min_ready, now))
    budget = max_unavailable(sts) - unavailable
    for ordinal in updatable:
        pod = pods[ordinal]
        if revision_of(pod) == update_revision or is_terminating(pod):
            continue
        if budget <= 0:
            break
        actions.delete.append(pod.metadata.name or "")
        budget -= 1
    return actions

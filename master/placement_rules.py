"""The placement rules the scheduler and the DaemonSet and volume controllers share: taints, node requirements, volume affinity.

Pure functions over API objects (Kubernetes keeps the same ones in
component-helpers/scheduling): whether a toleration tolerates a taint, the first taint
of some effects a pod does not tolerate, and whether a node's labels or fields meet one
node selector requirement. The scheduler's filters and scores and the DaemonSet
controller's placement import them from here, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from kajitori.api.core import NodeSelector, NodeSelectorRequirement, Taint, Toleration


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ToleratesTaint: effect (empty matches all), key (empty + Exists matches all), value."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if not toleration.key:
        return False
    return (toleration.value or "") == (taint.value or "")


def untolerated_taint(tolerations: Iterable[Toleration], taints: Iterable[Taint], effects: tuple[str, ...]) -> Taint | None:
    tolerations = tuple(tolerations)
    for taint in taints:
        if taint.effect in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def requirement_matches(req: NodeSelectorRequirement, labels: dict[str, str]) -> bool:
    present = req.key in labels
    value = labels.get(req.key)
    values = req.values or []
    if req.operator == "In":
        return present and value in values
    if req.operator == "NotIn":
        return not present or value not in values
    if req.operator == "Exists":
        return present
    if req.operator == "DoesNotExist":
        return not present
    if req.operator in ("Gt", "Lt") and present and values:
        try:
            have, want = int(value or ""), int(values[0])
        except ValueError:
            return False
        return have > want if req.operator == "Gt" else have < want
    return False


def volume_admits_node(required: NodeSelector | None, node_name: str, labels: dict[str, str]) -> bool:
    """A PersistentVolume's ``nodeAffinity.required`` holds on a node (no affinity: every node).

    Terms are ORed, expressions within a term ANDed; ``matchFields`` may name ``metadata.name``.
    """
    if required is None:
        return True
    for term in required.nodeSelectorTerms:
        expressions, fields = term.matchExpressions or [], term.matchFields or []
        if not expressions and not fields:
            continue
        if all(requirement_matches(r, labels) for r in expressions) and all(
            requirement_matches(r, {"metadata.name": node_name}) for r in fields
        ):
            return True
    return False

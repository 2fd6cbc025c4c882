"""Where a DaemonSet's pods go: which nodes should run one, and the pod made for one node.

Kubernetes (since 1.12) lets the default scheduler bind daemon pods: the DaemonSet
controller only decides *which* nodes should run a pod and creates, for each, a pod
whose required node affinity names that node (``matchFields metadata.name In
[node]``). This module is that decision and that pod, as pure functions so that they
can be tested without a cluster:

- ``placement(template, node)`` answers two questions, as Kubernetes'
  ``NodeShouldRunDaemonPod``: should a new pod be made there (nodeSelector, required
  node affinity, no untolerated NoSchedule or NoExecute taint), and may a pod already
  there keep running (the same, but only NoExecute taints count: a NoSchedule taint
  added later does not evict). Readiness does not count, and neither does
  ``spec.unschedulable``: daemon pods tolerate both, as they do in Kubernetes.
- ``daemon_pod(ds, node, hash)`` is the pod to create: the template, the
  ``controller-revision-hash`` label, the controlling owner reference, the node
  affinity, and the tolerations Kubernetes adds to every daemon pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from kajitori.api.apps import DaemonSet
from kajitori.api.core import (
    Affinity,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodTemplateSpec,
    Taint,
    Toleration,
)
from kajitori.api.meta import ObjectMeta
from master.controllers.pod_state import owner_reference
from master.placement_rules import requirement_matches, untolerated_taint

REVISION_HASH_LABEL = "controller-revision-hash"
NODE_NAME_FIELD = "metadata.name"


def _toleration(key: str, effect: str) -> Toleration:
    return Toleration(key=key, operator="Exists", effect=effect)  # type: ignore[arg-type]


# Kubernetes' AddOrUpdateDaemonPodTolerations: a node agent must stay on a node that is
# unhealthy or cordoned, and must start on one under resource pressure.
DAEMON_TOLERATIONS: tuple[Toleration, ...] = (
    _toleration("node.kubernetes.io/not-ready", "NoExecute"),
    _toleration("node.kubernetes.io/unreachable", "NoExecute"),
    _toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
    _toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
    _toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
    _toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
)
# Pods on the host's network do not need the pod network to be up.
HOST_NETWORK_TOLERATION = _toleration("node.kubernetes.io/network-unavailable", "NoSchedule")


@dataclass(frozen=True)
class Placement:
    should_run: bool
    """A pod should be created on this node if it has none."""
    should_continue: bool
    """A pod already on this node may stay."""


def with_daemon_tolerations(tolerations: list[Toleration] | None, *, host_network: bool) -> list[Toleration]:
    """The pod's tolerations plus the daemon ones it does not already have (same key, operator and effect)."""
    result = list(tolerations or [])
    wanted = [*DAEMON_TOLERATIONS, *([HOST_NETWORK_TOLERATION] if host_network else [])]
    for toleration in wanted:
        if not any((t.key, t.operator, t.effect) == (toleration.key, toleration.operator, toleration.effect) for t in result):
            result.append(toleration.model_copy())
    return result


def _affinity_matches(template: PodTemplateSpec, node: Node) -> bool:
    spec = template.spec
    labels = node.metadata.labels or {}
    if spec.nodeName and spec.nodeName != node.metadata.name:
        return False
    if any(labels.get(k) != v for k, v in (spec.nodeSelector or {}).items()):
        return False
    affinity = spec.affinity.nodeAffinity if spec.affinity else None
    required = affinity.requiredDuringSchedulingIgnoredDuringExecution if affinity else None
    if required is None:
        return True
    fields = {NODE_NAME_FIELD: node.metadata.name or ""}
    for term in required.nodeSelectorTerms:
        expressions, field_reqs = term.matchExpressions or [], term.matchFields or []
        if not expressions and not field_reqs:
            continue  # an empty term matches nothing, as in Kubernetes
        if all(requirement_matches(r, labels) for r in expressions) and all(
            requirement_matches(r, fields) for r in field_reqs
        ):
            return True
    return False


def placement(template: PodTemplateSpec, node: Node) -> Placement:
    """Kubernetes' NodeShouldRunDaemonPod for a pod of ``template`` (daemon tolerations added) on ``node``."""
    if not _affinity_matches(template, node):
        return Placement(should_run=False, should_continue=False)
    tolerations = with_daemon_tolerations(template.spec.tolerations, host_network=bool(template.spec.hostNetwork))
    taints: list[Taint] = list(node.spec.taints or [])
    should_continue = untolerated_taint(tolerations, taints, ("NoExecute",)) is None
    should_run = should_continue and untolerated_taint(tolerations, taints, ("NoSchedule",)) is None
    return Placement(should_run=should_run, should_continue=should_continue)


def with_node_affinity(affinity: Affinity | None, node_name: str) -> Affinity:
    """Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity: every required term also names the node.

    The template's own terms keep their matchExpressions (already known to hold on
    this node); their matchFields are replaced by ``metadata.name In [node]``.
    """
    name_req = NodeSelectorRequirement(key=NODE_NAME_FIELD, operator="In", values=[node_name])
    result = affinity.model_copy(deep=True) if affinity else Affinity()
    node_affinity = result.nodeAffinity or NodeAffinity()
    required = node_affinity.requiredDuringSchedulingIgnoredDuringExecution
    terms = [t for t in (required.nodeSelectorTerms if required else []) if t.matchExpressions or t.matchFields]
    if not terms:
        terms = [NodeSelectorTerm()]
    for term in terms:
        term.matchFields = [name_req.model_copy()]
    node_affinity.requiredDuringSchedulingIgnoredDuringExecution = NodeSelector(nodeSelectorTerms=terms)
    result.nodeAffinity = node_affinity
    return result


def target_node(pod: Pod) -> str | None:
    """The node a daemon pod is for: where it is bound, else the node its affinity names."""
    if pod.spec.nodeName:
        return pod.spec.nodeName
    affinity = pod.spec.affinity.nodeAffinity if pod.spec.affinity else None
    required = affinity.requiredDuringSchedulingIgnoredDuringExecution if affinity else None
    for term in required.nodeSelectorTerms if required else []:
        for req in term.matchFields or []:
            if req.key == NODE_NAME_FIELD and req.operator == "In" and len(req.values or []) == 1:
                return (req.values or [""])[0]
    return None


def daemon_pod(ds: DaemonSet, node_name: str, revision_hash: str) -> Pod:
    """The pod the DaemonSet creates for ``node_name`` (unbound: the scheduler binds it)."""
    template = ds.spec.template
    spec = template.spec.model_copy(deep=True)
    spec.affinity = with_node_affinity(spec.affinity, node_name)
    spec.tolerations = with_daemon_tolerations(spec.tolerations, host_network=bool(spec.hostNetwork))
    return Pod(
        metadata=ObjectMeta(
            generateName=f"{ds.metadata.name}-",
            namespace=ds.metadata.namespace,
            labels={**(template.metadata.labels or {}), REVISION_HASH_LABEL: revision_hash},
            annotations=dict(template.metadata.annotations) if template.metadata.annotations else None,
            ownerReferences=[owner_reference(ds)],
        ),
        spec=spec,
    )

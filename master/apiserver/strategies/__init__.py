"""Per-kind rules of the API server (Kubernetes' "strategies"): one module per kind or family.

`strategy_for(resource)` finds a kind's `Strategy` in `STRATEGIES`; a kind not in the table
has no rules beyond its model (the base class's hooks do nothing). A new kind with rules
is one module here and one line in the table. See base.py for when each hook runs.
"""

from __future__ import annotations

from kajitori.api.registry import Resource
from master.apiserver.strategies.autoscaling import HorizontalPodAutoscalerStrategy
from master.apiserver.strategies.base import FieldError, Strategy
from master.apiserver.strategies.certificates import CertificateSigningRequestStrategy
from master.apiserver.strategies.cronjob import CronJobStrategy
from master.apiserver.strategies.ingress import IngressClassStrategy, IngressStrategy
from master.apiserver.strategies.job import JobStrategy
from master.apiserver.strategies.namespace import NamespaceStrategy
from master.apiserver.strategies.node import NodeStrategy
from master.apiserver.strategies.pod import PodStrategy
from master.apiserver.strategies.service import ServiceStrategy
from master.apiserver.strategies.statefulset import ControllerRevisionStrategy, StatefulSetStrategy
from master.apiserver.strategies.storage import (
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    StorageClassStrategy,
)
from master.apiserver.strategies.workloads import ReplicationControllerStrategy, WorkloadStrategy

STRATEGIES: dict[str, Strategy] = {
    "Pod": PodStrategy(),
    "Namespace": NamespaceStrategy(),
    "Node": NodeStrategy(),
    "Service": ServiceStrategy(),
    "Deployment": WorkloadStrategy(),
    "ReplicaSet": WorkloadStrategy(),
    "ReplicationController": ReplicationControllerStrategy(),
    "DaemonSet": WorkloadStrategy(),
    "Job": JobStrategy(),
    "CronJob": CronJobStrategy(),
    "Ingress": IngressStrategy(),
    "IngressClass": IngressClassStrategy(),
    "PersistentVolumeClaim": PersistentVolumeClaimStrategy(),
    "PersistentVolume": PersistentVolumeStrategy(),
    "StorageClass": StorageClassStrategy(),
    "StatefulSet": StatefulSetStrategy(),
    "ControllerRevision": ControllerRevisionStrategy(),
    "HorizontalPodAutoscaler": HorizontalPodAutoscalerStrategy(),
    "CertificateSigningRequest": CertificateSigningRequestStrategy(),
}
"""Keyed by kind (every kind this server serves has one group)."""

_NO_RULES = Strategy()


def strategy_for(resource: Resource) -> Strategy:
    return STRATEGIES.get(resource.kind, _NO_RULES)


__all__ = ["STRATEGIES", "FieldError", "Strategy", "strategy_for"]

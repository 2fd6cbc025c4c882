"""Kajitori's API objects: typed pydantic models in Kubernetes' shape, and the resource table."""

from kajitori.api.apps import Deployment, ReplicaSet, Scale
from kajitori.api.coordination import Lease
from kajitori.api.core import (
    Binding,
    ConfigMap,
    Container,
    Endpoints,
    Event,
    Namespace,
    Node,
    Pod,
    Secret,
    Service,
    ServiceAccount,
)
from kajitori.api.meta import LabelSelector, ObjectMeta, OwnerReference, Status, TypedObject
from kajitori.api.registry import RESOURCES, Resource, by_kind, by_model, by_name, by_path

__all__ = [
    "RESOURCES",
    "Binding",
    "ConfigMap",
    "Container",
    "Deployment",
    "Endpoints",
    "Event",
    "LabelSelector",
    "Lease",
    "Namespace",
    "Node",
    "ObjectMeta",
    "OwnerReference",
    "Pod",
    "ReplicaSet",
    "Resource",
    "Scale",
    "Secret",
    "Service",
    "ServiceAccount",
    "Status",
    "TypedObject",
    "by_kind",
    "by_model",
    "by_name",
    "by_path",
]

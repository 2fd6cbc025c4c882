"""coordination.k8s.io/v1 Lease: the cheap heartbeat a node agent renews every few seconds."""

from __future__ import annotations

from pydantic import Field

from kajitori.api.meta import Int32, KubeModel, TypedObject


class LeaseSpec(KubeModel):
    holderIdentity: str | None = None
    leaseDurationSeconds: Int32 | None = None
    acquireTime: str | None = None
    renewTime: str | None = None
    leaseTransitions: Int32 | None = None


class Lease(TypedObject):
    apiVersion: str | None = "coordination.k8s.io/v1"
    kind: str | None = "Lease"
    spec: LeaseSpec = Field(default_factory=LeaseSpec)

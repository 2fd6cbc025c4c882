"""coordination.k8s.io/v1 Lease: the cheap heartbeat a node agent renews every few seconds."""

from __future__ import annotations

from pydantic import Field

from kajitori.api.meta import Int32, KubeModel, TypedObject


class LeaseSpec(KubeModel):
    """The holder and timing of a Lease."""

    holderIdentity: str | None = None
    """Who holds the lease."""
    leaseDurationSeconds: Int32 | None = None
    """Seconds the lease is held without a renewal."""
    acquireTime: str | None = None
    renewTime: str | None = None
    """When the holder last renewed the lease."""
    leaseTransitions: Int32 | None = None


class Lease(TypedObject):
    """A Lease is a lock with a holder and a renew time: node heartbeats and leader election."""

    apiVersion: str | None = "coordination.k8s.io/v1"
    kind: str | None = "Lease"
    spec: LeaseSpec = Field(default_factory=LeaseSpec)
    """The holder and timing of the lease."""

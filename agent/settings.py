"""Everything the node agent can be told, as nested dataclasses; nothing below the CLI reads flags or env.

`kajitori agent` turns its flags into an `AgentSettings` and hands it to `agent.agent.Agent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class HeartbeatSettings:
    lease_renew_s: float = 2.0
    """How often the node's Lease in kube-node-lease is renewed (the cheap heartbeat)."""
    lease_duration_s: int = 40
    """leaseDurationSeconds written into the Lease (Kubernetes' default)."""
    status_update_s: float = 10.0
    """How often the Node's conditions are rewritten when nothing changed."""
    retry_max_s: float = 8.0
    """Longest wait between attempts while the master cannot be reached."""


@dataclass
class BackoffSettings:
    """kubelet's crash-loop and image-pull back-off: initial, doubling, capped, forgotten after a calm period."""

    initial_s: float = 10.0
    max_s: float = 300.0
    reset_after_s: float = 600.0
    """A container that ran this long without a restart starts again from `initial_s`."""


@dataclass
class DNSSettings:
    cluster_dns: str = "10.96.0.10"
    """The nameserver pods with dnsPolicy ClusterFirst use."""
    cluster_domain: str = "cluster.local"
    ndots: int = 5


@dataclass
class AgentSettings:
    kubeconfig: str
    """The node's own kubeconfig (``system:node:<name>``, a client certificate: ``kajitori node join``)."""
    node_name: str
    node_ip: str
    """The node's address on the cluster network (InternalIP, pods' hostIP, where port 10250 listens)."""
    runtime: str = "docker"
    """`docker` (real containers) or `fake` (hollow node, containers only in memory)."""
    capacity_cpu: int | None = None
    """CPUs to report; default: what the runtime sees."""
    capacity_memory_bytes: int | None = None
    """Memory to report; default: what the runtime sees."""
    max_pods: int = 110
    pods_root: Path = Path("/var/lib/kajitori/pods")
    """Where pod volumes (emptyDir, configMap, secret) live, one directory per pod uid."""
    volumes_root: Path = Path("/var/lib/kajitori/volumes")
    """Where local-path PersistentVolumes of this node live, one directory per volume (published on the Node
    as the ``kajitori.io/volumes-root`` annotation for the master's provisioner)."""
    network: str = "kajitori-pods"
    """The runtime network pods join; `kajitori-pods` is the node's podCIDR bridge made by net.pod_network."""
    port: int = 10250
    cert_dir: Path = Path("/var/lib/kajitori/pki")
    """Where the self-signed serving certificate of port 10250 is kept (kubelet's --cert-dir)."""
    """Port of the logs/exec server (reported as daemonEndpoints.kubeletEndpoint.Port)."""
    pod_workers: int = 32
    """Threads syncing pods; a pod is never synced by two at once."""
    max_concurrent_starts: int | None = None
    """At most this many container creates/starts in dockerd at once, begun pods first (see
    agent.start_gate); None: no limit. On a 2-core node a burst of 30 pods with 4 had a better
    median but a worse p99 than with no limit (bench/pod_startup), so the default is no limit."""
    relist_s: float = 10.0
    """Every pod is synced again at this period, and orphaned containers are removed."""
    probe_network: bool = True
    """Run httpGet/tcpSocket probes for real; hollow nodes (fake runtime) treat them as passing."""
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings)
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    dns: DNSSettings = field(default_factory=DNSSettings)

"""The master's settings: one dataclass per part, a docstring under each field.

Nothing deeper in the master reads the environment or the command line; the CLI
builds these and passes them down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ControllerSettings:
    scheduler: bool = True
    """Run the scheduler loop."""
    replicaset: bool = True
    """Run the ReplicaSet controller."""
    replicationcontroller: bool = True
    """Run the ReplicationController controller (the ReplicaSet's loop over v1 ReplicationControllers)."""
    deployment: bool = True
    """Run the Deployment controller."""
    daemonset: bool = True
    """Run the DaemonSet controller (one pod per eligible node)."""
    job: bool = True
    """Run the Job controller (run-to-completion pods)."""
    job_backoff_base_s: float = 10.0
    """Delay before a Job's pod is recreated after its first failure, doubling per failure (Kubernetes: 10 s)."""
    job_backoff_max_s: float = 360.0
    """The longest delay between a Job's recreations after failures (Kubernetes: 6 min)."""
    cronjob: bool = True
    """Run the CronJob controller (Jobs on a schedule)."""
    cronjob_clock_speed: float = 1.0
    """How many times faster than real time the CronJob controller's clock runs (tests only: 60 makes a minute a second)."""
    horizontal_pod_autoscaler: bool = True
    """Scale workloads on their pods' CPU/memory (master.controllers.hpa)."""
    hpa_sync_period_s: float = 15.0
    """Seconds between two reconciles of one HPA (kube-controller-manager's --horizontal-pod-autoscaler-sync-period)."""
    statefulset: bool = True
    """Run the StatefulSet controller (pods with stable names and claims, in order)."""
    persistentvolume: bool = True
    """Run the PersistentVolume controller (binding, the local-path provisioner, protection finalizers)."""
    endpoints: bool = True
    """Run the Endpoints controller."""
    load_balancer: bool = True
    """Run the LoadBalancer controller (addresses of ``load_balancer_pool`` for ``type: LoadBalancer``)."""
    load_balancer_pool: str = "192.168.56.200-192.168.56.239"
    """Addresses handed to LoadBalancer Services: ``A-B`` or a CIDR, inside ``lab_network``."""
    lab_network: str = "192.168.56.0/24"
    """The lab network; a pool reaching outside it is refused."""
    node_lifecycle: bool = True
    """Run the node lifecycle controller (NotReady, taints, evictions)."""
    garbage_collector: bool = True
    """Run the garbage collector (ownerReferences, namespace deletion)."""
    namespace: bool = True
    """Run the namespace controller (empties a Terminating namespace, then finalizes it)."""
    serviceaccount: bool = True
    """Run the ServiceAccounts controller (a ``default`` ServiceAccount in every namespace)."""
    clusterrole_aggregation: bool = True
    """Run the ClusterRole aggregation controller (rules of aggregated ClusterRoles such as admin, edit, view)."""
    csr_approving: bool = True
    """Run the CSR approver (node client certificates of the right shape, from a bootstrapper or the node itself)."""
    csr_signing: bool = True
    """Run the CSR signer (approved requests of the kube-apiserver-client and -kubelet signers, with the cluster CA)."""
    csr_signing_duration_s: int = 365 * 24 * 3600
    """The longest lifetime of a signed certificate (kube-controller-manager's --cluster-signing-duration: 1 year)."""
    bootstrap_token_cleaner: bool = True
    """Run the bootstrap token cleaner (deletes kube-system's bootstrap token Secrets once they expire)."""
    bootstrap_signer: bool = True
    """Run the bootstrap signer (signs kube-public/cluster-info with each signing bootstrap token)."""
    event_ttl: bool = True
    """Run the event TTL loop (deletes Events older than ``event_ttl_s``)."""
    event_ttl_s: float = 3600.0
    """How long an Event is kept after it last happened (Kubernetes' --event-ttl: 1 h)."""
    node_monitor_grace_s: float = 6.0
    """A node whose heartbeat is older than this becomes NotReady (Kubernetes: 40 s)."""
    pod_eviction_timeout_s: float = 2.0
    """How long pods may stay on a NotReady node before they are deleted (Kubernetes: 300 s)."""
    percentage_of_nodes_to_score: int = 0
    """Stop filtering once this share of nodes fits (0: Kubernetes' adaptive 50 - nodes/125, at least 5)."""


@dataclass
class StoreSettings:
    backend: str = "sqlite"
    """Where the objects live: "sqlite" (one file in data_dir, one master) or "etcd" (shared by masters)."""
    etcd_servers: list[str] = field(default_factory=list)
    """etcd client URLs (kube-apiserver's --etcd-servers); a request that cannot connect tries the next."""
    etcd_cafile: str | None = None
    """CA that signed the etcd servers' certificates (https URLs)."""
    etcd_certfile: str | None = None
    """Client certificate presented to etcd."""
    etcd_keyfile: str | None = None
    """Key of the client certificate."""
    etcd_compaction_interval_s: float = 300.0
    """Compact etcd's history this often; watches older than one interval answer 410 (0: never; Kubernetes: 5 min)."""
    etcd_startup_timeout_s: float = 60.0
    """How long a starting master waits for etcd to answer before it gives up (masters may start first)."""
    etcd_request_timeout_s: float = 5.0
    """How long one etcd request may go unanswered before the next member is asked (a hung member)."""
    etcd_watch_deadline_s: float = 10.0
    """A cache watch silent this long (no event, no progress notification) is re-made on the next member."""

    @classmethod
    def from_flags(
        cls,
        backend: str,
        servers: str,
        cafile: str | None,
        certfile: str | None,
        keyfile: str | None,
        compaction_interval_s: float,
    ) -> StoreSettings:
        """The settings of ``--store`` and ``--etcd-*``; ValueError says which flag is wrong."""
        if backend not in ("sqlite", "etcd"):
            raise ValueError(f"--store must be sqlite or etcd, not {backend!r}")
        urls = [u.strip() for u in servers.split(",") if u.strip()]
        if backend == "etcd" and not urls:
            raise ValueError("--store etcd needs --etcd-servers URL[,URL...]")
        if bool(certfile) != bool(keyfile):
            raise ValueError("--etcd-certfile and --etcd-keyfile go together")
        return cls(backend, urls, cafile, certfile, keyfile, compaction_interval_s)


@dataclass
class LeaderElectionSettings:
    enabled: bool = False
    """Run the controllers and the scheduler only while this master holds their Lease (on with etcd)."""
    lease_duration_s: float = 4.0
    """How long others wait after the leader's last renewal before taking over (Kubernetes: 15 s)."""
    renew_deadline_s: float = 3.0
    """How long a leader keeps acting without renewing; below the lease duration (Kubernetes: 10 s)."""
    retry_period_s: float = 1.0
    """How often candidates try and the leader renews (Kubernetes: 2 s)."""
    identity: str | None = None
    """This master's name in the Leases (default: host name and a fresh UUID, as Kubernetes)."""


@dataclass
class MasterSettings:
    data_dir: Path = Path("./kajitori-data")
    """Where the SQLite store (unless the store is etcd), tokens, kubeconfigs and the CA and serving certificate (pki/) live."""
    host: str = "0.0.0.0"
    """Address the API server listens on."""
    port: int = 6443
    """Port the API server listens on."""
    advertise_address: str | None = None
    """Address written into the kubeconfigs (default: the listen address, or 127.0.0.1)."""
    control_plane_endpoint: str | None = None
    """The masters' one shared address (a virtual IP or load balancer; kubeadm's controlPlaneEndpoint),
    HOST or HOST:PORT: the serving certificate covers it and the kubeconfigs handed out (admin,
    node) point at it. The master's own loops still talk to their local API server. None: this
    master's advertised address, as with one master."""
    auth: bool = True
    """Require credentials (tests of the raw API may switch it off)."""
    authorization: bool = True
    """Authorize each request (Node, RBAC; kube-apiserver's --authorization-mode=Node,RBAC); off: AlwaysAllow."""
    watch_history: int = 20_000
    """Recent events kept for watches that resume; older versions answer 410 Gone."""
    watch_history_bytes: int = 64 * 1024 * 1024
    """The same history's bound in bytes (each event's object and previous state), whichever comes first."""
    max_header_bytes: int = 1 << 20
    """A request line and headers longer than this are answered 431 (Go's and so kube-apiserver's bound)."""
    header_timeout_s: float = 32.0
    """A request's headers must be complete this long after its first byte, or 408 (kube-apiserver's)."""
    dns_listen: tuple[str, int] | None = None
    """Serve cluster DNS on this address (the kube-dns Service 10.96.0.10 points at it); None: off."""
    metric_resolution_s: float = 15.0
    """Seconds between scrapes of the agents' resource metrics (metrics-server's --metric-resolution)."""
    controllers: ControllerSettings = field(default_factory=ControllerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    leader_election: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    master_lease_duration_s: float = 6.0
    """This master's Lease in kube-system (renewed every third of it): its address leaves the
    ``kubernetes`` and ``kube-dns`` Endpoints this long after its last renewal."""

    @property
    def advertised_host(self) -> str:
        return self.advertise_address or (self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1")

    @property
    def server_url(self) -> str:
        """This master's own API server: what its loops and component kubeconfigs use."""
        return _https_url(self.advertised_host, self.port)

    @property
    def endpoint_host(self) -> str | None:
        """The host part of ``control_plane_endpoint`` (what the serving certificate must name)."""
        if not self.control_plane_endpoint:
            return None
        return _split_endpoint(self.control_plane_endpoint, self.port)[0]

    @property
    def public_url(self) -> str:
        """The URL handed out in admin.kubeconfig (and cluster-info): the shared endpoint, else this master."""
        if not self.control_plane_endpoint:
            return self.server_url
        return _https_url(*_split_endpoint(self.control_plane_endpoint, self.port))

    @property
    def loopback_kubeconfig(self) -> Path:
        """The admin kubeconfig at this master's own API server (kube-apiserver's loopback client);
        the loops use their own identities (``component_kubeconfig``) whenever credentials are required."""
        return self.data_dir / "loopback.kubeconfig"

    def component_kubeconfig(self, name: str) -> Path:
        """The kubeconfig one of this master's own loops runs with: its own certificate of the cluster
        CA at this master's API server (``kubeconfigs/<name>.kubeconfig``, ``master.apiserver.certs``);
        without authentication there are no identities, and the loopback kubeconfig serves."""
        if not self.auth:
            return self.loopback_kubeconfig
        return self.data_dir / "kubeconfigs" / f"{name}.kubeconfig"


def _https_url(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _split_endpoint(endpoint: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT or [V6]:PORT into (host, port)."""
    text = endpoint.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, default_port

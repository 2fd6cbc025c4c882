"""Every master's own Lease, and the Endpoints of the Services that point at the masters.

What kube-apiserver's lease endpoint reconciler does, on Leases the API serves: each master
keeps Lease ``kube-system/apiserver-<hash>`` (the hash of its host name and address, as
kube-apiserver names its identity Lease) labelled ``apiserver.kubernetes.io/identity:
kube-apiserver`` and annotated with where it serves the API (and cluster DNS), renewed every
third of its duration. Every master then keeps, from the Leases that are live:

- ``default/kubernetes``: every live master's address and API port (one subset per port;
  in the lab all masters use 6443, so one subset);
- ``kube-system/kube-dns``: every live master that serves cluster DNS, on port 53.

A Lease is live until ``renewTime + leaseDurationSeconds`` (wall clocks, as kube-apiserver's
identity Lease collector compares them: the masters' clocks must agree to within a second or
so). A master killed with ``-9`` stops renewing; one lease duration later every other master
drops its address and deletes its Lease, and a master that comes back recreates it. Endpoints
are written only when they differ from what is stored, and every write is compare-and-swap,
so masters reconciling at once converge instead of taking turns. The reconcile is
level-triggered on a Lease informer (and requeued for the next expiry), never a poll of the API.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kajitori import config
from kajitori.api import Lease
from kajitori.api.meta import ObjectMeta
from kajitori.api.registry import by_path
from kajitori.client import AlreadyExistsError, ApiClient, ApiError, ConflictError, NotFoundError
from kajitori.clock import Clock, parse_time
from kajitori.controller import Controller, Requeue
from kajitori.informer import Informer
from master.settings import MasterSettings

log = logging.getLogger(__name__)

NAMESPACE = "kube-system"
IDENTITY_LABEL = "apiserver.kubernetes.io/identity"
IDENTITY = "kube-apiserver"
API_ADDRESS = "kajitori.io/api-address"  # "IP:PORT" the master serves the API on
DNS_ADDRESS = "kajitori.io/dns-address"  # the IP the master serves cluster DNS on (port 53), if it does
API_PORT_NAME = "https"
DNS_PORTS = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
ENDPOINTS = by_path("", "v1", "endpoints")
KEY = "masters"  # the one key of the reconcile: both Endpoints follow the same Leases


def micro_time(epoch: float) -> str:
    # Lease times are MicroTime in Kubernetes (RFC 3339 with microseconds).
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_name(host: str, address: str, port: int) -> str:
    return "apiserver-" + hashlib.sha256(f"{host}/{address}:{port}".encode()).hexdigest()[:16]


def _split(address: str) -> tuple[str, int]:
    ip, _, port = address.rpartition(":")
    return ip.strip("[]"), int(port)


def expiry(lease: Lease) -> float:
    """When ``lease`` stops being live (seconds since the epoch); 0 when it says nothing."""
    renewed = parse_time(lease.spec.renewTime)
    return 0.0 if renewed is None else renewed + float(lease.spec.leaseDurationSeconds or 0)


def desired_subsets(leases: list[Lease]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``kubernetes`` and ``kube-dns`` subsets that the live ``leases`` call for (sorted, so equal sets compare equal)."""
    by_port: dict[int, set[str]] = {}
    dns: set[str] = set()
    for lease in leases:
        annotations = lease.metadata.annotations or {}
        if api := annotations.get(API_ADDRESS):
            try:
                ip, port = _split(api)
            except ValueError:
                continue
            by_port.setdefault(port, set()).add(ip)
        if dns_ip := annotations.get(DNS_ADDRESS):
            dns.add(dns_ip)
    api_subsets = [
        {"addresses": [{"ip": ip} for ip in sorted(ips)], "ports": [{"name": API_PORT_NAME, "port": port, "protocol": "TCP"}]}
        for port, ips in sorted(by_port.items())
    ]
    dns_subsets = [{"addresses": [{"ip": ip} for ip in sorted(dns)], "ports": DNS_PORTS}] if dns else []
    return api_subsets, dns_subsets


class MasterEndpoints:
    """This master's Lease (renewed on a thread) and the reconcile of both Endpoints (a one-key controller)."""

    def __init__(
        self,
        client: ApiClient,
        *,
        address: str,
        port: int,
        dns: bool,
        lease_duration_s: float,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.name = lease_name(socket.gethostname(), address, port)
        self.identity = f"{IDENTITY}-{uuid.uuid4()}"
        self.address, self.port, self.dns = address, port, dns
        self.lease_duration_s = lease_duration_s
        self.leases: Informer[Lease] = Informer(
            client, Lease, namespace=NAMESPACE, label_selector=f"{IDENTITY_LABEL}={IDENTITY}"
        )
        self.leases.add_handlers(
            on_add=lambda _: self.controller.enqueue(KEY),
            on_update=lambda _old, _new: self.controller.enqueue(KEY),
            on_delete=lambda _: self.controller.enqueue(KEY),
        )
        self.controller = Controller("master-endpoints", self.reconcile, informers=[self.leases])
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # -- this master's Lease ---------------------------------------------------

    def renew(self) -> None:
        """Create or renew this master's Lease (one try)."""
        now = micro_time(self.clock.time())
        annotations = {API_ADDRESS: f"{self.address}:{self.port}"}
        if self.dns:
            annotations[DNS_ADDRESS] = self.address
        try:
            lease = self.client.get(Lease, self.name, NAMESPACE)
        except NotFoundError:
            lease = Lease(
                metadata=ObjectMeta(
                    name=self.name, namespace=NAMESPACE, labels={IDENTITY_LABEL: IDENTITY}, annotations=annotations
                )
            )
            lease.spec.holderIdentity = self.identity
            lease.spec.leaseDurationSeconds = max(1, round(self.lease_duration_s))
            lease.spec.acquireTime = lease.spec.renewTime = now
            try:
                self.client.create(lease, NAMESPACE)
            except AlreadyExistsError:
                pass  # made by a reconcile's race with a restart of ours: renewed next turn
            return
        lease.metadata.labels = {**(lease.metadata.labels or {}), IDENTITY_LABEL: IDENTITY}
        lease.metadata.annotations = {**(lease.metadata.annotations or {}), **annotations}
        if not self.dns:
            lease.metadata.annotations.pop(DNS_ADDRESS, None)
        if lease.spec.holderIdentity != self.identity:
            lease.spec.holderIdentity, lease.spec.acquireTime = self.identity, now
        lease.spec.leaseDurationSeconds = max(1, round(self.lease_duration_s))
        lease.spec.renewTime = now
        self.client.update(lease)  # compare-and-swap; a conflict is retried next turn

    def _renew_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.renew()
            except ApiError as exc:
                log.warning("could not renew this master's Lease %s/%s: %s", NAMESPACE, self.name, exc)
            self._stop.wait(self.lease_duration_s / 3)

    # -- the Endpoints -------------------------------------------------------

    def reconcile(self, key: str) -> None:
        now = self.clock.time()
        live: list[Lease] = []
        expired: list[Lease] = []
        for lease in self.leases.list():
            (live if expiry(lease) > now else expired).append(lease)
        api_subsets, dns_subsets = desired_subsets(live)
        self._ensure(ENDPOINTS, "default", "kubernetes", api_subsets)
        if dns_subsets:
            self._ensure(ENDPOINTS, NAMESPACE, "kube-dns", dns_subsets)
        for lease in expired:
            # kube-apiserver's collector of expired identity Leases; a master that returns makes its own again.
            log.info("master Lease %s expired: dropping %s", lease.metadata.name, (lease.metadata.annotations or {}).get(API_ADDRESS))
            try:
                self.client.delete(Lease, lease.metadata.name or "", NAMESPACE, resource_version=lease.metadata.resourceVersion)
            except (NotFoundError, ConflictError):
                pass  # gone already, or renewed meanwhile: the informer brings the change
        if live:
            raise Requeue(max(0.1, min(expiry(lease) for lease in live) - now + 0.1))

    def _ensure(self, resource: Any, namespace: str, name: str, subsets: list[dict[str, Any]]) -> None:
        """Write the Endpoints only when their subsets differ (compare-and-swap on what was read)."""
        try:
            current = self.client.get_raw(resource, name, namespace)
        except NotFoundError:
            self.client.create_raw(resource, {"metadata": {"name": name, "namespace": namespace}, "subsets": subsets}, namespace)
            return
        if (current.get("subsets") or []) == subsets:
            return
        log.info("%s/%s endpoints: %s", namespace, name, [a["ip"] for s in subsets for a in s["addresses"]])
        self.client.update_raw(resource, {**current, "subsets": subsets}, namespace)

    # -- running -------------------------------------------------------------

    def start(self) -> MasterEndpoints:
        self.renew_safely()
        self._renewer = threading.Thread(target=self._renew_forever, name="master-lease", daemon=True)
        self._renewer.start()
        self.leases.start()
        self.controller.start()
        return self

    def renew_safely(self) -> None:
        try:
            self.renew()
        except ApiError as exc:
            log.warning("could not create this master's Lease %s/%s: %s", NAMESPACE, self.name, exc)

    def stop(self) -> None:
        """Stop renewing and delete this master's Lease, so the others drop its address at once."""
        self._stop.set()
        self.controller.stop()
        self.leases.stop()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        try:
            self.client.delete(Lease, self.name, NAMESPACE)
        except ApiError as exc:
            log.info("could not delete this master's Lease %s/%s: %s", NAMESPACE, self.name, exc)


def start_master_endpoints(settings: MasterSettings) -> Callable[[], None]:
    client = ApiClient(config.load(settings.component_kubeconfig("master-endpoints")), user_agent="kajitori-master-endpoints")
    loop = MasterEndpoints(
        client,
        address=settings.advertised_host,
        port=settings.port,
        dns=settings.dns_listen is not None,
        lease_duration_s=settings.master_lease_duration_s,
    ).start()
    log.info("master Lease %s/%s, renewed every %.1f s", NAMESPACE, loop.name, settings.master_lease_duration_s / 3)

    def stop() -> None:
        loop.stop()
        client.close()

    return stop

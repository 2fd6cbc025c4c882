"""L2 announcement of load-balancer addresses by one node's proxy (MetalLB's layer-2 mode).

One thread (`run`) owns it: every `period` seconds, and at once after any change of the
Services, Endpoints, Nodes or Leases it watches, it

1. renews this proxy's Lease `kube-node-lease/kajitori-proxy-<node>` (the others' proof
   that this proxy lives; see net/l2_election.py) when a `period` has passed since the last
   renewal — not on every pass: the pass a change wakes up must not write, as the renewal is
   itself a change of a watched Lease (every proxy's renewal woke every proxy, which renewed
   again: ten Lease writes a second per node, the master's watch history overrun);
2. computes the addresses this node must answer for (`addresses_to_announce`) and makes
   the interface match: adds what is missing (then gratuitous ARP, sent again twice at
   least `ANNOUNCE_INTERVAL_S` apart, since one frame may be lost and Linux neighbours
   ignore an ARP update that comes within `locktime`, 1 s, of the previous one — e.g. of
   the node that held the address a moment before), removes what is ours and no longer
   wanted.

It fences itself: while its own Lease could not be renewed for a whole lease duration
(the master unreachable) or its Node is not Ready, it gives up every address, because the
other nodes already consider it gone and take them over. `stop` gives up the addresses and
deletes the Lease, so a graceful stop hands over at once; a killed proxy leaves its
addresses on the interface until it is restarted (or its machine goes away) — the other
node's gratuitous ARP moves the lab's traffic, but the stale node would still answer ARP
requests; see docs/design-notes.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from kajitori.api.coordination import Lease
from kajitori.api.core import Endpoints, Node, Service
from kajitori.client import AlreadyExistsError, ApiError, NotFoundError
from kajitori.seams import ApiWriter, Cache
from net.l2_addresses import AddressTable, AnnounceError, PyrouteAddresses
from net.l2_election import (
    LEASE_NAMESPACE,
    LEASE_PREFIX,
    addresses_to_announce,
    candidates,
    lease_name,
    node_ready,
)
from net.lb_pool import AddressPool

log = logging.getLogger(__name__)

LEASE_DURATION_S = 5
"""How long a silent proxy still counts as alive; with 1 s passes, a dead node's addresses move within ~6 s."""
MIN_PASS_GAP_S = 0.05
"""The shortest wait between two passes not woken by a change."""
ANNOUNCE_REPEATS = 3
ANNOUNCE_INTERVAL_S = 1.1
"""Gap between gratuitous ARPs of one address: longer than Linux's default neigh locktime (1 s)."""


def _micro_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class L2Announcer:
    def __init__(
        self,
        client: ApiWriter,
        node_name: str,
        *,
        pool: AddressPool,
        services: Cache[Service],
        endpoints: Cache[Endpoints],
        nodes: Cache[Node],
        leases: Cache[Lease],
        addresses: AddressTable | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        period: float = 1.0,
        lease_duration_s: int = LEASE_DURATION_S,
    ) -> None:
        self.client = client
        self.node = node_name
        self.pool = pool
        self.services, self.endpoints, self.nodes, self.leases = services, endpoints, nodes, leases
        self._pyroute = addresses is None
        self.addresses: AddressTable = addresses or PyrouteAddresses(pool)
        self.clock = clock
        self.monotonic = monotonic
        self.period = period
        self.lease_duration_s = lease_duration_s
        self._renewed_at: float | None = None
        self._renewal_due: float | None = None
        """Monotonic time of the next Lease renewal (None: at the next pass)."""
        self._to_announce: dict[str, tuple[int, float]] = {}
        """Address -> (announcements still to send, monotonic time the next one is due)."""
        self.changed = threading.Event()
        for cache in (services, endpoints, nodes, leases):
            cache.add_handlers(lambda _o: self.changed.set(), lambda _o, _n: self.changed.set(), lambda _o: self.changed.set())

    # ---- the Lease ---------------------------------------------------------------------------

    def renew_lease(self) -> None:
        now = self.clock()
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": self.lease_duration_s, "renewTime": _micro_time(now)}
        name = lease_name(self.node)
        try:
            try:
                self.client.patch(Lease, name, {"spec": spec}, LEASE_NAMESPACE)
            except NotFoundError:
                body = Lease.model_validate({"metadata": {"name": name, "namespace": LEASE_NAMESPACE},
                                             "spec": {**spec, "acquireTime": spec["renewTime"]}})  # fmt: skip
                try:
                    self.client.create(body, LEASE_NAMESPACE)
                except AlreadyExistsError:
                    self.client.patch(Lease, name, {"spec": spec}, LEASE_NAMESPACE)
        except (ApiError, OSError) as exc:
            log.warning("renewing the proxy Lease %s: %s", name, exc)
            return
        self._renewed_at = now

    def release_lease(self) -> None:
        try:
            self.client.delete(Lease, lease_name(self.node), LEASE_NAMESPACE)
        except NotFoundError:
            pass
        except (ApiError, OSError) as exc:
            log.warning("deleting the proxy Lease: %s", exc)

    # ---- one pass ------------------------------------------------------------------------------

    def wanted(self) -> dict[str, str]:
        """Addresses this node must answer for now (address -> Service key)."""
        now = self.clock()
        me = self.nodes.get(self.node)
        if me is None or not node_ready(me.to_dict()):
            return {}
        if self._renewed_at is None or now - self._renewed_at >= self.lease_duration_s:
            return {}  # the others no longer count this proxy as alive: fence
        leases = {
            (lease.metadata.name or "")[len(LEASE_PREFIX):]: lease.to_dict()
            for lease in self.leases.list()
            if lease.metadata.namespace == LEASE_NAMESPACE and (lease.metadata.name or "").startswith(LEASE_PREFIX)
        }
        eligible = candidates([n.to_dict() for n in self.nodes.list()], leases, now)
        endpoints = {f"{e.metadata.namespace}/{e.metadata.name}": e.to_dict() for e in self.endpoints.list()}
        return addresses_to_announce(
            self.node, services=[s.to_dict() for s in self.services.list()], endpoints=endpoints, eligible=eligible, pool=self.pool
        )

    def sync(self) -> None:
        """Make the interface hold exactly `wanted()`; announce what was added."""
        if self._pyroute and isinstance(self.addresses, PyrouteAddresses):
            me = self.nodes.get(self.node)
            internal = [a.get("address") for a in (me.to_dict().get("status") or {}).get("addresses") or []
                        if a.get("type") == "InternalIP"] if me else []  # fmt: skip
            self.addresses.node_ip = internal[0] if internal else None
        wanted = self.wanted()
        held = self.addresses.owned()
        for ip in sorted(held - wanted.keys()):
            self.addresses.remove(ip)
            self._to_announce.pop(ip, None)
        now = self.monotonic()
        for ip in sorted(wanted.keys() - held):
            self.addresses.add(ip)
            log.info("elected for %s (%s)", ip, wanted[ip])
            self._to_announce[ip] = (ANNOUNCE_REPEATS, now)
        for ip, (left, due) in sorted(self._to_announce.items()):
            if now < due:
                continue
            try:
                self.addresses.announce(ip)
            except AnnounceError as exc:
                log.warning("%s", exc)
            if left > 1:
                self._to_announce[ip] = (left - 1, now + ANNOUNCE_INTERVAL_S)
            else:
                del self._to_announce[ip]

    def give_up(self) -> None:
        for ip in sorted(self.addresses.owned()):
            self.addresses.remove(ip)
        self._to_announce.clear()

    def step(self) -> float:
        """One pass: renew the Lease if it is due, then sync. Returns the seconds until the
        next pass is due (a renewal or a repeated announcement); a change wakes it sooner."""
        now = self.monotonic()
        if self._renewal_due is None or now >= self._renewal_due:
            self.renew_lease()
            self._renewal_due = now + self.period
        try:
            self.sync()
        except AnnounceError as exc:
            log.warning("load-balancer addresses: %s", exc)
        due = min([self._renewal_due, *(when for _, when in self._to_announce.values())])
        return max(MIN_PASS_GAP_S, due - self.monotonic())

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop`; then give up the addresses and delete the Lease."""
        try:
            while not stop.is_set():
                self.changed.clear()
                self.changed.wait(self.step())
        finally:
            try:
                self.give_up()
            except AnnounceError as exc:
                log.warning("giving up load-balancer addresses: %s", exc)
            self.release_lease()

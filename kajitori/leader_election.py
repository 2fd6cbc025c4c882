"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics.

Several candidates (one per master) run the same loop on one Lease; the one named in
``spec.holderIdentity`` is the leader and runs its loops, the others wait:

- A candidate takes the Lease when there is none, when it has no holder, or when it
  has watched the Lease stay unchanged for ``leaseDurationSeconds`` (measured on its own
  monotonic clock from when it last saw the Lease change, as client-go does, so clocks
  need not agree). Every write is compare-and-swap on ``resourceVersion``: of two
  candidates that try at once, one wins.
- The leader renews every ``retry_period_s``. If no renewal has succeeded for
  ``renew_deadline_s`` it stops leading (its loops stop) BEFORE its Lease can expire
  (``lease_duration_s`` > ``renew_deadline_s``), so two leaders never act at once.
  Then it becomes a candidate again.
- On a graceful stop the leader releases the Lease (no holder, 1 s), so another
  candidate takes over at its next try instead of after the lease duration.

Each hand-over is logged and recorded as a ``LeaderElection`` Event on the Lease.
States: candidate -> leading (``on_started_leading``) -> lost or stopped
(``on_stopped_leading``) -> candidate.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kajitori.api import Lease
from kajitori.api.meta import ObjectMeta
from kajitori.client import ApiError, ConflictError, NotFoundError
from kajitori.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class LeaderElectionConfig:
    lease_duration_s: float = 4.0
    """How long candidates wait after the Lease last changed before taking it (Kubernetes: 15 s)."""
    renew_deadline_s: float = 3.0
    """How long the leader keeps acting without a successful renewal (Kubernetes: 10 s)."""
    retry_period_s: float = 1.0
    """How often candidates try to take the Lease and the leader renews it (Kubernetes: 2 s)."""

    def check(self) -> None:
        if not self.lease_duration_s > self.renew_deadline_s > self.retry_period_s > 0:
            raise ValueError("leader election needs lease duration > renew deadline > retry period > 0")


class LeaseClient(Protocol):
    def get(self, model: type[Lease], name: str, namespace: str | None = None) -> Lease: ...
    def create(self, obj: Lease, namespace: str | None = None) -> Lease: ...
    def update(self, obj: Lease) -> Lease: ...


class Recorder(Protocol):
    def normal(self, obj: Lease, reason: str, message: str) -> None: ...


def default_identity() -> str:
    """``host_uuid``, as kube-controller-manager names itself: a restarted process is a new candidate."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def _micro_time(epoch: float) -> str:
    # Lease times are MicroTime in Kubernetes (RFC 3339 with microseconds).
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: LeaseClient,
        name: str,
        *,
        identity: str,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        namespace: str = "kube-system",
        config: LeaderElectionConfig | None = None,
        recorder: Recorder | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.config = config or LeaderElectionConfig()
        self.config.check()
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.recorder = recorder
        self.clock = clock or Clock()
        self.leading = False
        self._observed_rv: str | None = None
        self._observed_at = 0.0
        self._lease: Lease | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one attempt (what the loops repeat; unit tests call it directly) -----

    def try_acquire_or_renew(self) -> bool:
        """One try to take or renew the Lease; True when this candidate holds it afterwards."""
        now = self.clock.time()
        duration = math.ceil(self.config.lease_duration_s)
        try:
            lease = self.client.get(Lease, self.name, self.namespace)
        except NotFoundError:
            lease = Lease(metadata=ObjectMeta(name=self.name, namespace=self.namespace))
            lease.spec.holderIdentity = self.identity
            lease.spec.leaseDurationSeconds = duration
            lease.spec.acquireTime = lease.spec.renewTime = _micro_time(now)
            lease.spec.leaseTransitions = 0
            try:
                self._observe(self.client.create(lease, self.namespace))
            except ConflictError:  # another candidate created it first
                return False
            return True
        self._observe(lease)
        holder = lease.spec.holderIdentity
        if holder and holder != self.identity:
            held_for = lease.spec.leaseDurationSeconds or duration
            if self._observed_at + held_for > self.clock.monotonic():
                return False  # someone else holds it and has renewed within its duration
        taken = lease.model_copy(deep=True)
        taken.spec.holderIdentity = self.identity
        taken.spec.leaseDurationSeconds = duration
        taken.spec.renewTime = _micro_time(now)
        if holder != self.identity:
            taken.spec.acquireTime = _micro_time(now)
            taken.spec.leaseTransitions = (lease.spec.leaseTransitions or 0) + 1
        try:
            self._observe(self.client.update(taken))  # carries resourceVersion: compare-and-swap
        except ConflictError:
            return False
        return True

    def _observe(self, lease: Lease) -> None:
        self._lease = lease
        if lease.metadata.resourceVersion != self._observed_rv:
            self._observed_rv = lease.metadata.resourceVersion
            self._observed_at = self.clock.monotonic()

    def release(self) -> None:
        """Give the Lease up (no holder, 1 s) so another candidate need not wait it out."""
        lease = self._lease
        if lease is None or lease.spec.holderIdentity != self.identity:
            return
        released = lease.model_copy(deep=True)
        released.spec.holderIdentity = None
        released.spec.leaseDurationSeconds = 1
        released.spec.renewTime = _micro_time(self.clock.time())
        try:
            self.client.update(released)
        except ApiError as exc:
            log.info("could not release lease %s/%s: %s", self.namespace, self.name, exc)

    # -- the loop ------------------------------------------------------------

    def start(self) -> LeaderElector:
        self._thread = threading.Thread(target=self.run, name=f"leader-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        log.info("%s: candidate for lease %s/%s", self.identity, self.namespace, self.name)
        while not self._stop.is_set():
            if not self._acquire():
                return
            self._set_leading(True)
            try:
                self._renew()
            finally:
                self._set_leading(False)
                if self._stop.is_set():
                    self.release()

    def _try(self) -> bool:
        try:
            return self.try_acquire_or_renew()
        except ApiError as exc:  # the API is unreachable or refused: a failed try, nothing more
            log.debug("lease %s/%s: %s", self.namespace, self.name, exc)
            return False

    def _acquire(self) -> bool:
        while not self._stop.is_set():
            if self._try():
                return True
            self._stop.wait(self.config.retry_period_s)
        return False

    def _renew(self) -> None:
        last_renewed = self.clock.monotonic()
        while not self._stop.wait(self.config.retry_period_s):
            if self._try():
                last_renewed = self.clock.monotonic()
            elif self.clock.monotonic() - last_renewed >= self.config.renew_deadline_s:
                log.warning(
                    "%s: could not renew lease %s/%s for %.1f s: stopping leading",
                    self.identity, self.namespace, self.name, self.clock.monotonic() - last_renewed,
                )  # fmt: skip
                return

    def _set_leading(self, leading: bool) -> None:
        self.leading = leading
        what = "became leader" if leading else "stopped leading"
        log.info("%s %s of %s/%s", self.identity, what, self.namespace, self.name)
        if self.recorder is not None and self._lease is not None:
            self.recorder.normal(self._lease, "LeaderElection", f"{self.identity} {what}")
        (self.on_started_leading if leading else self.on_stopped_leading)()

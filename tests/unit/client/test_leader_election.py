"""Leader election's rules, one try at a time, on an in-memory Lease API with CAS and a fake clock."""

from __future__ import annotations

import threading

from kajitori.api import Lease
from kajitori.client import AlreadyExistsError, ConflictError, NotFoundError, ServerUnavailable
from kajitori.clock import FakeClock
from kajitori.leader_election import LeaderElectionConfig, LeaderElector
from tests.support.present import present


class LeaseAPI:
    """get/create/update of Leases with resourceVersion compare-and-swap, like the API server."""

    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        self.rv = 0
        self.down = False

    def get(self, model: type[Lease], name: str, namespace: str | None = None) -> Lease:
        self._check()
        if name not in self.leases:
            raise NotFoundError(404, {"message": "not found"})
        return self.leases[name].model_copy(deep=True)

    def create(self, obj: Lease, namespace: str | None = None) -> Lease:
        self._check()
        if obj.metadata.name in self.leases:
            raise AlreadyExistsError(409, {"message": "exists"})
        return self._store(obj)

    def update(self, obj: Lease) -> Lease:
        self._check()
        if self.leases[present(obj.metadata.name)].metadata.resourceVersion != obj.metadata.resourceVersion:
            raise ConflictError(409, {"message": "conflict"})
        return self._store(obj)

    def _store(self, obj: Lease) -> Lease:
        self.rv += 1
        stored = obj.model_copy(deep=True)
        stored.metadata.resourceVersion = str(self.rv)
        self.leases[present(stored.metadata.name)] = stored
        return stored.model_copy(deep=True)

    def _check(self) -> None:
        if self.down:
            raise ServerUnavailable("the API is unreachable")


class Events:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def normal(self, obj: Lease, reason: str, message: str) -> None:
        self.messages.append(f"{reason}: {message}")


def elector(api: LeaseAPI, identity: str, clock: FakeClock, **kwargs: object) -> LeaderElector:
    return LeaderElector(
        api, "kube-scheduler", identity=identity, clock=clock,
        on_started_leading=lambda: None, on_stopped_leading=lambda: None, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_first_candidate_creates_the_lease_and_renews_it() -> None:
    api, clock = LeaseAPI(), FakeClock()
    a = elector(api, "a", clock)
    assert a.try_acquire_or_renew()
    lease = api.leases["kube-scheduler"]
    assert (lease.spec.holderIdentity, lease.spec.leaseDurationSeconds, lease.spec.leaseTransitions) == ("a", 4, 0)
    acquired = lease.spec.acquireTime
    clock.advance(1.0)
    assert a.try_acquire_or_renew()
    renewed = api.leases["kube-scheduler"].spec
    assert renewed.acquireTime == acquired and renewed.renewTime != acquired and renewed.leaseTransitions == 0


def test_another_candidate_waits_until_the_lease_stays_unchanged_for_its_duration() -> None:
    api, clock = LeaseAPI(), FakeClock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    assert a.try_acquire_or_renew()
    for _ in range(10):  # a renews every second: b never gets it
        clock.advance(1.0)
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
    # a stops renewing: b takes over once it has seen no change for 4 s, not before.
    clock.advance(3.5)
    assert not b.try_acquire_or_renew()
    clock.advance(1.0)
    assert b.try_acquire_or_renew()
    lease = api.leases["kube-scheduler"].spec
    assert (lease.holderIdentity, lease.leaseTransitions) == ("b", 1)
    assert not a.try_acquire_or_renew()  # a's view is stale now: it is not leader any more


def test_of_two_candidates_trying_at_once_one_wins() -> None:
    api, clock = LeaseAPI(), FakeClock()
    a, b, c = elector(api, "a", clock), elector(api, "b", clock), elector(api, "c", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew() and not c.try_acquire_or_renew()
    clock.advance(5)  # a is gone: both b and c may take the lease now
    real_get = api.get

    def get_then_c_writes(model: type[Lease], name: str, namespace: str | None = None) -> Lease:
        lease = real_get(model, name, namespace)
        api.get = real_get  # type: ignore[method-assign]
        assert c.try_acquire_or_renew()  # c takes it between b's read and b's write
        return lease

    api.get = get_then_c_writes  # type: ignore[method-assign]
    assert not b.try_acquire_or_renew()  # b's compare-and-swap fails
    assert api.leases["kube-scheduler"].spec.holderIdentity == "c"
    assert not b.try_acquire_or_renew()  # and b now waits c's lease out


def test_release_lets_the_next_candidate_in_at_once() -> None:
    api, clock = LeaseAPI(), FakeClock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert api.leases["kube-scheduler"].spec.holderIdentity is None
    assert b.try_acquire_or_renew()


def test_a_leader_that_cannot_renew_stops_before_its_lease_can_expire() -> None:
    api = LeaseAPI()
    stopped = threading.Event()
    started = threading.Event()
    events = Events()
    config = LeaderElectionConfig(lease_duration_s=0.8, renew_deadline_s=0.5, retry_period_s=0.05)
    a = LeaderElector(
        api, "kube-controller-manager", identity="a", config=config, recorder=events,
        on_started_leading=started.set, on_stopped_leading=stopped.set,
    )  # fmt: skip
    a.start()
    try:
        assert started.wait(10) and a.leading
        api.down = True
        cut_off = a.clock.monotonic()
        assert stopped.wait(10)
        assert a.clock.monotonic() - cut_off < config.lease_duration_s
        assert not a.leading
        assert events.messages[:2] == ["LeaderElection: a became leader", "LeaderElection: a stopped leading"]
    finally:
        api.down = False
        a.stop()

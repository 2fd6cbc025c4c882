"""Which node announces a load-balancer address, and what the announcer does to the interface."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kajitori.api.coordination import Lease
from kajitori.api.core import Endpoints, Node, Service
from kajitori.api.meta import TypedObject
from net.l2_addresses import AnnounceError, MemoryAddresses, gratuitous_arp
from net.l2_announcer import L2Announcer, _micro_time
from net.l2_election import addresses_to_announce, candidates, elect
from net.lb_pool import AddressPool
from tests.support.cluster import wait_for
from tests.unit.controllers.fakes import FakeCache, RecordingClient

NOW = 1_800_000_000.0
POOL = AddressPool.parse()


def node(name: str, *, ready: bool = True, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "addresses": [{"type": "InternalIP", "address": f"192.168.56.{10 + int(name[-1])}"}]}}  # fmt: skip


def lease(node_name: str, renewed: float) -> dict[str, Any]:
    return {"metadata": {"name": f"kajitori-proxy-{node_name}", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": 5, "renewTime": _micro_time(renewed)}}  # fmt: skip


def lb(name: str, ip: str | None, *, policy: str = "Cluster", klass: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "LoadBalancer", "clusterIP": "10.96.0.9", "externalTrafficPolicy": policy,
                            "ports": [{"port": 80, "nodePort": 30001}]}  # fmt: skip
    if klass:
        spec["loadBalancerClass"] = klass
    status = {"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else {}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": status}


def eps(name: str, *nodes: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": f"10.244.{i}.2", "nodeName": n} for i, n in enumerate(nodes)],
                         "ports": [{"port": 80}]}]}  # fmt: skip


@pytest.mark.parametrize(
    ("nodes", "leases", "expected"),
    [
        pytest.param([node("n1"), node("n2")], {"n1": lease("n1", NOW - 1), "n2": lease("n2", NOW)}, {"n1", "n2"}, id="both"),
        pytest.param([node("n1"), node("n2", ready=False)], {"n1": lease("n1", NOW), "n2": lease("n2", NOW)}, {"n1"},
                     id="not-ready-out"),
        pytest.param([node("n1"), node("n2")], {"n1": lease("n1", NOW), "n2": lease("n2", NOW - 5)}, {"n1"},
                     id="expired-proxy-lease-out"),
        pytest.param([node("n1"), node("n2")], {"n1": lease("n1", NOW)}, {"n1"}, id="no-proxy-out"),
        pytest.param([node("n1", labels={"node.kubernetes.io/exclude-from-external-load-balancers": ""}), node("n2")],
                     {"n1": lease("n1", NOW), "n2": lease("n2", NOW)}, {"n2"}, id="excluded-out"),
    ],
)  # fmt: skip
def test_candidates(nodes: list[dict[str, Any]], leases: dict[str, dict[str, Any]], expected: set[str]) -> None:
    assert candidates(nodes, leases, NOW) == expected


def test_election_is_deterministic_spreads_and_moves_only_the_lost_nodes_services() -> None:
    nodes = {"n1", "n2", "n3"}
    keys = [f"default/svc{i}" for i in range(30)]
    winners = {k: elect(k, nodes) for k in keys}
    assert winners == {k: elect(k, sorted(nodes, reverse=True)) for k in keys}  # order of the input is irrelevant
    assert set(winners.values()) == nodes  # 30 Services land on all three
    after = {k: elect(k, nodes - {"n1"}) for k in keys}
    assert all(after[k] == winners[k] for k in keys if winners[k] != "n1")
    assert all(after[k] in {"n2", "n3"} for k in keys)
    assert elect("default/x", set()) is None


def test_addresses_to_announce_policy_class_and_pool() -> None:
    key = "default/web"
    winner = elect(key, {"n1", "n2"})
    loser = ({"n1", "n2"} - {winner}).pop()
    services = [lb("web", "192.168.56.200")]
    assert addresses_to_announce(winner or "", services=services, endpoints={}, eligible={"n1", "n2"}, pool=POOL) == {"192.168.56.200": key}
    assert addresses_to_announce(loser, services=services, endpoints={}, eligible={"n1", "n2"}, pool=POOL) == {}
    # Local: only a node with an endpoint, even when the hash prefers the other.
    local = [lb("web", "192.168.56.200", policy="Local")]
    endpoints = {key: eps("web", loser)}
    assert addresses_to_announce(loser, services=local, endpoints=endpoints, eligible={"n1", "n2"}, pool=POOL) == {"192.168.56.200": key}
    assert addresses_to_announce(winner or "", services=local, endpoints=endpoints, eligible={"n1", "n2"}, pool=POOL) == {}
    # Another class, or an address outside the pool (whatever the status says): never.
    for svc in (lb("web", "192.168.56.200", klass="example.com/x"), lb("web", "192.168.56.7"), lb("web", "10.0.0.1")):
        for n in ("n1", "n2"):
            assert addresses_to_announce(n, services=[svc], endpoints={}, eligible={"n1", "n2"}, pool=POOL) == {}


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _announcer(
    name: str, objs: dict[type[TypedObject], list[dict[str, Any]]]
) -> tuple[L2Announcer, MemoryAddresses, _Clock, dict[type[TypedObject], FakeCache]]:
    caches: dict[type[TypedObject], FakeCache] = {model: FakeCache(model) for model in (Service, Endpoints, Node, Lease)}
    for model, items in objs.items():
        caches[model].add(*(model.model_validate(o) for o in items))
    table, clock = MemoryAddresses(POOL), _Clock()
    announcer = L2Announcer(RecordingClient(), name, pool=POOL, services=caches[Service], endpoints=caches[Endpoints],
                            nodes=caches[Node], leases=caches[Lease], addresses=table, clock=clock,
                            monotonic=clock)  # fmt: skip
    return announcer, table, clock, caches


def test_announcer_adds_announces_three_times_and_fences_itself_without_its_lease() -> None:
    winner = elect("default/web", {"n1", "n2"}) or ""
    objs = {Service: [lb("web", "192.168.56.200")], Node: [node("n1"), node("n2")],
            Lease: [lease("n1", NOW), lease("n2", NOW)]}  # fmt: skip
    announcer, table, clock, caches = _announcer(winner, objs)
    announcer.renew_lease()
    # Passes in quick succession (woken by every Lease renewal) send one gratuitous ARP: a
    # neighbour would ignore the next within its 1 s locktime.
    for _ in range(4):
        announcer.sync()
    assert table.log == [("add", "192.168.56.200"), ("announce", "192.168.56.200")]
    for step in range(1, 5):
        clock.now = NOW + 0.6 * step
        announcer.sync()
    assert table.log == [("add", "192.168.56.200")] + [("announce", "192.168.56.200")] * 3
    clock.now = NOW
    assert [(v, k, n) for v, k, n, _ in announcer.client.writes[:1]] == [("patch", "Lease", f"kajitori-proxy-{winner}")]  # type: ignore[attr-defined]
    # The master unreachable for a lease duration: our Lease is stale for the others too; give up.
    clock.now += 5
    announcer.sync()
    assert table.held == set()
    # Back in touch: taken again; given up at stop.
    caches[Lease].add(*(Lease.model_validate(lease(n, clock.now)) for n in ("n1", "n2")))
    announcer.renew_lease()
    announcer.sync()
    assert table.held == {"192.168.56.200"}
    announcer.give_up()
    assert table.held == set()


def test_announcer_of_the_other_node_takes_over_when_the_winners_lease_expires() -> None:
    winner = elect("default/web", {"n1", "n2"}) or ""
    other = ({"n1", "n2"} - {winner}).pop()
    objs = {Service: [lb("web", "192.168.56.200")], Node: [node("n1"), node("n2")],
            Lease: [lease("n1", NOW), lease("n2", NOW)]}  # fmt: skip
    announcer, table, clock, caches = _announcer(other, objs)
    announcer.renew_lease()
    announcer.sync()
    assert table.held == set()
    clock.now += 5  # the winner stopped renewing; we renewed (our own Lease in the cache too)
    caches[Lease].add(Lease.model_validate(lease(other, clock.now)))
    announcer.renew_lease()
    announcer.sync()
    assert table.held == {"192.168.56.200"}


def test_a_pass_woken_by_a_change_does_not_renew_the_lease_again() -> None:
    """The renewal is itself a change of a watched Lease: when each pass renewed, the echo of
    its own write woke the next pass at once — ten Lease writes a second per proxy on the
    idle lab. Only a period passing renews; changes just sync."""
    objs = {Service: [lb("web", "192.168.56.200")], Node: [node("n1")], Lease: [lease("n1", NOW)]}
    announcer, _table, clock, _caches = _announcer("n1", objs)
    client: RecordingClient = announcer.client  # type: ignore[assignment]
    passes = threading.Semaphore(0)
    real_patch, real_sync = client.patch, announcer.sync

    def patch_and_echo(*args: Any, **kwargs: Any) -> Any:
        done = real_patch(*args, **kwargs)
        announcer.changed.set()  # what the Lease informer does on our own renewal
        return done

    def counted_sync() -> None:
        real_sync()
        passes.release()

    client.patch = patch_and_echo  # type: ignore[method-assign]
    announcer.sync = counted_sync  # type: ignore[method-assign]
    stop = threading.Event()
    runner = threading.Thread(target=announcer.run, args=(stop,), daemon=True)
    runner.start()
    try:
        for _ in range(20):  # twenty passes at one moment, each woken by a change
            assert passes.acquire(timeout=10)
            announcer.changed.set()
        renewals = [w for w in client.writes if w[0] == "patch"]
        assert len(renewals) == 1, f"{len(renewals)} renewals in 20 passes within one period"
        clock.now += announcer.period  # a period later the next pass renews
        announcer.changed.set()
        wait_for(lambda: len([w for w in client.writes if w[0] == "patch"]) == 2, timeout=10)
    finally:
        stop.set()
        announcer.changed.set()
        runner.join(10)
    assert [w[0] for w in client.writes][-1] == "delete"  # the Lease released at stop


def test_no_address_outside_the_pool_is_ever_added_and_garp_frame_shape() -> None:
    with pytest.raises(AnnounceError):
        MemoryAddresses(POOL).add("192.168.56.10")
    frame = gratuitous_arp("eth1", bytes.fromhex("020000000001"), "192.168.56.200")
    assert len(frame) == 42 and frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x08\x06"
    assert frame[28:32] == frame[38:42] == bytes([192, 168, 56, 200])

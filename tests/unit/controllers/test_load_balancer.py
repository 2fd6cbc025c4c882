"""The LoadBalancer controller: tables of Services in, the exact status writes and Events out."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.core import Service
from master.controllers.context import LoopContext
from master.controllers.load_balancer import LoadBalancerController
from net.lb_pool import AddressPool, PoolError
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

POOL = "192.168.56.200-192.168.56.202"


def svc(name: str, *, type_: str = "LoadBalancer", ip: str | None = None, requested: str | None = None,
        klass: str | None = None) -> Service:  # fmt: skip
    spec: dict[str, Any] = {"type": type_, "clusterIP": "10.96.0.50", "ports": [{"port": 80, "nodePort": 30080}]}
    if type_ == "ClusterIP":
        spec["ports"] = [{"port": 80}]
    if requested:
        spec["loadBalancerIP"] = requested
    if klass:
        spec["loadBalancerClass"] = klass
    status = {"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else {}
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7"}
    return Service.model_validate({"metadata": meta, "spec": spec, "status": status})


def _run(target: Service, others: list[Service]) -> tuple[list[tuple[str, str, Any]], list[tuple[str, str, str, str]]]:
    client, informers, recorder = RecordingClient(), FakeInformers(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder)
    controller = LoadBalancerController(ctx, pool=AddressPool.parse(POOL))
    informers.informer(Service).add(target, *others)
    for other in others:
        client.live[("Service", other.metadata.name or "")] = other.to_dict()
    client.live[("Service", target.metadata.name or "")] = target.to_dict()
    controller.reconcile(f"default/{target.metadata.name}")
    writes = [(verb, name, obj.status.loadBalancer) for verb, _kind, name, obj in client.writes]
    return writes, recorder.events


def _status(ip: str | None) -> dict[str, Any]:
    return {"ingress": [{"ip": ip}]} if ip else {}


@pytest.mark.parametrize(
    ("target", "others", "wrote", "event"),
    [
        pytest.param(svc("a"), [], "192.168.56.200", "IPAllocated", id="first-free"),
        pytest.param(svc("a"), [svc("b", ip="192.168.56.200")], "192.168.56.201", "IPAllocated", id="skips-taken"),
        pytest.param(svc("a", ip="192.168.56.202"), [], None, None, id="keeps-its-address-no-write"),
        pytest.param(svc("a", requested="192.168.56.202"), [], "192.168.56.202", "IPAllocated", id="requested-free"),
        pytest.param(svc("a", requested="192.168.56.201"), [svc("b", ip="192.168.56.201")], None, "AllocationFailed",
                     id="requested-taken"),
        pytest.param(svc("a", requested="192.168.56.50"), [], None, "AllocationFailed", id="requested-outside-pool"),
        pytest.param(svc("a", ip="192.168.56.200", requested="192.168.56.201"), [], "192.168.56.201", "IPAllocated",
                     id="requested-changed-moves"),
        pytest.param(svc("a"), [svc(n, ip=f"192.168.56.{200 + i}") for i, n in enumerate("bcd")], None, "AllocationFailed",
                     id="pool-exhausted-stays-pending"),
        pytest.param(svc("a", klass="example.com/other"), [], None, None, id="other-class-left-alone"),
        pytest.param(svc("a", klass="kajitori.io/l2"), [], "192.168.56.200", "IPAllocated", id="our-class"),
        pytest.param(svc("a", type_="ClusterIP", ip="192.168.56.200"), [], "", "IPReleased", id="type-change-frees"),
        pytest.param(svc("a", type_="NodePort"), [], None, None, id="nodeport-gets-nothing"),
    ],
)
def test_allocation(target: Service, others: list[Service], wrote: str | None, event: str | None) -> None:
    writes, events = _run(target, others)
    if wrote is None:
        assert writes == []
    else:
        assert writes == [("update_status", "a", _status(wrote or None))]
    assert [reason for _type, _name, reason, _msg in events] == ([event] if event else [])
    if event == "AllocationFailed":
        assert events[0][0] == "Warning"


def test_a_deleted_service_is_nothing_to_do_and_the_freed_address_is_handed_out_again() -> None:
    writes, _events = _run(svc("a"), [svc("b", ip="192.168.56.201")])
    assert writes == [("update_status", "a", _status("192.168.56.200"))]
    # b gone from the store (only its cache entry is stale): its address is free for c.
    client, informers, recorder = RecordingClient(), FakeInformers(), RecordingRecorder()
    controller = LoadBalancerController(LoopContext(client=client, informers=informers, recorder=recorder),
                                        pool=AddressPool.parse(POOL))  # fmt: skip
    informers.informer(Service).add(svc("c"))
    client.live[("Service", "a")] = svc("a", ip="192.168.56.200").to_dict()
    controller.reconcile("default/gone")
    assert client.writes == []
    controller.reconcile("default/c")
    assert [(v, n, o.status.loadBalancer) for v, _k, n, o in client.writes] == [("update_status", "c", _status("192.168.56.201"))]


@pytest.mark.parametrize(
    ("text", "network", "first", "size"),
    [
        pytest.param("192.168.56.200-192.168.56.239", "192.168.56.0/24", "192.168.56.200", 40, id="default"),
        pytest.param("192.168.56.192/28", "192.168.56.0/24", "192.168.56.192", 16, id="cidr"),
        pytest.param("10.0.0.5-10.0.0.6", "10.0.0.0/24", "10.0.0.5", 2, id="other-lab-network"),
    ],
)
def test_pool_parse(text: str, network: str, first: str, size: int) -> None:
    pool = AddressPool.parse(text, network=network)
    assert (str(pool.first), len(pool)) == (first, size)
    assert first in pool and "8.8.8.8" not in pool


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("192.168.57.1-192.168.57.9", id="outside"),
        pytest.param("192.168.56.250-192.168.57.3", id="reaches-outside"),
        pytest.param("192.168.56.0-192.168.56.3", id="network-address"),
        pytest.param("192.168.56.250-192.168.56.255", id="broadcast"),
        pytest.param("192.168.56.9-192.168.56.3", id="reversed"),
        pytest.param("192.168.56.0/23", id="cidr-too-big"),
        pytest.param("nonsense", id="malformed"),
    ],
)
def test_pool_outside_the_lab_network_is_refused(text: str) -> None:
    with pytest.raises(PoolError):
        AddressPool.parse(text, network="192.168.56.0/24")

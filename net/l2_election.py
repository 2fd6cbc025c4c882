"""Which node answers for a load-balancer address: a pure function of what the API shows.

Every node's proxy computes the same answer from the same objects, so exactly one node
announces each address without the proxies talking to each other (MetalLB's L2 mode
without memberlist):

- candidates are the Nodes whose Ready condition is True, that are not labelled
  `node.kubernetes.io/exclude-from-external-load-balancers`, and whose proxy Lease
  (`kube-node-lease/kajitori-proxy-<node>`, renewed every second) was renewed less than
  its `leaseDurationSeconds` ago;
- under `externalTrafficPolicy: Local` only candidates with a ready endpoint of the Service;
- the winner is the candidate with the highest sha256 of `<node>#<namespace>/<name>`, so
  Services spread over the nodes and a change of one node moves only its own Services.

A node whose proxy stops gracefully deletes its Lease (the others take over at once); one
that dies stops renewing it, and the others take over once it has expired (5 s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from net.lb_pool import AddressPool, is_our_class

LEASE_NAMESPACE = "kube-node-lease"
LEASE_PREFIX = "kajitori-proxy-"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def lease_name(node: str) -> str:
    return LEASE_PREFIX + node


def parse_micro_time(text: str) -> float:
    """Epoch seconds of a MicroTime (`2026-12-01T22:40:00.123456Z`)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def proxy_alive(lease: Mapping[str, Any] | None, now: float) -> bool:
    spec = (lease or {}).get("spec") or {}
    renewed, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not renewed or not duration:
        return False
    return now - parse_micro_time(renewed) < float(duration)


def node_ready(node: Mapping[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def candidates(nodes: Iterable[Mapping[str, Any]], leases: Mapping[str, Mapping[str, Any]], now: float) -> set[str]:
    """Names of the nodes that may announce: Ready, not excluded, proxy Lease fresh (`leases` by node name)."""
    result = set()
    for node in nodes:
        meta = node.get("metadata") or {}
        name = meta.get("name") or ""
        if EXCLUDE_LABEL in (meta.get("labels") or {}):
            continue
        if node_ready(node) and proxy_alive(leases.get(name), now):
            result.add(name)
    return result


def elect(service_key: str, nodes: Iterable[str]) -> str | None:
    """The node that announces the Service's address; None when no node may."""
    return max(nodes, key=lambda n: hashlib.sha256(f"{n}#{service_key}".encode()).digest(), default=None)


def endpoint_nodes(endpoints: Mapping[str, Any] | None) -> set[str]:
    """Nodes with a ready address in an Endpoints object."""
    return {
        a["nodeName"]
        for subset in (endpoints or {}).get("subsets") or []
        for a in subset.get("addresses") or []
        if a.get("nodeName")
    }


def addresses_to_announce(
    node: str,
    *,
    services: Iterable[Mapping[str, Any]],
    endpoints: Mapping[str, Mapping[str, Any]],
    eligible: set[str],
    pool: AddressPool,
) -> dict[str, str]:
    """Pool addresses this node must answer for: address -> `namespace/name` of its Service.

    `endpoints` is keyed by `namespace/name`; `eligible` is `candidates(...)`. An address
    outside the pool is never returned, whatever a Service's status says.
    """
    wanted: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        if spec.get("type") != "LoadBalancer" or not is_our_class(spec.get("loadBalancerClass")):
            continue
        meta = svc.get("metadata") or {}
        key = f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = [i["ip"] for i in ingress if i.get("ip") and i["ip"] in pool]
        if not ips:
            continue
        nodes = eligible
        if spec.get("externalTrafficPolicy") == "Local":
            nodes = eligible & endpoint_nodes(endpoints.get(key))
        if elect(key, nodes) == node:
            for ip in ips:
                wanted.setdefault(ip, key)
    return wanted

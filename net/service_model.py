"""The proxy's own view of Services and Endpoints, and the translation from API objects.

The rule engine never reads API objects: it works on `ServicePort` (one port of one Service,
like kube-proxy's ServicePortInfo) and `Endpoint` (one ip:port behind it). The two functions
`service_ports_from_service` and `endpoints_from_endpoints` are the only places that know the
v1 JSON shape; they take plain dicts so they work with whatever the informer hands over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NewType

ServiceKey = NewType("ServiceKey", str)
"""`namespace/name` of a Service (and of its Endpoints object, which has the same name)."""

PROTOCOLS = ("TCP", "UDP")
DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds; the Kubernetes default for sessionAffinity ClientIP


@dataclass(frozen=True, order=True)
class ServicePortName:
    """Identifies one port of one Service: `ns/name:port` (port is the port's name, may be "")."""

    namespace: str
    name: str
    port: str

    @property
    def service(self) -> ServiceKey:
        return ServiceKey(f"{self.namespace}/{self.name}")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"


@dataclass(frozen=True)
class ServicePort:
    """One port of a Service, with everything the rules need."""

    name: ServicePortName
    protocol: str
    """TCP or UDP."""
    cluster_ip: str
    port: int
    node_port: int = 0
    """0 when the Service is not of type NodePort/LoadBalancer."""
    affinity_timeout: int = 0
    """Seconds of ClientIP session affinity; 0 when affinity is off."""
    load_balancer_ips: tuple[str, ...] = ()
    """`status.loadBalancer.ingress[].ip` of a LoadBalancer Service: DNATed on every node like the ClusterIP."""
    external_local: bool = False
    """`externalTrafficPolicy: Local`: external traffic to the load-balancer IP keeps its source and
    goes only to this node's endpoints."""


@dataclass(frozen=True, order=True)
class Endpoint:
    """One backend address of a service port."""

    ip: str
    port: int
    node: str = ""
    """`nodeName` of the address (which node's endpoint it is; for `externalTrafficPolicy: Local`)."""

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def service_key(obj: dict[str, Any]) -> ServiceKey:
    meta = obj.get("metadata") or {}
    return ServiceKey(f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}")


def service_ports_from_service(obj: dict[str, Any]) -> list[ServicePort]:
    """Ports of a v1 Service that get proxy rules: those with a ClusterIP and a TCP/UDP protocol.

    Headless Services (clusterIP None) and ExternalName Services get no rules.
    """
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    cluster_ip = spec.get("clusterIP") or ""
    if not cluster_ip or cluster_ip == "None" or spec.get("type") == "ExternalName":
        return []
    namespace = meta.get("namespace") or "default"
    name = meta["name"]
    with_node_ports = spec.get("type") in ("NodePort", "LoadBalancer")
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
    lb_ips: tuple[str, ...] = ()
    if spec.get("type") == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        lb_ips = tuple(sorted({i["ip"] for i in ingress if i.get("ip")}))
    external_local = bool(lb_ips) and spec.get("externalTrafficPolicy") == "Local"
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS:
            continue
        ports.append(
            ServicePort(
                name=ServicePortName(namespace, name, port.get("name") or ""),
                protocol=protocol,
                cluster_ip=cluster_ip,
                port=int(port["port"]),
                node_port=int(port.get("nodePort") or 0) if with_node_ports else 0,
                affinity_timeout=affinity,
                load_balancer_ips=lb_ips,
                external_local=external_local,
            )
        )
    return ports


def endpoints_from_endpoints(obj: dict[str, Any]) -> dict[ServicePortName, list[Endpoint]]:
    """Ready backends of a v1 Endpoints object, per service port name.

    Endpoints ports carry the Service port's name and the already resolved target port number
    (named target ports are resolved by the Endpoints controller), so no Pod is needed here.
    `notReadyAddresses` are left out: they must not receive traffic.
    """
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    name = meta["name"]
    result: dict[ServicePortName, set[Endpoint]] = {}
    for subset in obj.get("subsets") or []:
        addresses = [(a["ip"], a.get("nodeName") or "") for a in subset.get("addresses") or [] if a.get("ip")]
        for port in subset.get("ports") or []:
            key = ServicePortName(namespace, name, port.get("name") or "")
            result.setdefault(key, set()).update(Endpoint(ip, int(port["port"]), node) for ip, node in addresses)
    return {key: sorted(eps) for key, eps in result.items()}

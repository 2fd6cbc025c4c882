"""Cluster DNS: answers for Services from a name table, never forwards anything anywhere.

Names (zone `cluster.local` by default):
  - `<svc>.<ns>.svc.<zone>` A -> the Service's ClusterIP; for a headless Service (clusterIP None)
    the IPs of its ready endpoints instead (NXDOMAIN while it has none, as CoreDNS)
  - `<hostname>.<svc>.<ns>.svc.<zone>` A -> the ready endpoint of a headless Service with that
    hostname (a StatefulSet's `web-0.nginx.default.svc.cluster.local`: the Endpoints controller
    sets `hostname` for pods whose subdomain is the Service)
  - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV -> `0 100 <port> <svc>.<ns>.svc.<zone>.` for each
    named port (with the A record in the additional section); for a headless Service one SRV
    per ready endpoint, its target `<hostname>.<svc>...` (or the IP with dashes when it has none)
  - a known name asked for another type gets an empty NOERROR answer; any other name in the zone
    gets NXDOMAIN; names outside the zone get REFUSED, because this server must not resolve
    (or leak queries to) the outside world.

`ServiceNameTable` is fed from a Services informer (`update_service`, `delete_service`,
`on_service_update(old, new)`) and an Endpoints informer (`on_endpoints_update(old, new)`),
from any thread; a lock guards it. `ClusterDNSServer` serves
it over UDP and TCP with dnslib's threaded servers; `start()` and `stop()` are idempotent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from dnslib import QTYPE, RCODE, RR, SRV, A, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

log = logging.getLogger(__name__)

DEFAULT_ZONE = "cluster.local"
DEFAULT_TTL = 5  # seconds; short, so a changed ClusterIP is seen quickly


@dataclass(frozen=True)
class ServiceRecord:
    """What DNS knows of one Service."""

    namespace: str
    name: str
    cluster_ip: str
    """The ClusterIP, or "None" for a headless Service."""
    ports: tuple[tuple[str, str, int], ...]
    """(port name, protocol lower-case, port) for each named port."""

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"


@dataclass(frozen=True)
class EndpointRecord:
    """One ready address of a Service's Endpoints."""

    ip: str
    hostname: str | None


def service_record_from_service(obj: dict[str, Any]) -> ServiceRecord | None:
    """The DNS view of a v1 Service; None for Services without a ClusterIP (ExternalName)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    cluster_ip = spec.get("clusterIP") or ""
    if not cluster_ip:
        return None
    ports = tuple(
        (p["name"], (p.get("protocol") or "TCP").lower(), int(p["port"]))
        for p in spec.get("ports") or []
        if p.get("name")
    )
    return ServiceRecord(meta.get("namespace") or "default", meta["name"], cluster_ip, ports)


class ServiceNameTable:
    """Thread-safe map from DNS names to Services."""

    def __init__(self, zone: str = DEFAULT_ZONE) -> None:
        self.zone = zone.strip(".").lower()
        self._lock = threading.Lock()
        self._services: dict[tuple[str, str], ServiceRecord] = {}
        self._endpoints: dict[tuple[str, str], tuple[EndpointRecord, ...]] = {}

    def update_service(self, obj: dict[str, Any]) -> None:
        record = service_record_from_service(obj)
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name", ""))
        with self._lock:
            if record is None:
                self._services.pop(key, None)
            else:
                self._services[key] = record

    def delete_service(self, obj: dict[str, Any] | str) -> None:
        if isinstance(obj, str):
            namespace, _, name = obj.partition("/")
        else:
            meta = obj.get("metadata") or {}
            namespace, name = meta.get("namespace") or "default", meta.get("name", "")
        with self._lock:
            self._services.pop((namespace, name), None)

    def on_service_update(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None:
            self.update_service(new)
        elif old is not None:
            self.delete_service(old)

    def on_endpoints_update(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """The ready addresses of an Endpoints object (notReadyAddresses are not answered, as CoreDNS)."""
        obj = new if new is not None else old
        if obj is None:
            return
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name", ""))
        if new is None:
            with self._lock:
                self._endpoints.pop(key, None)
            return
        seen: dict[str, EndpointRecord] = {}
        for subset in new.get("subsets") or []:
            for address in subset.get("addresses") or []:
                ip = address.get("ip")
                if ip and ip not in seen:
                    seen[ip] = EndpointRecord(ip=ip, hostname=address.get("hostname") or None)
        with self._lock:
            self._endpoints[key] = tuple(sorted(seen.values(), key=lambda e: tuple(int(p) for p in e.ip.split(".") if p.isdigit())))

    def endpoints_of(self, record: ServiceRecord) -> tuple[EndpointRecord, ...]:
        with self._lock:
            return self._endpoints.get((record.namespace, record.name), ())

    def in_zone(self, qname: str) -> bool:
        name = qname.strip(".").lower()
        return name == self.zone or name.endswith("." + self.zone)

    def service_for(self, labels: list[str]) -> ServiceRecord | None:
        """The Service named by `<svc>.<ns>.svc` (labels without the zone), if any."""
        if len(labels) != 3 or labels[2] != "svc":
            return None
        with self._lock:
            return self._services.get((labels[1], labels[0]))

    def addresses_for(self, labels: list[str]) -> list[str] | None:
        """The A answers of a name (labels without the zone); None when the name does not exist."""
        record = self.service_for(labels)
        if record is not None:
            if not record.headless:
                return [record.cluster_ip]
            ips = [e.ip for e in self.endpoints_of(record)]
            return ips or None
        if len(labels) == 4:
            headless = self.service_for(labels[1:])
            if headless is not None and headless.headless:
                ips = [e.ip for e in self.endpoints_of(headless) if e.hostname == labels[0]]
                return ips or None
        return None

    def hostname(self, record: ServiceRecord) -> str:
        return f"{record.name}.{record.namespace}.svc.{self.zone}."

    def endpoint_hostname(self, record: ServiceRecord, endpoint: EndpointRecord) -> str:
        host = endpoint.hostname or endpoint.ip.replace(".", "-")
        return f"{host}.{record.name}.{record.namespace}.svc.{self.zone}."


class ClusterResolver(BaseResolver):  # type: ignore[misc]
    """dnslib resolver over a `ServiceNameTable`."""

    def __init__(self, table: ServiceNameTable, *, ttl: int = DEFAULT_TTL) -> None:
        self.table = table
        self.ttl = ttl

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = request.q.qtype
        if not self.table.in_zone(qname):
            reply.header.rcode = RCODE.REFUSED
            return reply
        labels = [label.lower() for label in qname.strip(".").split(".")]
        labels = labels[: len(labels) - len(self.table.zone.split("."))]
        if len(labels) == 5 and labels[0].startswith("_") and labels[1].startswith("_"):
            self._answer_srv(reply, qname, labels, qtype)
            return reply
        addresses = self.table.addresses_for(labels)
        if addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif qtype in (QTYPE.A, QTYPE.ANY):
            for ip in addresses:
                reply.add_answer(RR(qname, QTYPE.A, rdata=A(ip), ttl=self.ttl))
        return reply

    def _answer_srv(self, reply: DNSRecord, qname: str, labels: list[str], qtype: int) -> None:
        record = self.table.service_for(labels[2:])
        port_name, proto = labels[0][1:], labels[1][1:]
        matches = [p for p in record.ports if p[0] == port_name and p[1] == proto] if record else []
        if record is None or not matches:
            reply.header.rcode = RCODE.NXDOMAIN
            return
        if qtype not in (QTYPE.SRV, QTYPE.ANY):
            return
        if record.headless:
            for endpoint in self.table.endpoints_of(record):
                host = self.table.endpoint_hostname(record, endpoint)
                for _, _, port in matches:
                    reply.add_answer(RR(qname, QTYPE.SRV, rdata=SRV(0, 100, port, DNSLabel(host)), ttl=self.ttl))
                reply.add_ar(RR(host, QTYPE.A, rdata=A(endpoint.ip), ttl=self.ttl))
            return
        target = self.table.hostname(record)
        for _, _, port in matches:
            reply.add_answer(RR(qname, QTYPE.SRV, rdata=SRV(0, 100, port, DNSLabel(target)), ttl=self.ttl))
        reply.add_ar(RR(target, QTYPE.A, rdata=A(record.cluster_ip), ttl=self.ttl))


class ClusterDNSServer:
    """UDP and TCP DNS servers on one address and port, answering from a `ServiceNameTable`."""

    def __init__(self, table: ServiceNameTable, *, address: str = "0.0.0.0", port: int = 53) -> None:
        resolver = ClusterResolver(table)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error", prefix=False, logf=log.debug)
        udp = DNSServer(resolver, address=address, port=port, tcp=False, logger=quiet)
        # With port=0 the UDP socket picked a free port; TCP takes the same number.
        bound = int(udp.server.server_address[1])
        self._servers = [udp, DNSServer(resolver, address=address, port=bound, tcp=True, logger=quiet)]
        self._started = False

    @property
    def port(self) -> int:
        """The bound UDP port (useful with port=0, which binds a free one)."""
        return int(self._servers[0].server.server_address[1])

    def start(self) -> None:
        if not self._started:
            for server in self._servers:
                server.start_thread()
            self._started = True

    def stop(self) -> None:
        if self._started:
            for server in self._servers:
                server.stop()
                server.server.server_close()
            self._started = False

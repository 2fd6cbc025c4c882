"""The Endpoints controller: each Service with a selector gets the addresses of its pods.

reconcile(namespace/name) selects the Service's pods from the pod cache: those Ready
(condition True), with a pod IP and not being deleted go to ``addresses``; the
others with an IP go to ``notReadyAddresses`` (all to ``addresses`` when
``publishNotReadyAddresses``). Target ports are resolved per pod (a named
``targetPort`` is looked up in the pod's container ports), and pods that resolve
to the same ports share one subset. Addresses are sorted so an unchanged set is an
unchanged object, and nothing is written then. A Service without a selector (such
as ``default/kubernetes``, which the master writes) is left alone.
"""

from __future__ import annotations

import logging

from kajitori.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    ObjectReference,
    Pod,
    Service,
)
from kajitori.api.meta import ObjectMeta
from kajitori.client import AlreadyExistsError, NotFoundError
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from master.controllers.pod_state import is_ready

log = logging.getLogger(__name__)


def resolve_ports(service: Service, pod: Pod) -> tuple[EndpointPort, ...] | None:
    """The service's ports as this pod serves them; None when a named port is missing."""
    ports: list[EndpointPort] = []
    for sp in service.spec.ports or []:
        target = sp.targetPort if sp.targetPort is not None else sp.port
        if isinstance(target, str):
            number = next(
                (
                    cp.containerPort
                    for c in pod.spec.containers
                    for cp in c.ports or []
                    if cp.name == target and cp.protocol == sp.protocol
                ),
                None,
            )
            if number is None:
                return None
            target = number
        ports.append(EndpointPort(name=sp.name, port=int(target), protocol=sp.protocol, appProtocol=sp.appProtocol))
    return tuple(ports)


def endpoint_address(pod: Pod, service: Service) -> EndpointAddress:
    # As Kubernetes: a pod's hostname is published only by the Service its subdomain names (DNS: web-0.nginx).
    named = bool(pod.spec.hostname) and pod.spec.subdomain == service.metadata.name
    return EndpointAddress(
        ip=pod.status.podIP or "",
        nodeName=pod.spec.nodeName,
        hostname=pod.spec.hostname if named else None,
        targetRef=ObjectReference(
            kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name, uid=pod.metadata.uid
        ),
    )


def desired_subsets(service: Service, pods: list[Pod]) -> list[EndpointSubset]:
    groups: dict[tuple[tuple[str | None, int, str], ...], tuple[list[EndpointAddress], list[EndpointAddress]]] = {}
    port_models: dict[tuple[tuple[str | None, int, str], ...], tuple[EndpointPort, ...]] = {}
    publish_all = bool(service.spec.publishNotReadyAddresses)
    for pod in pods:
        if not pod.status.podIP or pod.metadata.deletionTimestamp or pod.status.phase in ("Succeeded", "Failed"):
            continue
        if not (service.spec.selector and all((pod.metadata.labels or {}).get(k) == v for k, v in service.spec.selector.items())):
            continue
        ports = resolve_ports(service, pod)
        if ports is None:
            continue
        signature: tuple[tuple[str | None, int, str], ...] = tuple((p.name, p.port, p.protocol) for p in ports)
        port_models[signature] = ports
        ready, not_ready = groups.setdefault(signature, ([], []))
        (ready if publish_all or is_ready(pod) else not_ready).append(endpoint_address(pod, service))
    subsets = []
    for signature in sorted(groups, key=lambda s: [(n or "", p, pr) for n, p, pr in s]):
        ready, not_ready = groups[signature]
        subsets.append(
            EndpointSubset(
                addresses=sorted(ready, key=lambda a: a.ip) or None,
                notReadyAddresses=sorted(not_ready, key=lambda a: a.ip) or None,
                ports=list(port_models[signature]),
            )
        )
    return subsets


class EndpointsController:
    def __init__(self, ctx: LoopContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.services = ctx.informers.informer(Service)
        self.endpoints = ctx.informers.informer(Endpoints)
        self.pods = ctx.informers.informer(Pod)
        self.controller = Controller(
            "endpoints", self.reconcile, informers=[self.services, self.endpoints, self.pods], workers=workers
        )
        self.services.add_handlers(self._on_service, lambda _o, n: self._on_service(n), self._on_service)
        self.endpoints.add_handlers(None, None, self._on_endpoints_delete)
        self.pods.add_handlers(self._on_pod, self._on_pod_update, self._on_pod)

    def _on_service(self, service: Service) -> None:
        self.controller.enqueue(object_key(service))

    def _on_endpoints_delete(self, ep: Endpoints) -> None:
        # Someone deleted what we own: write it again if its Service still wants it.
        self.controller.enqueue(object_key(ep))

    def _on_pod(self, pod: Pod) -> None:
        for service in self.services.by_index("namespace", pod.metadata.namespace or ""):
            selector = service.spec.selector
            if selector and all((pod.metadata.labels or {}).get(k) == v for k, v in selector.items()):
                self.controller.enqueue(object_key(service))

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.labels != new.metadata.labels:
            self._on_pod(old)
        if (
            old.metadata.labels != new.metadata.labels
            or old.status.podIP != new.status.podIP
            or is_ready(old) != is_ready(new)
            or old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
            or old.spec.nodeName != new.spec.nodeName
            or old.status.phase != new.status.phase
        ):
            self._on_pod(new)

    def reconcile(self, key: str) -> None:
        service = self.services.get(key)
        current = self.endpoints.get(key)
        if service is None:
            if current is not None:
                try:
                    self.client.delete(Endpoints, current.metadata.name or "", current.metadata.namespace)
                except NotFoundError:
                    pass
            return
        if not service.spec.selector:
            return  # endpoints written by hand (or by the master, for default/kubernetes)
        pods = self.pods.by_index("namespace", service.metadata.namespace or "")
        subsets = desired_subsets(service, pods)
        wanted = [s.to_dict() for s in subsets]
        if current is None:
            body = Endpoints(
                metadata=ObjectMeta(
                    name=service.metadata.name, namespace=service.metadata.namespace, labels=service.metadata.labels
                ),
                subsets=subsets or None,
            )
            try:
                self.client.create(body, service.metadata.namespace)
            except AlreadyExistsError:
                raise  # our cache lags: the retry sees it and updates it
            return
        if [s.to_dict() for s in current.subsets or []] == wanted and current.metadata.labels == service.metadata.labels:
            return
        updated = current.model_copy(deep=True)
        updated.subsets = subsets or None
        updated.metadata.labels = service.metadata.labels
        self.client.update(updated)

"""The LoadBalancer controller: `type: LoadBalancer` Services get an address of the lab pool.

reconcile(namespace/name) reads the Service from the shared cache and converges its
`status.loadBalancer.ingress`:

- a LoadBalancer Service of our class (no `spec.loadBalancerClass`, or `CLASS`) keeps the
  pool address it holds, or gets `spec.loadBalancerIP` when that is in the pool and free
  (else a Warning `AllocationFailed` and no address), or the lowest free address of the pool
  (a full pool: a Warning `AllocationFailed`, and the Service stays `<pending>` until an
  address is freed, which requeues every pending Service);
- a Service of another class is left alone (another implementation owns it);
- a Service that is no longer of type LoadBalancer loses our address; a deleted one frees
  it by being gone.

Which addresses are taken is derived from the stored Services, as the API server does for
ClusterIPs (master/allocators.py): nothing is kept beside the objects, so nothing leaks. The
cache may lag behind this controller's own last write, so the taken set comes from a live
LIST when an address must be picked, and the controller runs exactly one worker: no two
reconciles can choose at the same moment, and a LIST after an acknowledged write sees it.
The status write carries the cached resourceVersion, so a Service changed meanwhile is a
409 and a retry on fresher state.
"""

from __future__ import annotations

import logging
from typing import Any

from kajitori.api.core import Service
from kajitori.api.registry import by_path
from kajitori.controller import Controller
from kajitori.informer import object_key
from master.controllers.context import LoopContext
from net.lb_pool import LOAD_BALANCER_CLASS, AddressPool, is_our_class

log = logging.getLogger(__name__)

CLASS = LOAD_BALANCER_CLASS


def spec_extra(service: Service, name: str) -> Any:
    """A Service spec field the model keeps unmodelled (`loadBalancerIP`, `loadBalancerClass`)."""
    return (service.spec.model_extra or {}).get(name)


def is_ours(service: Service) -> bool:
    return is_our_class(spec_extra(service, "loadBalancerClass"))


def ingress_ips(obj: Service | dict[str, Any]) -> list[str]:
    status = obj.status.loadBalancer if isinstance(obj, Service) else (obj.get("status") or {}).get("loadBalancer") or {}
    return [i["ip"] for i in status.get("ingress") or [] if i.get("ip")]


def wants_address(service: Service) -> bool:
    return service.spec.type == "LoadBalancer" and is_ours(service) and not service.metadata.deletionTimestamp


class LoadBalancerController:
    def __init__(self, ctx: LoopContext, *, pool: AddressPool | None = None) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder
        self.pool = pool or AddressPool.parse(ctx.settings.load_balancer_pool, network=ctx.settings.lab_network)
        self.services = ctx.informers.informer(Service)
        # One worker on purpose: see the module docstring.
        self.controller = Controller("load-balancer", self.reconcile, informers=[self.services], workers=1)
        self.services.add_handlers(self._on_add, self._on_update, self._on_delete)

    def _on_add(self, service: Service) -> None:
        self.controller.enqueue(object_key(service))

    def _on_update(self, old: Service, new: Service) -> None:
        self.controller.enqueue(object_key(new))
        if ingress_ips(old) and not ingress_ips(new):
            self._enqueue_pending()

    def _on_delete(self, service: Service) -> None:
        if ingress_ips(service):
            self._enqueue_pending()

    def _enqueue_pending(self) -> None:
        """An address was freed: every Service still waiting for one may get it now."""
        for service in self.services.list():
            if wants_address(service) and not ingress_ips(service):
                self.controller.enqueue(object_key(service))

    def reconcile(self, key: str) -> None:
        service = self.services.get(key)
        if service is None or not is_ours(service):
            return
        held = [ip for ip in ingress_ips(service) if ip in self.pool]
        if not wants_address(service):
            if held:
                self._write(service, None)
                self.recorder.normal(service, "IPReleased", f"released {', '.join(held)}: not a LoadBalancer any more")
            return
        requested = spec_extra(service, "loadBalancerIP") or None
        if held and len(held) == len(ingress_ips(service)) and (requested is None or held == [requested]):
            return  # it has its address (re-checking it against others would need a LIST per event)
        taken = self._taken(service)
        if requested is not None:
            if requested not in self.pool:
                self._fail(service, held, f"spec.loadBalancerIP {requested} is not in the pool {self.pool}")
                return
            if requested in taken:
                self._fail(service, held, f"spec.loadBalancerIP {requested} is already in use by {taken[requested]}")
                return
            ip: str | None = requested
        else:
            ip = next((h for h in held if h not in taken), None) or self.pool.first_free(taken)
            if ip is None:
                self._fail(service, held, f"no address is free in the pool {self.pool} ({len(self.pool)} in use)")
                return
        self._write(service, ip)
        self.recorder.normal(service, "IPAllocated", f"assigned IP {ip}")

    def _taken(self, service: Service) -> dict[str, str]:
        """Pool addresses held by other Services, from a live LIST (the cache may not show our last write yet)."""
        items = self.client.list_raw(by_path("", "v1", "services"))["items"]
        me = service.metadata.uid
        taken: dict[str, str] = {}
        for item in items:
            meta = item.get("metadata") or {}
            if meta.get("uid") == me:
                continue
            for ip in ingress_ips(item):
                taken.setdefault(ip, f"{meta.get('namespace')}/{meta.get('name')}")
        return taken

    def _fail(self, service: Service, held: list[str], message: str) -> None:
        if held:
            self._write(service, None)
        self.recorder.warning(service, "AllocationFailed", message)

    def _write(self, service: Service, ip: str | None) -> None:
        updated = service.model_copy(deep=True)  # never change the cached object
        updated.status.loadBalancer = {"ingress": [{"ip": ip}]} if ip else {}
        self.client.update_status(updated)

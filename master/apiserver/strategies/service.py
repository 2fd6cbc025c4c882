"""The API server's rules for v1 Services: the ClusterIP and NodePorts it allocates, and keeps.

A create gets a free ClusterIP (or the one asked for, if free) and a NodePort per port of
a NodePort/LoadBalancer Service; an update keeps what a client leaves out (kubectl apply
leaves them out) and refuses a changed ClusterIP. ExternalName Services get neither.
"""

from __future__ import annotations

from kajitori.api.registry import Resource, by_path
from master import allocators
from master.apiserver.strategies.base import FieldError, Obj, Strategy
from master.store import Store


class ServiceStrategy(Strategy):
    allocates = True
    allocates_on_update = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        _service_keep_allocations(new, old)

    def after_validate_create(self, store: Store, resource: Resource, obj: Obj) -> None:
        _allocate_service(store, obj, None)

    def after_validate_update(self, store: Store, resource: Resource, obj: Obj, old: Obj) -> None:
        _allocate_service(store, obj, old)


def _service_keep_allocations(new: Obj, old: Obj) -> None:
    new_spec = new.setdefault("spec", {})
    old_spec = old.get("spec") or {}
    old_ip = old_spec.get("clusterIP")
    if old_ip and new_spec.get("clusterIP") in (None, ""):
        new_spec["clusterIP"] = old_ip
        new_spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_ip]
    elif old_ip and new_spec.get("clusterIP") != old_ip and new_spec.get("type") != "ExternalName":
        raise FieldError("spec.clusterIP", "field is immutable")
    # NodePorts a client leaves out stay what they were (kubectl apply leaves them out).
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
    for port in new_spec.get("ports") or []:
        if port.get("nodePort") in (None, 0) and new_spec.get("type") in ("NodePort", "LoadBalancer"):
            kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if kept:
                port["nodePort"] = kept


def _allocate_service(store: Store, obj: Obj, old: Obj | None) -> None:
    services = store.list(by_path("", "v1", "services").collection)[0]
    me = obj["metadata"].get("uid")
    others = [s.obj for s in services if s.obj["metadata"].get("uid") != me]
    spec = obj["spec"]
    if spec.get("type") == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif spec.get("clusterIP") != "None" and not (old and spec.get("clusterIP") == old["spec"].get("clusterIP")):
        taken = [s["spec"].get("clusterIP") for s in others if s["spec"].get("clusterIP")]
        try:
            ip = allocators.allocate_cluster_ip(taken, spec.get("clusterIP") or None)
        except allocators.AllocationError as exc:
            raise FieldError("spec.clusterIP", f"Invalid value: {spec.get('clusterIP')!r}: {exc}") from None
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
    elif spec.get("clusterIP") == "None":
        spec["clusterIPs"] = ["None"]
    if spec.get("clusterIP") and spec["clusterIP"] != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    used_ports: list[int] = [p["nodePort"] for s in others for p in s["spec"].get("ports") or [] if p.get("nodePort")]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        old_node_ports = {p.get("nodePort") for p in (old or {}).get("spec", {}).get("ports") or []}
        for i, port in enumerate(spec.get("ports") or []):
            wanted = port.get("nodePort")
            if wanted and wanted in old_node_ports and wanted not in used_ports:
                used_ports.append(wanted)
                continue
            try:
                port["nodePort"] = allocators.allocate_node_port(used_ports, wanted)
            except allocators.AllocationError as exc:
                raise FieldError(f"spec.ports[{i}].nodePort", f"Invalid value: {wanted}: {exc}") from None
            used_ports.append(port["nodePort"])
    else:
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)

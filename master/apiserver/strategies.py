"""Per-kind rules of the API server (Kubernetes' "strategies").

The generic verbs in ``resources`` call these hooks; each hook is a small rule of one
kind: what a create may not set, which fields are immutable, which numbers the server
allocates (ClusterIP, NodePort, pod CIDR), how long a deletion is graceful. Hooks work
on the object's dict and raise ``FieldError`` naming the field when a rule is broken.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from kajitori.api.registry import Resource, by_path
from master import allocators

if TYPE_CHECKING:
    from master.apiserver.resources import ResourceAPI

log = logging.getLogger(__name__)


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def prepare_for_create(resource: Resource, obj: dict[str, Any]) -> None:
    kind = resource.kind
    if kind == "Pod":
        # Status is the agent's to write; a new pod is Pending.
        obj["status"] = {"phase": "Pending"}
    elif kind == "Namespace":
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {}) or {}
        obj["spec"] = spec
        spec.setdefault("finalizers", ["kubernetes"])
    elif kind in ("Service", "Deployment", "ReplicaSet", "DaemonSet", "Job"):
        obj.pop("status", None)
    # Node keeps the status it registers with (the agent creates it with its facts).


def prepare_for_update(resource: Resource, new: dict[str, Any], old: dict[str, Any], subresource: str | None) -> None:
    kind = resource.kind
    if subresource == "status":
        return
    if kind == "Pod":
        _pod_spec_update(new, old)
    elif kind == "Service":
        _service_keep_allocations(new, old)
    elif kind in ("Deployment", "ReplicaSet"):
        if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
            raise FieldError("spec.selector", "field is immutable")
    elif kind == "Job":
        from master.apiserver import job_strategy  # it raises this module's FieldError

        job_strategy.keep_generated_selector(new, old)
    elif kind == "DaemonSet":
        if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
            raise FieldError("spec.selector", "field is immutable")
    elif kind == "Node":
        old_cidr = (old.get("spec") or {}).get("podCIDR")
        new_spec = new.setdefault("spec", {})
        if old_cidr and new_spec.get("podCIDR") in (None, ""):
            new_spec["podCIDR"] = old_cidr
            new_spec["podCIDRs"] = [old_cidr]
        elif old_cidr and new_spec.get("podCIDR") != old_cidr:
            raise FieldError("spec.podCIDR", "may not change once assigned")


def _pod_spec_update(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Kubernetes allows a pod's spec to change only in container images, tolerations, deadlines."""
    new_spec = copy.deepcopy(new.get("spec") or {})
    old_spec = copy.deepcopy(old.get("spec") or {})
    if old_spec.get("nodeName") and new_spec.get("nodeName") in (None, ""):
        new["spec"]["nodeName"] = old_spec["nodeName"]
        new_spec["nodeName"] = old_spec["nodeName"]
    if new_spec.get("nodeName") != old_spec.get("nodeName"):
        raise FieldError("spec.nodeName", "may not be changed by an update; bind through pods/binding")
    for spec in (new_spec, old_spec):
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            container.pop("image", None)
        for field in ("tolerations", "activeDeadlineSeconds", "terminationGracePeriodSeconds"):
            spec.pop(field, None)
    # Compare after defaulting would be stricter; comparing what clients send back is what they expect.
    if _without_defaults(new_spec) != _without_defaults(old_spec):
        raise FieldError(
            "spec",
            "Forbidden: pod updates may not change fields other than spec.containers[*].image, "
            "spec.initContainers[*].image, spec.activeDeadlineSeconds, spec.tolerations "
            "(only additions to existing tolerations) or spec.terminationGracePeriodSeconds",
        )


def _without_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    # A client may send back a spec without the server's defaults; both mean the same pod.
    from kajitori.api.core import PodSpec

    try:
        return PodSpec.model_validate(spec).to_dict()
    except ValueError:
        return spec


def _service_keep_allocations(new: dict[str, Any], old: dict[str, Any]) -> None:
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


def after_validate_create(api: ResourceAPI, resource: Resource, obj: dict[str, Any]) -> None:
    if resource.kind == "Service":
        _allocate_service(api, obj, None)
    elif resource.kind == "Job":
        from master.apiserver import job_strategy  # it raises this module's FieldError

        job_strategy.generate_selector(obj)
    elif resource.kind == "Node":
        spec = obj.setdefault("spec", {})
        if not spec.get("podCIDR"):
            taken = [n.obj.get("spec", {}).get("podCIDR") for n in api.store.list(resource.collection)[0]]
            try:
                cidr = allocators.allocate_pod_cidr(c for c in taken if c)
            except allocators.AllocationError as exc:
                # As Kubernetes' CIDR allocator: the node registers, it just gets no pod network.
                log.warning("node %s gets no pod CIDR: %s", obj["metadata"].get("name"), exc)
                return
            spec["podCIDR"] = cidr
            spec["podCIDRs"] = [cidr]


def after_validate_update(api: ResourceAPI, resource: Resource, obj: dict[str, Any], old: dict[str, Any]) -> None:
    if resource.kind == "Service":
        _allocate_service(api, obj, old)
    elif resource.kind == "Job":
        from master.apiserver import job_strategy  # it raises this module's FieldError

        job_strategy.check_immutable(obj, old)


def _allocate_service(api: ResourceAPI, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    services = api.store.list(by_path("", "v1", "services").collection)[0]
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


def ready_to_delete(resource: Resource, obj: dict[str, Any]) -> bool:
    """After an update: is an object that is being deleted now free to go?

    Its finalizers must all be gone; a Namespace also waits for ``spec.finalizers`` (the
    namespace controller empties it); a Pod still bound to a node waits for its agent to
    confirm (a delete with grace 0), unless it never ran or has finished.
    """
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if resource.kind == "Namespace":
        return not (obj.get("spec") or {}).get("finalizers")
    if resource.kind == "Pod":
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        return not spec.get("nodeName") or phase in ("Succeeded", "Failed") or meta.get("deletionGracePeriodSeconds") == 0
    return True


def deletion_grace(resource: Resource, obj: dict[str, Any], requested: int | None) -> int | None:
    """Seconds a deletion is graceful for, or None when the object can go at once.

    Only a pod that runs on a node waits: its agent must stop the containers and then
    confirms with a delete of grace 0. An unscheduled or finished pod goes at once.
    """
    if resource.kind != "Pod":
        return None
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed") or grace == 0:
        return 0 if spec.get("nodeName") and requested == 0 else None
    return int(grace)

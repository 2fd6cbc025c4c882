"""kubectl's `get` tables: columns per kind, AGE, a pod's STATUS, and the aligned layout.

Printers read the wire dicts (what the API returned), not the models, so an object a
newer writer filled with unknown fields still prints. Every printer is a pure function
of (object, now), which is what the unit tests call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kajitori.clock import parse_time

Obj = dict[str, Any]
NONE = "<none>"


def human_duration(seconds: float) -> str:
    """kubectl's AGE: 45s, 2m30s, 3h5m, 2d4h, 400d, 3y20d (apimachinery duration.HumanDuration)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None, now: float) -> str:
    when = parse_time(timestamp)
    return "<unknown>" if when is None else human_duration(now - when)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


# --------------------------------------------------------------------------- pods


@dataclass(frozen=True)
class PodSummary:
    ready: str  # "1/2"
    status: str  # Running, CrashLoopBackOff, Init:0/1, Terminating, ...
    restarts: str  # "3" or "3 (42s ago)"


def pod_summary(pod: Obj, now: float) -> PodSummary:
    """READY, STATUS and RESTARTS as kubectl's printPod computes them."""
    spec, status = _spec(pod), _status(pod)
    containers = spec.get("containers") or []
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts = 0
    last_restart: float | None = None

    def note_restart(container: Obj) -> None:
        nonlocal last_restart
        finished = parse_time(((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    init_specs = spec.get("initContainers") or []
    for index, container in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(container.get("restartCount") or 0)
        note_restart(container)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if terminated:
            reason = "Init:" + (terminated.get("reason") or _exit_text(terminated))
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break

    ready = 0
    if not initializing:
        restarts = 0
        has_running = False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount") or 0)
            note_restart(container)
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = _exit_text(terminated)
            elif container.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition(status, "Ready") == "True" else "NotReady"

    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"

    restart_text = str(restarts)
    if restarts and last_restart is not None:
        restart_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return PodSummary(ready=f"{ready}/{len(containers)}", status=reason, restarts=restart_text)


def _exit_text(terminated: Obj) -> str:
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode', 0)}"


def _condition(status: Obj, kind: str) -> str | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status"))
    return None


def pod_row(pod: Obj, now: float, wide: bool) -> list[str]:
    summary = pod_summary(pod, now)
    row = [_meta(pod).get("name", ""), summary.ready, summary.status, summary.restarts, age(_meta(pod).get("creationTimestamp"), now)]
    if wide:
        status = _status(pod)
        row += [
            status.get("podIP") or NONE,
            _spec(pod).get("nodeName") or NONE,
            status.get("nominatedNodeName") or NONE,
            NONE,
        ]
    return row


# --------------------------------------------------------------------------- workloads


def _containers_and_images(template: Obj) -> list[str]:
    containers = (template.get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def selector_text(selector: Obj | None) -> str:
    """A LabelSelector as kubectl prints it: app=web,tier in (a,b)."""
    if not selector:
        return NONE
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for req in selector.get("matchExpressions") or []:
        values = ",".join(req.get("values") or [])
        op = req.get("operator")
        parts.append(
            {"In": f"{req['key']} in ({values})", "NotIn": f"{req['key']} notin ({values})",
             "Exists": req["key"], "DoesNotExist": f"!{req['key']}"}.get(op, req["key"])
        )  # fmt: skip
    return ",".join(parts) or NONE


def deployment_row(obj: Obj, now: float, wide: bool) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    row = [
        _meta(obj).get("name", ""),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        str(status.get("updatedReplicas") or 0),
        str(status.get("availableReplicas") or 0),
        age(_meta(obj).get("creationTimestamp"), now),
    ]
    if wide:
        row += [*_containers_and_images(spec.get("template") or {}), selector_text(spec.get("selector"))]
    return row


def replicaset_row(obj: Obj, now: float, wide: bool) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    row = [
        _meta(obj).get("name", ""),
        str(spec.get("replicas", 1)),
        str(status.get("replicas") or 0),
        str(status.get("readyReplicas") or 0),
        age(_meta(obj).get("creationTimestamp"), now),
    ]
    if wide:
        row += [*_containers_and_images(spec.get("template") or {}), selector_text(spec.get("selector"))]
    return row


# --------------------------------------------------------------------------- services, endpoints


def service_ports(spec: Obj) -> str:
    parts = []
    for port in spec.get("ports") or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node_port}/{port.get('protocol') or 'TCP'}")
    return ",".join(parts) or NONE


def service_external_ip(spec: Obj, status: Obj) -> str:
    external = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
        external = [x for x in ingress if x] + external
        return ",".join(external) or "<pending>"
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName") or NONE)
    return ",".join(external) or NONE


def service_row(obj: Obj, now: float, wide: bool) -> list[str]:
    spec = _spec(obj)
    row = [
        _meta(obj).get("name", ""),
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or NONE,
        service_external_ip(spec, _status(obj)),
        service_ports(spec),
        age(_meta(obj).get("creationTimestamp"), now),
    ]
    if wide:
        selector = spec.get("selector") or {}
        row.append(",".join(f"{k}={v}" for k, v in selector.items()) or NONE)
    return row


def endpoints_text(obj: Obj, limit: int = 3) -> str:
    """10.244.1.2:80,10.244.2.3:80 + 2 more... (ready addresses only, as kubectl)."""
    pairs = []
    for subset in obj.get("subsets") or []:
        ports = subset.get("ports") or []
        for address in subset.get("addresses") or []:
            if not ports:
                pairs.append(address.get("ip", ""))
            for port in ports:
                pairs.append(f"{address.get('ip', '')}:{port.get('port')}")
    if not pairs:
        return NONE
    text = ",".join(pairs[:limit])
    return text + (f" + {len(pairs) - limit} more..." if len(pairs) > limit else "")


def endpoints_row(obj: Obj, now: float, wide: bool) -> list[str]:
    return [_meta(obj).get("name", ""), endpoints_text(obj), age(_meta(obj).get("creationTimestamp"), now)]


# --------------------------------------------------------------------------- nodes, namespaces, config


def node_status(node: Obj) -> str:
    """Ready / NotReady / Unknown, with ,SchedulingDisabled when cordoned."""
    ready = _condition(_status(node), "Ready")
    text = "Unknown" if ready is None else ("Ready" if ready == "True" else "NotReady")
    if _spec(node).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def node_roles(node: Obj) -> str:
    roles = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key.split("/", 1)[1]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or NONE


def node_address(node: Obj, kind: str) -> str:
    for address in _status(node).get("addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address"))
    return NONE


def node_row(obj: Obj, now: float, wide: bool) -> list[str]:
    info = _status(obj).get("nodeInfo") or {}
    row = [
        _meta(obj).get("name", ""),
        node_status(obj),
        node_roles(obj),
        age(_meta(obj).get("creationTimestamp"), now),
        info.get("kubeletVersion") or "",
    ]
    if wide:
        row += [
            node_address(obj, "InternalIP"),
            node_address(obj, "ExternalIP"),
            info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>",
        ]
    return row


def namespace_row(obj: Obj, now: float, wide: bool) -> list[str]:
    return [_meta(obj).get("name", ""), _status(obj).get("phase") or "Active", age(_meta(obj).get("creationTimestamp"), now)]


def configmap_row(obj: Obj, now: float, wide: bool) -> list[str]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_meta(obj).get("name", ""), str(count), age(_meta(obj).get("creationTimestamp"), now)]


def secret_row(obj: Obj, now: float, wide: bool) -> list[str]:
    count = len(obj.get("data") or {}) + len(obj.get("stringData") or {})
    return [_meta(obj).get("name", ""), obj.get("type") or "Opaque", str(count), age(_meta(obj).get("creationTimestamp"), now)]


def lease_row(obj: Obj, now: float, wide: bool) -> list[str]:
    holder = _spec(obj).get("holderIdentity") or ""
    return [_meta(obj).get("name", ""), holder, age(_meta(obj).get("creationTimestamp"), now)]


# --------------------------------------------------------------------------- events


def event_last_seen(event: Obj) -> str | None:
    return (
        event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        or _meta(event).get("creationTimestamp")
    )  # fmt: skip


def event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def event_row(obj: Obj, now: float, wide: bool) -> list[str]:
    row = [
        age(event_last_seen(obj), now),
        obj.get("type") or "Normal",
        obj.get("reason") or "",
        event_object(obj),
        (obj.get("message") or "").strip().replace("\n", " "),
    ]
    if wide:
        source = obj.get("source") or {}
        origin = ", ".join(x for x in (source.get("component"), source.get("host")) if x)
        row += [origin, str(obj.get("count") or 1), event_first_seen(obj, now)]
    return row


def event_first_seen(event: Obj, now: float) -> str:
    return age(event.get("firstTimestamp") or event_last_seen(event), now)


def generic_row(obj: Obj, now: float, wide: bool) -> list[str]:
    return [_meta(obj).get("name", ""), age(_meta(obj).get("creationTimestamp"), now)]


# --------------------------------------------------------------------------- the table of tables


RowFn = Callable[[Obj, float, bool], list[str]]


@dataclass(frozen=True)
class TableSpec:
    headers: tuple[str, ...]
    wide_headers: tuple[str, ...]
    row: RowFn
    # Events have no NAME column: the name is not what a reader looks for.
    has_name: bool = True


TABLES: dict[str, TableSpec] = {
    "Pod": TableSpec(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"), pod_row),
    "Deployment": TableSpec(("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), ("CONTAINERS", "IMAGES", "SELECTOR"), deployment_row),
    "ReplicaSet": TableSpec(("NAME", "DESIRED", "CURRENT", "READY", "AGE"), ("CONTAINERS", "IMAGES", "SELECTOR"), replicaset_row),
    "Service": TableSpec(("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), ("SELECTOR",), service_row),
    "Endpoints": TableSpec(("NAME", "ENDPOINTS", "AGE"), (), endpoints_row),
    "Node": TableSpec(
        ("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
        ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
        node_row,
    ),
    "Namespace": TableSpec(("NAME", "STATUS", "AGE"), (), namespace_row),
    "ConfigMap": TableSpec(("NAME", "DATA", "AGE"), (), configmap_row),
    "Secret": TableSpec(("NAME", "TYPE", "DATA", "AGE"), (), secret_row),
    "Event": TableSpec(("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), ("SOURCE", "COUNT", "FIRST SEEN"), event_row, has_name=False),
    "Lease": TableSpec(("NAME", "HOLDER", "AGE"), (), lease_row),
}
GENERIC = TableSpec(("NAME", "AGE"), (), generic_row)


def table_spec(kind: str) -> TableSpec:
    return TABLES.get(kind, GENERIC)


def headers_for(kind: str, *, wide: bool, with_namespace: bool) -> list[str]:
    spec = table_spec(kind)
    headers = list(spec.headers) + (list(spec.wide_headers) if wide else [])
    return (["NAMESPACE"] if with_namespace else []) + headers


def rows_for(
    kind: str, objects: Sequence[Obj], now: float, *, wide: bool, with_namespace: bool, name_prefix: str = ""
) -> list[list[str]]:
    spec = table_spec(kind)
    rows = []
    for obj in objects:
        row = spec.row(obj, now, wide)
        if name_prefix and spec.has_name:
            row[0] = name_prefix + row[0]
        rows.append(([_meta(obj).get("namespace") or ""] if with_namespace else []) + row)
    return rows


def sort_for_table(kind: str, objects: list[Obj]) -> list[Obj]:
    """Events by time seen (oldest first, as a log); everything else by namespace, name."""
    if kind == "Event":
        return sorted(objects, key=lambda e: parse_time(event_last_seen(e)) or 0.0)
    return sorted(objects, key=lambda o: (_meta(o).get("namespace") or "", _meta(o).get("name") or ""))


class ColumnWidths:
    """Widths that only grow, so the rows a watch prints later line up with the first table."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def fit(self, rows: Sequence[Sequence[str]]) -> None:
        for row in rows:
            for i, cell in enumerate(row):
                if i >= len(self.widths):
                    self.widths.append(len(cell))
                else:
                    self.widths[i] = max(self.widths[i], len(cell))

    def line(self, row: Sequence[str]) -> str:
        # Three spaces between columns, as kubectl's tabwriter; the last column is not padded.
        cells = [cell.ljust(self.widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        return "   ".join(cells).rstrip()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: ColumnWidths | None = None) -> str:
    widths = widths or ColumnWidths()
    widths.fit([headers, *rows])
    return "\n".join(widths.line(r) for r in [headers, *rows])

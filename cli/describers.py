"""`kajitori describe`: kubectl's sections for pods, deployments, services and nodes, a
generic layout for other kinds, and the object's Events at the end.

Describers build a list of rows and ``DescribeWriter`` lays them out the way kubectl's
tabwriter does: values of consecutive ``Key: value`` rows line up, and a row with no
value (a section title) starts a new alignment block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from cli.printers import (
    NONE,
    age,
    event_last_seen,
    human_duration,
    node_roles,
    render_table,
    selector_text,
)
from kajitori.api.registry import Resource, by_kind
from kajitori.client import ApiClient, ApiError
from kajitori.clock import parse_time

Obj = dict[str, Any]


@dataclass(frozen=True)
class Row:
    level: int  # indentation, two spaces each
    kind: Literal["field", "title", "text"]
    key: str | None = None  # None on a field's continuation line
    value: str = ""


class DescribeWriter:
    """Fields (`Key: value`), section titles (`Key:`) and free text lines, laid out like kubectl."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def field(self, level: int, key: str, value: Any) -> None:
        text = NONE if value is None or value == "" else str(value)
        first, *more = text.split("\n")
        self.rows.append(Row(level, "field", key, first))
        # Further lines (several labels) align under the first value.
        self.rows.extend(Row(level, "field", None, line) for line in more)

    def mapping(self, level: int, key: str, values: dict[str, Any] | None, sep: str = "=") -> None:
        items = [f"{k}{sep}{v}" for k, v in sorted((values or {}).items())]
        self.field(level, key, "\n".join(items) if items else NONE)

    def section(self, level: int, title: str) -> None:
        self.rows.append(Row(level, "title", title))

    def text(self, level: int, line: str) -> None:
        self.rows.append(Row(level, "text", value=line))

    def table(self, level: int, headers: list[str], rows: list[list[str]], *, rule: bool = False) -> None:
        if rule:
            rows = [["-" * len(h) for h in headers], *rows]
        for line in render_table(headers, rows).split("\n"):
            self.text(level, line)

    def render(self) -> str:
        out: list[str] = []
        block: list[Row] = []

        def flush() -> None:
            # One tabwriter block: the values of consecutive fields share a column.
            width = max((2 * r.level + len(r.key) + 1 for r in block if r.key is not None), default=0)
            for r in block:
                label = " " * (2 * r.level) + (f"{r.key}:" if r.key is not None else "")
                out.append(f"{label.ljust(width + 2)}{r.value}".rstrip())
            block.clear()

        for row in self.rows:
            if row.kind == "field":
                block.append(row)
                continue
            flush()
            indent = " " * (2 * row.level)
            out.append(f"{indent}{row.key}:" if row.kind == "title" else f"{indent}{row.value}".rstrip())
        flush()
        return "\n".join(out) + "\n"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _time(value: str | None) -> str:
    """kubectl's RFC 1123 style: Mon, 02 Jan 2006 15:04:05 +0000."""
    from datetime import UTC, datetime

    when = parse_time(value)
    if when is None:
        return NONE
    return datetime.fromtimestamp(when, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _header(w: DescribeWriter, obj: Obj, *, namespaced: bool) -> None:
    meta = _meta(obj)
    w.field(0, "Name", meta.get("name"))
    if namespaced:
        w.field(0, "Namespace", meta.get("namespace"))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")


def _shown_annotations(obj: Obj) -> dict[str, str]:
    # kubectl hides the copy of the manifest `apply` keeps: it repeats what the reader sees.
    annotations = _meta(obj).get("annotations") or {}
    return {k: v for k, v in annotations.items() if k != "kubectl.kubernetes.io/last-applied-configuration"}


def _controlled_by(obj: Obj) -> str | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


# --------------------------------------------------------------------------- pods


def _state_rows(w: DescribeWriter, level: int, title: str, state: Obj | None) -> None:
    state = state or {}
    if state.get("running") is not None:
        w.field(level, title, "Running")
        w.field(level + 1, "Started", _time(state["running"].get("startedAt")))
    elif state.get("waiting") is not None:
        w.field(level, title, "Waiting")
        w.field(level + 1, "Reason", state["waiting"].get("reason"))
        if state["waiting"].get("message"):
            w.field(level + 1, "Message", state["waiting"]["message"])
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.field(level, title, "Terminated")
        w.field(level + 1, "Reason", t.get("reason"))
        if t.get("message"):
            w.field(level + 1, "Message", t["message"])
        w.field(level + 1, "Exit Code", t.get("exitCode", 0))
        if t.get("signal"):
            w.field(level + 1, "Signal", t["signal"])
        w.field(level + 1, "Started", _time(t.get("startedAt")))
        w.field(level + 1, "Finished", _time(t.get("finishedAt")))
    else:
        w.field(level, title, "Waiting" if title == "State" else NONE)


def _ports_text(container: Obj) -> str:
    ports = [f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in container.get("ports") or []]
    return ", ".join(ports) or NONE


def _probe_text(probe: Obj) -> str:
    if probe.get("httpGet"):
        action = f"http-get {probe['httpGet'].get('scheme', 'HTTP').lower()}://:{probe['httpGet'].get('port')}{probe['httpGet'].get('path', '/')}"
    elif probe.get("tcpSocket"):
        action = f"tcp-socket :{probe['tcpSocket'].get('port')}"
    elif probe.get("exec"):
        action = "exec " + str(probe["exec"].get("command") or [])
    else:
        action = "unknown"
    return (
        f"{action} delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
        f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
        f"#failure={probe.get('failureThreshold', 3)}"
    )


def _container_rows(w: DescribeWriter, level: int, container: Obj, status: Obj | None) -> None:
    w.section(level, container.get("name", ""))
    inner = level + 1
    if status is not None:
        w.field(inner, "Container ID", status.get("containerID"))
    w.field(inner, "Image", container.get("image"))
    if status is not None:
        w.field(inner, "Image ID", status.get("imageID"))
    w.field(inner, "Port", _ports_text(container))
    if container.get("command"):
        w.field(inner, "Command", "\n".join(container["command"]))
    if container.get("args"):
        w.field(inner, "Args", "\n".join(container["args"]))
    if status is not None:
        _state_rows(w, inner, "State", status.get("state"))
        if (status.get("lastState") or {}) != {}:
            _state_rows(w, inner, "Last State", status.get("lastState"))
        w.field(inner, "Ready", "True" if status.get("ready") else "False")
        w.field(inner, "Restart Count", status.get("restartCount", 0))
    resources = container.get("resources") or {}
    for title, key in (("Limits", "limits"), ("Requests", "requests")):
        if resources.get(key):
            w.section(inner, title)
            for name, value in sorted(resources[key].items()):
                w.field(inner + 1, name, value)
    for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
        if container.get(key):
            w.field(inner, title, _probe_text(container[key]))
    env = []
    for var in container.get("env") or []:
        if "value" in var:
            env.append(f"{var['name']}:  {var['value']}")
        else:
            source = var.get("valueFrom") or {}
            ref = next(iter(source), "valueFrom")
            env.append(f"{var['name']}:  <set to the key '{(source.get(ref) or {}).get('key', '')}' of {ref}>")
    if env:
        w.section(inner, "Environment")
        for line in env:
            w.text(inner + 1, line)
    else:
        w.field(inner, "Environment", NONE)
    mounts = [
        f"{m.get('mountPath')} from {m.get('name')} ({'ro' if m.get('readOnly') else 'rw'})"
        for m in container.get("volumeMounts") or []
    ]
    if mounts:
        w.section(inner, "Mounts")
        for line in mounts:
            w.text(inner + 1, line)
    else:
        w.field(inner, "Mounts", NONE)


def _volume_text(volume: Obj) -> list[tuple[str, str]]:
    if "emptyDir" in volume:
        return [("Type", "EmptyDir (a temporary directory that shares a pod's lifetime)"),
                ("Medium", (volume["emptyDir"] or {}).get("medium") or "")]  # fmt: skip
    if "hostPath" in volume:
        return [("Type", "HostPath (bare host directory volume)"), ("Path", volume["hostPath"].get("path", ""))]
    if "configMap" in volume:
        return [("Type", "ConfigMap (a volume populated by a ConfigMap)"), ("Name", volume["configMap"].get("name", ""))]
    if "secret" in volume:
        return [("Type", "Secret (a volume populated by a Secret)"), ("SecretName", volume["secret"].get("secretName", ""))]
    return [("Type", ",".join(k for k in volume if k != "name") or "<unknown>")]


def describe_pod(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Namespace", meta.get("namespace"))
    w.field(0, "Service Account", spec.get("serviceAccountName") or "default")
    node = spec.get("nodeName")
    w.field(0, "Node", f"{node}/{status.get('hostIP')}" if node and status.get("hostIP") else node or NONE)
    w.field(0, "Start Time", _time(status.get("startTime")))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    if meta.get("deletionTimestamp"):
        grace = meta.get("deletionGracePeriodSeconds")
        w.field(0, "Status", f"Terminating (lasts {age(meta['deletionTimestamp'], now)})")
        w.field(0, "Termination Grace Period", f"{grace}s" if grace is not None else NONE)
    else:
        w.field(0, "Status", status.get("phase") or "Pending")
    if status.get("reason"):
        w.field(0, "Reason", status["reason"])
    if status.get("message"):
        w.field(0, "Message", status["message"])
    w.field(0, "IP", status.get("podIP"))
    ips = [ip.get("ip", "") for ip in status.get("podIPs") or []]
    if ips:
        w.section(0, "IPs")
        for ip in ips:
            w.field(1, "IP", ip)
    else:
        w.field(0, "IPs", NONE)
    controller = _controlled_by(obj)
    if controller:
        w.field(0, "Controlled By", controller)
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
    if spec.get("initContainers"):
        w.section(0, "Init Containers")
        for container in spec["initContainers"]:
            _container_rows(w, 1, container, init_statuses.get(container.get("name")))
    w.section(0, "Containers")
    for container in spec.get("containers") or []:
        _container_rows(w, 1, container, statuses.get(container.get("name")))
    conditions = status.get("conditions") or []
    if conditions:
        w.section(0, "Conditions")
        w.table(1, ["Type", "Status"], [[c.get("type", ""), c.get("status", "")] for c in conditions])
    volumes = spec.get("volumes") or []
    if volumes:
        w.section(0, "Volumes")
        for volume in volumes:
            w.section(1, volume.get("name", ""))
            for key, value in _volume_text(volume):
                w.field(2, key, value)
    else:
        w.field(0, "Volumes", NONE)
    w.field(0, "QoS Class", status.get("qosClass") or "BestEffort")
    w.mapping(0, "Node-Selectors", spec.get("nodeSelector"))
    tolerations = [
        f"{t.get('key', '')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect', '')}"
        + (f" op={t.get('operator')}" if t.get("operator") == "Exists" else "")
        + (f" for {t['tolerationSeconds']}s" if t.get("tolerationSeconds") is not None else "")
        for t in spec.get("tolerations") or []
    ]
    w.field(0, "Tolerations", "\n".join(tolerations) if tolerations else NONE)
    return w


# --------------------------------------------------------------------------- deployments


def _template_rows(w: DescribeWriter, template: Obj) -> None:
    w.section(0, "Pod Template")
    w.mapping(1, "Labels", (template.get("metadata") or {}).get("labels"))
    w.section(1, "Containers")
    for container in (template.get("spec") or {}).get("containers") or []:
        _container_rows(w, 2, container, None)
    volumes = (template.get("spec") or {}).get("volumes") or []
    w.field(1, "Volumes", ", ".join(v.get("name", "") for v in volumes) or NONE)


def describe_deployment(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Namespace", meta.get("namespace"))
    w.field(0, "CreationTimestamp", _time(meta.get("creationTimestamp")))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    w.field(0, "Selector", selector_text(spec.get("selector")))
    replicas = status.get("replicas") or 0
    w.field(
        0,
        "Replicas",
        f"{spec.get('replicas', 1)} desired | {status.get('updatedReplicas') or 0} updated | {replicas} total | "
        f"{status.get('availableReplicas') or 0} available | {status.get('unavailableReplicas') or 0} unavailable",
    )
    strategy = spec.get("strategy") or {}
    w.field(0, "StrategyType", strategy.get("type") or "RollingUpdate")
    w.field(0, "MinReadySeconds", spec.get("minReadySeconds", 0))
    rolling = strategy.get("rollingUpdate")
    if rolling:
        w.field(0, "RollingUpdateStrategy", f"{rolling.get('maxUnavailable')} max unavailable, {rolling.get('maxSurge')} max surge")
    _template_rows(w, spec.get("template") or {})
    conditions = status.get("conditions") or []
    if conditions:
        w.section(0, "Conditions")
        w.table(1, ["Type", "Status", "Reason"], [[c.get("type", ""), c.get("status", ""), c.get("reason") or ""] for c in conditions], rule=True)
    old, new = _replicasets_of(client, obj)
    w.field(0, "OldReplicaSets", ", ".join(old) or NONE)
    w.field(0, "NewReplicaSet", new or NONE)
    return w


def describe_job(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    """kubectl's Job layout: selector, counts, times, pod statuses, the pod template."""
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Namespace", meta.get("namespace"))
    w.field(0, "Selector", selector_text(spec.get("selector")))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    if _controlled_by(obj):
        w.field(0, "Controlled By", _controlled_by(obj))
    w.field(0, "Parallelism", spec.get("parallelism", 1))
    w.field(0, "Completions", spec.get("completions") if spec.get("completions") is not None else "<unset>")
    w.field(0, "Completion Mode", spec.get("completionMode") or "NonIndexed")
    w.field(0, "Suspend", str(bool(spec.get("suspend"))).lower())
    w.field(0, "Backoff Limit", spec.get("backoffLimit", 6))
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.field(0, "TTL Seconds After Finished", spec["ttlSecondsAfterFinished"])
    started, completed = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if started is not None:
        w.field(0, "Start Time", _time(status.get("startTime")))
    if completed is not None:
        w.field(0, "Completed At", _time(status.get("completionTime")))
    if started is not None:
        w.field(0, "Duration", human_duration((completed if completed is not None else now) - started))
    if spec.get("activeDeadlineSeconds") is not None:
        w.field(0, "Active Deadline Seconds", f"{spec['activeDeadlineSeconds']}s")
    w.field(
        0,
        "Pods Statuses",
        f"{status.get('active') or 0} Active ({status.get('ready') or 0} Ready) / "
        f"{status.get('succeeded') or 0} Succeeded / {status.get('failed') or 0} Failed",
    )
    _template_rows(w, spec.get("template") or {})
    conditions = status.get("conditions") or []
    if conditions:
        w.section(0, "Conditions")
        w.table(1, ["Type", "Status", "Reason"], [[c.get("type", ""), c.get("status", ""), c.get("reason") or ""] for c in conditions], rule=True)
    return w


def describe_cronjob(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    """kubectl's CronJob layout: schedule and policies, the job template, the active and last Jobs."""
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    job_template = spec.get("jobTemplate") or {}
    job_spec = job_template.get("spec") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Namespace", meta.get("namespace"))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    w.field(0, "Schedule", spec.get("schedule"))
    if spec.get("timeZone"):
        w.field(0, "Time Zone", spec["timeZone"])
    w.field(0, "Concurrency Policy", spec.get("concurrencyPolicy") or "Allow")
    w.field(0, "Suspend", "True" if spec.get("suspend") else "False")
    w.field(0, "Successful Job History Limit", spec.get("successfulJobsHistoryLimit", 3))
    w.field(0, "Failed Job History Limit", spec.get("failedJobsHistoryLimit", 1))
    deadline = spec.get("startingDeadlineSeconds")
    w.field(0, "Starting Deadline Seconds", f"{deadline}s" if deadline is not None else NONE)
    w.field(0, "Selector", selector_text(job_spec.get("selector")) if job_spec.get("selector") else NONE)
    w.field(0, "Parallelism", job_spec.get("parallelism", NONE))
    w.field(0, "Completions", job_spec.get("completions", NONE))
    _template_rows(w, job_spec.get("template") or {})
    w.field(
        0,
        "Last Schedule Time",
        _time(status.get("lastScheduleTime")) if status.get("lastScheduleTime") else NONE,
    )
    w.field(
        0,
        "Last Successful Time",
        _time(status.get("lastSuccessfulTime")) if status.get("lastSuccessfulTime") else NONE,
    )
    w.field(0, "Active Jobs", ", ".join(r.get("name", "") for r in status.get("active") or []) or NONE)
    return w


def describe_daemonset(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    """kubectl's DaemonSet layout: selectors, the node counts, the pods' phases, the pod template."""
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Selector", selector_text(spec.get("selector")))
    w.mapping(0, "Node-Selector", ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector"))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    w.field(0, "Desired Number of Nodes Scheduled", status.get("desiredNumberScheduled") or 0)
    w.field(0, "Current Number of Nodes Scheduled", status.get("currentNumberScheduled") or 0)
    w.field(0, "Number of Nodes Scheduled with Up-to-date Pods", status.get("updatedNumberScheduled") or 0)
    w.field(0, "Number of Nodes Scheduled with Available Pods", status.get("numberAvailable") or 0)
    w.field(0, "Number of Nodes Misscheduled", status.get("numberMisscheduled") or 0)
    phases: dict[str, int] = {}
    try:
        pods = client.list_raw(by_kind("v1", "Pod"), meta.get("namespace"),
                               label_selector=selector_text(spec.get("selector"))).get("items") or []  # fmt: skip
    except ApiError:
        pods = []
    uid = meta.get("uid")
    for pod in pods:
        if any(r.get("uid") == uid and r.get("controller") for r in _meta(pod).get("ownerReferences") or []):
            phase = (pod.get("status") or {}).get("phase") or "Pending"
            phases[phase] = phases.get(phase, 0) + 1
    w.field(0, "Pods Status", f"{phases.get('Running', 0)} Running / {phases.get('Pending', 0)} Waiting / "
                              f"{phases.get('Succeeded', 0)} Succeeded / {phases.get('Failed', 0)} Failed")  # fmt: skip
    _template_rows(w, spec.get("template") or {})
    return w


def _replicasets_of(client: ApiClient, deployment: Obj) -> tuple[list[str], str | None]:
    meta = _meta(deployment)
    try:
        items = client.list_raw(by_kind("apps/v1", "ReplicaSet"), meta.get("namespace")).get("items") or []
    except ApiError:
        return [], None
    owned = [rs for rs in items if any(r.get("uid") == meta.get("uid") for r in _meta(rs).get("ownerReferences") or [])]

    def revision(rs: Obj) -> int:
        value = (_meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")
        return int(value) if str(value).isdigit() else 0

    owned.sort(key=revision)
    texts = [
        f"{_meta(rs).get('name')} ({(rs.get('status') or {}).get('replicas') or 0}/{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"
        for rs in owned
    ]
    if not texts:
        return [], None
    return texts[:-1], texts[-1]


# --------------------------------------------------------------------------- services


def describe_service(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    w = DescribeWriter()
    _header(w, obj, namespaced=True)
    spec = obj.get("spec") or {}
    w.field(0, "Selector", ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or NONE)
    w.field(0, "Type", spec.get("type") or "ClusterIP")
    w.field(0, "IP", spec.get("clusterIP"))
    w.field(0, "IPs", ",".join(spec.get("clusterIPs") or []) or spec.get("clusterIP"))
    endpoints = _endpoints_of(client, obj)
    for port in spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        proto = port.get("protocol") or "TCP"
        w.field(0, "Port", f"{name}  {port.get('port')}/{proto}")
        w.field(0, "TargetPort", f"{port.get('targetPort', port.get('port'))}/{proto}")
        if port.get("nodePort"):
            w.field(0, "NodePort", f"{name}  {port['nodePort']}/{proto}")
        w.field(0, "Endpoints", endpoints.get(port.get("name") or "", "") or NONE)
    if not spec.get("ports"):
        w.field(0, "Port", NONE)
    w.field(0, "Session Affinity", spec.get("sessionAffinity") or "None")
    if spec.get("externalTrafficPolicy"):
        w.field(0, "External Traffic Policy", spec["externalTrafficPolicy"])
    return w


def _endpoints_of(client: ApiClient, service: Obj) -> dict[str, str]:
    """Port name -> "ip:port,ip:port" of the Service's ready endpoints."""
    meta = _meta(service)
    try:
        ep = client.get_raw(by_kind("v1", "Endpoints"), meta.get("name", ""), meta.get("namespace"))
    except ApiError:
        return {}
    found: dict[str, list[str]] = {}
    for subset in ep.get("subsets") or []:
        for port in subset.get("ports") or []:
            for address in subset.get("addresses") or []:
                found.setdefault(port.get("name") or "", []).append(f"{address.get('ip')}:{port.get('port')}")
    return {name: ",".join(values) for name, values in found.items()}


# --------------------------------------------------------------------------- ingresses


def _backend_text(client: ApiClient, namespace: str | None, backend: Obj | None) -> str:
    """kubectl's `svc:port (ip:port,...)`, or `<error: ...>` naming what is missing."""
    if not backend:
        return "<default>"
    service = backend.get("service")
    if not service:
        resource = backend.get("resource") or {}
        return f"APIGroup: {resource.get('apiGroup') or ''}, Kind: {resource.get('kind', '')}, Name: {resource.get('name', '')}"
    port = service.get("port") or {}
    wanted = port.get("number") if port.get("number") is not None else port.get("name")
    head = f"{service.get('name', '')}:{wanted}"
    try:
        svc = client.get_raw(by_kind("v1", "Service"), service.get("name", ""), namespace)
    except ApiError:
        return f"{head} (<error: services \"{service.get('name', '')}\" not found>)"
    ports = (svc.get("spec") or {}).get("ports") or []
    match = next((p for p in ports if p.get("port") == wanted or (p.get("name") and p.get("name") == wanted)), None)
    addresses = _endpoints_of(client, svc).get((match or {}).get("name") or "", "") if match else ""
    return f"{head} ({addresses or NONE})"


def describe_ingress(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    """kubectl's Ingress description: address, class, default backend, TLS, rules with their backends."""
    w = DescribeWriter()
    meta, spec = _meta(obj), obj.get("spec") or {}
    namespace = meta.get("namespace")
    w.field(0, "Name", meta.get("name"))
    w.mapping(0, "Labels", meta.get("labels"))
    w.field(0, "Namespace", namespace)
    points = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    w.field(0, "Address", ",".join(p.get("ip") or p.get("hostname") or "" for p in points))
    w.field(0, "Ingress Class", spec.get("ingressClassName") or NONE)
    w.field(0, "Default backend", _backend_text(client, namespace, spec.get("defaultBackend")))
    if spec.get("tls"):
        w.section(0, "TLS")
        for tls in spec["tls"]:
            w.text(1, f"{tls.get('secretName') or 'SNI routes'} terminates {','.join(tls.get('hosts') or [])}")
    rows = []
    for rule in spec.get("rules") or []:
        rows.append([rule.get("host") or "*", "", ""])
        for path in (rule.get("http") or {}).get("paths") or []:
            rows.append(["", path.get("path") or "", _backend_text(client, namespace, path.get("backend"))])
    w.section(0, "Rules")
    w.table(1, ["Host", "Path", "Backends"], rows, rule=True)
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    return w


# --------------------------------------------------------------------------- nodes


def describe_node(client: ApiClient, obj: Obj, now: float) -> DescribeWriter:
    w = DescribeWriter()
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    w.field(0, "Name", meta.get("name"))
    w.field(0, "Roles", node_roles(obj))
    w.mapping(0, "Labels", meta.get("labels"))
    w.mapping(0, "Annotations", _shown_annotations(obj), sep=": ")
    w.field(0, "CreationTimestamp", _time(meta.get("creationTimestamp")))
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}" for t in spec.get("taints") or []]
    w.field(0, "Taints", "\n".join(taints) if taints else NONE)
    w.field(0, "Unschedulable", "true" if spec.get("unschedulable") else "false")
    conditions = status.get("conditions") or []
    w.section(0, "Conditions")
    w.table(
        1,
        ["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"],
        [[c.get("type", ""), c.get("status", ""), _time(c.get("lastHeartbeatTime")), _time(c.get("lastTransitionTime")),
          c.get("reason") or "", c.get("message") or ""] for c in conditions],
        rule=True,
    )  # fmt: skip
    w.section(0, "Addresses")
    for address in status.get("addresses") or []:
        w.field(1, address.get("type", ""), address.get("address"))
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        w.section(0, title)
        for name, value in sorted((status.get(key) or {}).items()):
            w.field(1, name, value)
    info = status.get("nodeInfo") or {}
    w.section(0, "System Info")
    for title, key in (
        ("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"), ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"), ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"), ("Kube-Proxy Version", "kubeProxyVersion"),
    ):  # fmt: skip
        w.field(1, title, info.get(key) or "")
    w.field(0, "PodCIDR", spec.get("podCIDR"))
    w.field(0, "PodCIDRs", ",".join(spec.get("podCIDRs") or []) or spec.get("podCIDR"))
    pods = _pods_on(client, meta.get("name", ""))
    w.section(0, f"Non-terminated Pods ({len(pods)} in total)")
    rows = []
    for pod in pods:
        requests, limits = _pod_resources(pod)
        rows.append([
            _meta(pod).get("namespace", ""), _meta(pod).get("name", ""),
            requests.get("cpu", "0"), limits.get("cpu", "0"), requests.get("memory", "0"), limits.get("memory", "0"),
            age(_meta(pod).get("creationTimestamp"), now),
        ])  # fmt: skip
    w.table(1, ["Namespace", "Name", "CPU Requests", "CPU Limits", "Memory Requests", "Memory Limits", "Age"], rows, rule=True)
    return w


def _pods_on(client: ApiClient, node: str) -> list[Obj]:
    try:
        items = client.list_raw(by_kind("v1", "Pod"), None, field_selector=f"spec.nodeName={node}").get("items") or []
    except ApiError:
        return []
    return [p for p in items if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _pod_resources(pod: Obj) -> tuple[dict[str, str], dict[str, str]]:
    """Summed requests and limits of a pod's containers, in the quantities' own units when single."""
    requests: dict[str, list[str]] = {}
    limits: dict[str, list[str]] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        for name, value in (resources.get("requests") or {}).items():
            requests.setdefault(name, []).append(str(value))
        for name, value in (resources.get("limits") or {}).items():
            limits.setdefault(name, []).append(str(value))
    return {k: "+".join(v) for k, v in requests.items()}, {k: "+".join(v) for k, v in limits.items()}


# --------------------------------------------------------------------------- anything else


def describe_generic(client: ApiClient, obj: Obj, now: float, *, namespaced: bool) -> DescribeWriter:
    w = DescribeWriter()
    _header(w, obj, namespaced=namespaced)
    rest = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
    for key, value in rest.items():
        if isinstance(value, (dict, list)) and value:
            w.section(0, key[:1].upper() + key[1:])
            dumped = yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip("\n")
            for line in dumped.split("\n"):
                w.text(1, line)
        else:
            w.field(0, key[:1].upper() + key[1:], value if value not in ({}, []) else NONE)
    return w


# --------------------------------------------------------------------------- events


def events_of(client: ApiClient, resource: Resource, obj: Obj) -> list[Obj] | None:
    """The Events about one object, oldest first; None when they cannot be listed."""
    meta = _meta(obj)
    selector = f"involvedObject.name={meta.get('name', '')},involvedObject.kind={resource.kind}"
    namespace = meta.get("namespace") if resource.namespaced else None
    if namespace:
        selector += f",involvedObject.namespace={namespace}"
    try:
        items = client.list_raw(by_kind("v1", "Event"), namespace, field_selector=selector).get("items") or []
    except ApiError:
        return None
    uid = meta.get("uid")
    items = [e for e in items if not uid or not (e.get("involvedObject") or {}).get("uid") or e["involvedObject"]["uid"] == uid]
    return sorted(items, key=lambda e: parse_time(event_last_seen(e)) or 0.0)


def event_age(event: Obj, now: float) -> str:
    """`10s`, or `3m (x4 over 10m)` for an event seen several times."""
    last = age(event_last_seen(event), now)
    count = int(event.get("count") or 1)
    if count > 1:
        first = parse_time(event.get("firstTimestamp"))
        over = human_duration(now - first) if first is not None else last
        return f"{last} (x{count} over {over})"
    return last


def events_section(events: list[Obj] | None, now: float) -> str:
    if events is None:
        return "Events:  <unknown>\n"
    if not events:
        return "Events:  <none>\n"
    rows = []
    for event in events:
        source = event.get("source") or {}
        origin = ", ".join(x for x in (source.get("component") or event.get("reportingComponent"), source.get("host")) if x)
        rows.append([event.get("type") or "Normal", event.get("reason") or "", event_age(event, now), origin,
                     (event.get("message") or "").strip().replace("\n", " ")])  # fmt: skip
    headers = ["Type", "Reason", "Age", "From", "Message"]
    table = render_table(headers, [["-" * len(h) for h in headers], *rows])
    return "Events:\n" + "\n".join("  " + line for line in table.split("\n")) + "\n"


Describer = Callable[[ApiClient, Obj, float], DescribeWriter]
DESCRIBERS: dict[str, Describer] = {
    "Pod": describe_pod,
    "Deployment": describe_deployment,
    "DaemonSet": describe_daemonset,
    "Job": describe_job,
    "CronJob": describe_cronjob,
    "Service": describe_service,
    "Node": describe_node,
    "Ingress": describe_ingress,
}


def describe(client: ApiClient, resource: Resource, obj: Obj, now: float) -> str:
    """The whole `describe` text of one object, Events included."""
    describer = DESCRIBERS.get(resource.kind)
    writer = (
        describer(client, obj, now) if describer else describe_generic(client, obj, now, namespaced=resource.namespaced)
    )
    text = writer.render()
    if resource.kind != "Event":
        text += events_section(events_of(client, resource, obj), now)
    return text

"""The columns and cells of kubectl's `get` tables: one definition for the CLI and the API server.

Each kind has Kubernetes' column definitions (name, priority: 1 for the `-o wide` ones) and
one pure function from a wire dict to every cell of its row, so `kajitori get` and the API
server's ``meta.k8s.io/v1`` Table (what kubectl asks for) cannot disagree. Cells read the
wire dicts, not the models, so an object a newer writer filled with unknown fields still
prints. Everything here is a pure function of (object, now): no I/O, no CLI imports, so
the master may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


def _condition(status: Obj, kind: str | None) -> str | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status"))
    return None


def readiness_gates(pod: Obj) -> str:
    """How many of the pod's readiness gates have a True condition ("1/2"), as kubectl shows."""
    gates = _spec(pod).get("readinessGates") or []
    if not gates:
        return NONE
    met = sum(1 for gate in gates if _condition(_status(pod), gate.get("conditionType")) == "True")
    return f"{met}/{len(gates)}"


def pod_cells(pod: Obj, now: float) -> list[str]:
    summary, status = pod_summary(pod, now), _status(pod)
    return [
        _meta(pod).get("name", ""),
        summary.ready,
        summary.status,
        summary.restarts,
        age(_meta(pod).get("creationTimestamp"), now),
        status.get("podIP") or NONE,
        _spec(pod).get("nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        readiness_gates(pod),
    ]


# --------------------------------------------------------------------------- workloads


def _containers_and_images(template: Obj) -> list[str]:
    containers = (template.get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def selector_text(selector: Obj | None) -> str:
    """A LabelSelector as kubectl prints it: app=web,tier in (a,b)."""
    if not selector:
        return NONE
    # Requirements sorted by key, values sorted, as apimachinery's selector String() does.
    parts = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for req in selector.get("matchExpressions") or []:
        key, values = req["key"], ",".join(sorted(req.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(req.get("operator"), key)  # fmt: skip
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts, key=lambda part: part[0])) or NONE


def deployment_cells(obj: Obj, now: float) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    return [
        _meta(obj).get("name", ""),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        str(status.get("updatedReplicas") or 0),
        str(status.get("availableReplicas") or 0),
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(spec.get("template") or {}),
        selector_text(spec.get("selector")),
    ]


def replicaset_cells(obj: Obj, now: float) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    return [
        _meta(obj).get("name", ""),
        str(spec.get("replicas", 1)),
        str(status.get("replicas") or 0),
        str(status.get("readyReplicas") or 0),
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(spec.get("template") or {}),
        selector_text(spec.get("selector")),
    ]


def replicationcontroller_cells(obj: Obj, now: float) -> list[str]:
    # A ReplicaSet's columns; its selector is a plain map.
    spec = _spec(obj)
    cells = replicaset_cells(obj, now)
    cells[-1] = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return cells


def daemonset_cells(obj: Obj, now: float) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [
        _meta(obj).get("name", ""),
        str(status.get("desiredNumberScheduled") or 0),
        str(status.get("currentNumberScheduled") or 0),
        str(status.get("numberReady") or 0),
        str(status.get("updatedNumberScheduled") or 0),
        str(status.get("numberAvailable") or 0),
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or NONE,
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(spec.get("template") or {}),
        selector_text(spec.get("selector")),
    ]


def job_completions(spec: Obj, status: Obj) -> str:
    """kubectl's COMPLETIONS: succeeded/completions, or succeeded/1 (of parallelism) for a work queue."""
    succeeded = status.get("succeeded") or 0
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = spec.get("parallelism") or 0
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(status: Obj, now: float) -> str:
    """kubectl's DURATION: start to completion, or start to now while it runs; empty before it starts."""
    started = parse_time(status.get("startTime"))
    if started is None:
        return ""
    ended = parse_time(status.get("completionTime"))
    return human_duration((ended if ended is not None else now) - started)


def job_cells(obj: Obj, now: float) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    return [
        _meta(obj).get("name", ""),
        job_completions(spec, status),
        job_duration(status, now),
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(spec.get("template") or {}),
        selector_text(spec.get("selector")),
    ]



def cronjob_cells(obj: Obj, now: float) -> list[str]:
    """kubectl's CronJob row: the schedule, its zone, suspended?, active Jobs, when it last ran."""
    spec, status = _spec(obj), _status(obj)
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    last = status.get("lastScheduleTime")
    return [
        _meta(obj).get("name", ""),
        spec.get("schedule", ""),
        spec.get("timeZone") or NONE,
        "True" if spec.get("suspend") else "False",
        str(len(status.get("active") or [])),
        age(last, now) if last else NONE,
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(job_spec.get("template") or {}),
        selector_text(job_spec.get("selector")),
    ]


def _hpa_targets(spec: Obj, status: Obj) -> str:
    """kubectl's TARGETS: "cpu: 40%/50%" per metric, <unknown> for a current value not yet known."""
    current = {
        (m.get("resource") or {}).get("name"): (m.get("resource") or {}).get("current") or {}
        for m in status.get("currentMetrics") or []
    }
    metrics = spec.get("metrics") or [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]
    parts = []
    for metric in metrics:
        resource = metric.get("resource") or {}
        name, target = resource.get("name", ""), resource.get("target") or {}
        now = current.get(name) or {}
        if target.get("type") == "Utilization":
            value = now.get("averageUtilization")
            have = f"{value}%" if value is not None else "<unknown>"
            parts.append(f"{name}: {have}/{target.get('averageUtilization')}%")
        else:
            parts.append(f"{name}: {now.get('averageValue') or '<unknown>'}/{target.get('averageValue')}")
    return ", ".join(parts) or "<none>"


def hpa_cells(obj: Obj, now: float) -> list[str]:
    """kubectl's HorizontalPodAutoscaler row: the target, its metrics, the bounds, the replicas."""
    spec, status = _spec(obj), _status(obj)
    ref = spec.get("scaleTargetRef") or {}
    return [
        _meta(obj).get("name", ""),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _hpa_targets(spec, status),
        str(spec.get("minReplicas") or 1),
        str(spec.get("maxReplicas", "")),
        str(status.get("currentReplicas") or 0),
        age(_meta(obj).get("creationTimestamp"), now),
    ]

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


def service_cells(obj: Obj, now: float) -> list[str]:
    spec = _spec(obj)
    selector = spec.get("selector") or {}
    return [
        _meta(obj).get("name", ""),
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or NONE,
        service_external_ip(spec, _status(obj)),
        service_ports(spec),
        age(_meta(obj).get("creationTimestamp"), now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE,
    ]


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


def endpoints_cells(obj: Obj, now: float) -> list[str]:
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


def node_cells(obj: Obj, now: float) -> list[str]:
    info = _status(obj).get("nodeInfo") or {}
    return [
        _meta(obj).get("name", ""),
        node_status(obj),
        node_roles(obj),
        age(_meta(obj).get("creationTimestamp"), now),
        info.get("kubeletVersion") or "",
        node_address(obj, "InternalIP"),
        node_address(obj, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def namespace_cells(obj: Obj, now: float) -> list[str]:
    return [_meta(obj).get("name", ""), _status(obj).get("phase") or "Active", age(_meta(obj).get("creationTimestamp"), now)]


def configmap_cells(obj: Obj, now: float) -> list[str]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_meta(obj).get("name", ""), str(count), age(_meta(obj).get("creationTimestamp"), now)]


def secret_cells(obj: Obj, now: float) -> list[str]:
    count = len(obj.get("data") or {}) + len(obj.get("stringData") or {})
    return [_meta(obj).get("name", ""), obj.get("type") or "Opaque", str(count), age(_meta(obj).get("creationTimestamp"), now)]


def serviceaccount_cells(obj: Obj, now: float) -> list[str]:
    return [_meta(obj).get("name", ""), str(len(obj.get("secrets") or [])), age(_meta(obj).get("creationTimestamp"), now)]


def lease_cells(obj: Obj, now: float) -> list[str]:
    holder = _spec(obj).get("holderIdentity") or ""
    return [_meta(obj).get("name", ""), holder, age(_meta(obj).get("creationTimestamp"), now)]


def csr_condition(obj: Obj) -> str:
    """kubectl's CONDITION of a CSR: Denied, else Approved, else Pending; then ,Failed and ,Issued."""
    status = obj.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or [] if isinstance(c, dict)}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    if status.get("certificate"):
        text += ",Issued"
    return text


def csr_cells(obj: Obj, now: float) -> list[str]:
    spec = _spec(obj)
    seconds = spec.get("expirationSeconds")
    duration = "<none>" if seconds is None else human_duration(float(seconds))
    return [
        _meta(obj).get("name", ""), age(_meta(obj).get("creationTimestamp"), now),
        spec.get("signerName") or "", spec.get("username") or "", duration, csr_condition(obj),
    ]  # fmt: skip


# --------------------------------------------------------------------------- ingresses


def ingress_hosts(spec: Obj, limit: int = 4) -> str:
    """kubectl's HOSTS: the rules' hosts ('*' for a rule without one), at most four then '+ N more...'."""
    hosts = [rule.get("host") or "*" for rule in spec.get("rules") or []]
    if not hosts:
        return "*"
    text = ",".join(hosts[:limit])
    return f"{text} + {len(hosts) - limit} more..." if len(hosts) > limit else text


def ingress_cells(obj: Obj, now: float) -> list[str]:
    """kubectl's Ingress row: class, hosts, the load balancer's addresses, 80 (and 443 with TLS)."""
    spec = _spec(obj)
    points = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(p.get("ip") or p.get("hostname") or "" for p in points)
    return [
        _meta(obj).get("name", ""),
        spec.get("ingressClassName") or NONE,
        ingress_hosts(spec),
        address,
        "80, 443" if spec.get("tls") else "80",
        age(_meta(obj).get("creationTimestamp"), now),
    ]


def ingressclass_cells(obj: Obj, now: float) -> list[str]:
    spec = _spec(obj)
    params = spec.get("parameters")
    text = NONE
    if params:
        kind = f"{params.get('kind', '')}.{params['apiGroup']}" if params.get("apiGroup") else params.get("kind", "")
        text = f"{kind}/{params.get('name', '')}"
    return [_meta(obj).get("name", ""), spec.get("controller", ""), text, age(_meta(obj).get("creationTimestamp"), now)]


def created_at_cells(obj: Obj, now: float) -> list[str]:
    return [_meta(obj).get("name", ""), _meta(obj).get("creationTimestamp") or ""]


def binding_cells(obj: Obj, now: float) -> list[str]:
    ref = obj.get("roleRef") or {}
    subjects = obj.get("subjects") or []

    def names(kind: str) -> str:
        if kind == "ServiceAccount":
            return ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects if s.get("kind") == kind)
        return ", ".join(str(s.get("name", "")) for s in subjects if s.get("kind") == kind)

    return [
        _meta(obj).get("name", ""),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(_meta(obj).get("creationTimestamp"), now),
        names("User"),
        names("Group"),
        names("ServiceAccount"),
    ]


# --------------------------------------------------------------------------- events


def event_last_seen(event: Obj) -> str | None:
    return (
        event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        or _meta(event).get("creationTimestamp")
    )  # fmt: skip


def event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def event_cells(obj: Obj, now: float) -> list[str]:
    source = obj.get("source") or {}
    return [
        age(event_last_seen(obj), now),
        obj.get("type") or "Normal",
        obj.get("reason") or "",
        event_object(obj),
        (obj.get("involvedObject") or {}).get("fieldPath") or "",
        ", ".join(x for x in (source.get("component"), source.get("host")) if x),
        (obj.get("message") or "").strip().replace("\n", " "),
        event_first_seen(obj, now),
        str(obj.get("count") or 1),
        _meta(obj).get("name", ""),
    ]


def event_first_seen(event: Obj, now: float) -> str:
    return age(event.get("firstTimestamp") or event_last_seen(event), now)


def generic_cells(obj: Obj, now: float) -> list[str]:
    return [_meta(obj).get("name", ""), age(_meta(obj).get("creationTimestamp"), now)]


# --------------------------------------------------------------------------- columns


# --------------------------------------------------------------------------- storage and StatefulSets

_ACCESS_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
_UNSET = "<unset>"


def access_modes_text(modes: list[str] | None) -> str:
    """kubectl's ACCESS MODES: RWO,ROX,RWX,RWOP in that order, each once."""
    wanted = set(modes or [])
    return ",".join(short for mode, short in _ACCESS_SHORT.items() if mode in wanted)


def persistentvolume_cells(obj: Obj, now: float) -> list[str]:
    meta, spec, status = _meta(obj), _spec(obj), _status(obj)
    ref = spec.get("claimRef") or {}
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase") or ""
    return [
        meta.get("name", ""),
        str((spec.get("capacity") or {}).get("storage", "")),
        access_modes_text(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy") or "",
        phase,
        claim,
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or _UNSET,
        status.get("reason") or "",
        age(meta.get("creationTimestamp"), now),
        spec.get("volumeMode") or "",
    ]


def persistentvolumeclaim_cells(obj: Obj, now: float) -> list[str]:
    meta, spec, status = _meta(obj), _spec(obj), _status(obj)
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase") or ""
    bound = bool(spec.get("volumeName"))
    return [
        meta.get("name", ""),
        phase,
        spec.get("volumeName") or "",
        str((status.get("capacity") or {}).get("storage", "")) if bound else "",
        access_modes_text(status.get("accessModes")) if bound else "",
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or _UNSET,
        age(meta.get("creationTimestamp"), now),
        spec.get("volumeMode") or "",
    ]


def storageclass_cells(obj: Obj, now: float) -> list[str]:
    meta = _meta(obj)
    name = meta.get("name", "")
    if (meta.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [
        name,
        obj.get("provisioner") or "",
        obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate",
        "true" if obj.get("allowVolumeExpansion") else "false",
        age(meta.get("creationTimestamp"), now),
    ]


def statefulset_cells(obj: Obj, now: float) -> list[str]:
    spec, status = _spec(obj), _status(obj)
    return [
        _meta(obj).get("name", ""),
        f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
        age(_meta(obj).get("creationTimestamp"), now),
        *_containers_and_images(spec.get("template") or {}),
    ]


def controllerrevision_cells(obj: Obj, now: float) -> list[str]:
    meta = _meta(obj)
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    controller = NONE
    if owner:
        group = (owner.get("apiVersion") or "").partition("/")[0] if "/" in (owner.get("apiVersion") or "") else ""
        controller = f"{owner.get('kind', '').lower()}{'.' + group if group else ''}/{owner.get('name', '')}"
    return [meta.get("name", ""), controller, str(obj.get("revision", 0)), age(meta.get("creationTimestamp"), now)]


@dataclass(frozen=True)
class Column:
    """One of Kubernetes' TableColumnDefinitions; kubectl prints the name upper-cased."""

    name: str
    description: str
    priority: int = 0  # 1: shown only with -o wide
    format: str = ""  # "name" marks the object's name

    @property
    def header(self) -> str:
        return self.name.upper()

    def definition(self) -> Obj:
        return {"name": self.name, "type": "string", "format": self.format, "description": self.description, "priority": self.priority}


CellsFn = Callable[[Obj, float], list[str]]


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[Column, ...]
    cells: CellsFn  # every column's cell, wide ones included, in column order
    # Events lead with LAST SEEN, not the name: the name is not what a reader looks for.
    has_name: bool = True

    def shown(self, wide: bool) -> list[int]:
        return [i for i, column in enumerate(self.columns) if wide or column.priority == 0]


NAME = Column("Name", "Name must be unique within a namespace.", format="name")
AGE = Column("Age", "How long ago the object was created.")
CONTAINERS = Column("Containers", "Names of each container in the template.", 1)
IMAGES = Column("Images", "Images referenced by each container in the template.", 1)
SELECTOR = Column("Selector", "Label selector for pods.", 1)
_CREATED_AT = Column("Created At", "When the role was created.")
_BINDING_COLUMNS = (
    NAME,
    Column("Role", "The role the binding grants."),
    AGE,
    Column("Users", "The users bound.", 1),
    Column("Groups", "The groups bound.", 1),
    Column("ServiceAccounts", "The service accounts bound.", 1),
)

TABLES: dict[str, TableSpec] = {
    "Pod": TableSpec(
        (
            NAME,
            Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            Column("Status", "The aggregate status of the containers in this pod."),
            Column("Restarts", "How often the pod's containers restarted, and when last."),
            AGE,
            Column("IP", "The IP address allocated to the pod.", 1),
            Column("Node", "The node the pod is bound to.", 1),
            Column("Nominated Node", "The node the scheduler nominated for this pod after preemption.", 1),
            Column("Readiness Gates", "How many of the pod's readiness gates are met.", 1),
        ),
        pod_cells,
    ),
    "Deployment": TableSpec(
        (
            NAME,
            Column("Ready", "Ready pods of the desired number."),
            Column("Up-to-date", "Pods of the current template."),
            Column("Available", "Pods ready for at least minReadySeconds."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        deployment_cells,
    ),
    "ReplicaSet": TableSpec(
        (
            NAME,
            Column("Desired", "The number of pods asked for."),
            Column("Current", "The number of pods that exist."),
            Column("Ready", "The number of ready pods."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        replicaset_cells,
    ),
    "ReplicationController": TableSpec(
        (
            NAME,
            Column("Desired", "The number of pods asked for."),
            Column("Current", "The number of pods that exist."),
            Column("Ready", "The number of ready pods."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        replicationcontroller_cells,
    ),
    "DaemonSet": TableSpec(
        (
            NAME,
            Column("Desired", "The number of nodes that should be running the daemon pod."),
            Column("Current", "The number of nodes running at least one daemon pod that should."),
            Column("Ready", "The number of nodes whose daemon pod is ready."),
            Column("Up-to-date", "The number of nodes running the current template's pod."),
            Column("Available", "The number of nodes whose daemon pod is ready for at least minReadySeconds."),
            Column("Node Selector", "The pod template's nodeSelector."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        daemonset_cells,
    ),
    "StatefulSet": TableSpec((NAME, Column("Ready", "Number of the pod with ready state."), AGE, CONTAINERS, IMAGES), statefulset_cells),
    "ControllerRevision": TableSpec(
        (NAME, Column("Controller", "The controller that owns the revision."), Column("Revision", "The revision number."), AGE),
        controllerrevision_cells,
    ),
    "PersistentVolume": TableSpec(
        (
            NAME,
            Column("Capacity", "The storage capacity of the volume."),
            Column("Access Modes", "How the volume may be mounted."),
            Column("Reclaim Policy", "What happens to the volume when its claim is released."),
            Column("Status", "The phase of the volume."),
            Column("Claim", "The claim bound to the volume."),
            Column("StorageClass", "The class of the volume."),
            Column("VolumeAttributesClass", "The volume attributes class of the volume."),
            Column("Reason", "Why the volume is in its phase."),
            AGE,
            Column("VolumeMode", "Filesystem or Block.", 1),
        ),
        persistentvolume_cells,
    ),
    "PersistentVolumeClaim": TableSpec(
        (
            NAME,
            Column("Status", "The phase of the claim."),
            Column("Volume", "The volume bound to the claim."),
            Column("Capacity", "The storage capacity of the bound volume."),
            Column("Access Modes", "How the bound volume may be mounted."),
            Column("StorageClass", "The class of the claim."),
            Column("VolumeAttributesClass", "The volume attributes class of the claim."),
            AGE,
            Column("VolumeMode", "Filesystem or Block.", 1),
        ),
        persistentvolumeclaim_cells,
    ),
    "StorageClass": TableSpec(
        (
            NAME,
            Column("Provisioner", "The provisioner of the class's volumes."),
            Column("ReclaimPolicy", "What happens to a released volume of the class."),
            Column("VolumeBindingMode", "When the class's claims are bound."),
            Column("AllowVolumeExpansion", "Whether the class's volumes may grow."),
            AGE,
        ),
        storageclass_cells,
    ),
    "Job": TableSpec(
        (
            NAME,
            Column("Completions", "The desired number of successfully finished pods the job should be run with."),
            Column("Duration", "Time required to complete the job."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        job_cells,
    ),
    "CronJob": TableSpec(
        (
            NAME,
            Column("Schedule", "The schedule in Cron format."),
            Column("Timezone", "The time zone the schedule is read in."),
            Column("Suspend", "Whether later runs are suspended."),
            Column("Active", "The number of running Jobs."),
            Column("Last Schedule", "When a Job was last scheduled."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        cronjob_cells,
    ),
    "HorizontalPodAutoscaler": TableSpec(
        (
            NAME,
            Column("Reference", "The workload scaled."),
            Column("Targets", "The current and target values of the metrics."),
            Column("MinPods", "The lower bound of the replicas."),
            Column("MaxPods", "The upper bound of the replicas."),
            Column("Replicas", "The current replicas."),
            AGE,
        ),
        hpa_cells,
    ),
    "Service": TableSpec(
        (
            NAME,
            Column("Type", "How the service is exposed."),
            Column("Cluster-IP", "The virtual IP of the service inside the cluster."),
            Column("External-IP", "External addresses of the service."),
            Column("Port(s)", "The service's ports, with node ports."),
            AGE,
            Column("Selector", "Traffic goes to pods whose labels match this selector.", 1),
        ),
        service_cells,
    ),
    "Endpoints": TableSpec((NAME, Column("Endpoints", "The ready addresses and ports."), AGE), endpoints_cells),
    "Node": TableSpec(
        (
            NAME,
            Column("Status", "Whether the node is ready, and whether it takes new pods."),
            Column("Roles", "The node's roles, from its node-role labels."),
            AGE,
            Column("Version", "The node agent's version."),
            Column("Internal-IP", "The node's internal address.", 1),
            Column("External-IP", "The node's external address.", 1),
            Column("OS-Image", "The node's operating system.", 1),
            Column("Kernel-Version", "The node's kernel.", 1),
            Column("Container-Runtime", "The node's container runtime.", 1),
        ),
        node_cells,
    ),
    "Namespace": TableSpec((NAME, Column("Status", "The phase of the namespace."), AGE), namespace_cells),
    "ConfigMap": TableSpec((NAME, Column("Data", "The number of keys."), AGE), configmap_cells),
    "Secret": TableSpec((NAME, Column("Type", "The secret's type."), Column("Data", "The number of keys."), AGE), secret_cells),
    "ServiceAccount": TableSpec((NAME, Column("Secrets", "The number of secrets."), AGE), serviceaccount_cells),
    "Event": TableSpec(
        (
            Column("Last Seen", "When the event last happened."),
            Column("Type", "Normal or Warning."),
            Column("Reason", "Why the event happened, in one word."),
            Column("Object", "The object the event is about."),
            Column("Subobject", "The part of the object (a container) the event is about.", 1),
            Column("Source", "The component (and host) that reported the event.", 1),
            Column("Message", "What happened, for people."),
            Column("First Seen", "When the event first happened.", 1),
            Column("Count", "How often it happened.", 1),
            Column("Name", "Name must be unique within a namespace.", 1, format="name"),
        ),
        event_cells,
        has_name=False,
    ),
    "Lease": TableSpec((NAME, Column("Holder", "The identity holding the lease."), AGE), lease_cells),
    "CertificateSigningRequest": TableSpec(
        (
            NAME,
            AGE,
            Column("SignerName", "The signer the request asks for."),
            Column("Requestor", "Who created the request."),
            Column("RequestedDuration", "The lifetime the request asks for."),
            Column("Condition", "Approved or Denied, Failed, Issued; Pending before a decision."),
        ),
        csr_cells,
    ),
    "Ingress": TableSpec(
        (
            NAME,
            Column("Class", "The IngressClass of the Ingress."),
            Column("Hosts", "The hosts of its rules."),
            Column("Address", "The addresses it is served on."),
            Column("Ports", "The ports it is served on."),
            AGE,
        ),
        ingress_cells,
    ),
    "IngressClass": TableSpec(
        (
            NAME,
            Column("Controller", "The controller that serves the class."),
            Column("Parameters", "The object holding the class's parameters."),
            AGE,
        ),
        ingressclass_cells,
    ),
    "Role": TableSpec((NAME, _CREATED_AT), created_at_cells),
    "ClusterRole": TableSpec((NAME, _CREATED_AT), created_at_cells),
    "RoleBinding": TableSpec(_BINDING_COLUMNS, binding_cells),
    "ClusterRoleBinding": TableSpec(_BINDING_COLUMNS, binding_cells),
}
GENERIC = TableSpec((NAME, AGE), generic_cells)


def table_spec(kind: str) -> TableSpec:
    return TABLES.get(kind, GENERIC)


def headers_for(kind: str, *, wide: bool, with_namespace: bool) -> list[str]:
    spec = table_spec(kind)
    return (["NAMESPACE"] if with_namespace else []) + [spec.columns[i].header for i in spec.shown(wide)]


def row_for(kind: str, obj: Obj, now: float, *, wide: bool) -> list[str]:
    spec = table_spec(kind)
    cells = spec.cells(obj, now)
    return [cells[i] for i in spec.shown(wide)]


def rows_for(
    kind: str, objects: Sequence[Obj], now: float, *, wide: bool, with_namespace: bool, name_prefix: str = ""
) -> list[list[str]]:
    spec = table_spec(kind)
    rows = []
    for obj in objects:
        row = row_for(kind, obj, now, wide=wide)
        if name_prefix and spec.has_name:
            row[0] = name_prefix + row[0]
        rows.append(([_meta(obj).get("namespace") or ""] if with_namespace else []) + row)
    return rows


def sort_for_table(kind: str, objects: list[Obj]) -> list[Obj]:
    """Events by time seen (oldest first, as a log); everything else by namespace, name."""
    if kind == "Event":
        return sorted(objects, key=lambda e: parse_time(event_last_seen(e)) or 0.0)
    return sorted(objects, key=lambda o: (_meta(o).get("namespace") or "", _meta(o).get("name") or ""))


# --------------------------------------------------------------------------- meta.k8s.io Table

IncludeObject = Literal["None", "Metadata", "Object"]
INCLUDE_OBJECT: tuple[IncludeObject, ...] = ("None", "Metadata", "Object")
# A finished pod's row says so, as Kubernetes' printer marks it (kubectl may hide completed rows).
_FINISHED = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}


def as_table(
    kind: str,
    objects: Sequence[Obj],
    now: float,
    *,
    resource_version: str,
    include_object: IncludeObject = "Metadata",
    version: str = "v1",
) -> Obj:
    """Kubernetes' ``meta.k8s.io/{version}`` Table of `objects`: every column, wide ones at priority 1.

    Each row carries its object as asked: the whole object, only its metadata (a
    PartialObjectMetadata, what kubectl needs for NAMESPACE and --show-labels), or nothing.
    """
    spec = table_spec(kind)
    api_version = f"meta.k8s.io/{version}"
    rows = []
    for obj in objects:
        row: Obj = {"cells": spec.cells(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": _meta(obj)}
        phase = _status(obj).get("phase")
        if kind == "Pod" and phase in _FINISHED:
            row["conditions"] = [{"type": "Completed", "status": "True", "reason": phase, "message": _FINISHED[phase]}]
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [column.definition() for column in spec.columns],
        "rows": rows,
    }

"""A pod's `status`, computed from what the runtime shows and what the sync loop remembers.

Pure: no runtime or API calls, so it is unit-tested with plain values. The shapes are
Kubernetes' own: `phase` by the kubelet's rules (init containers pending → Pending; a
crash-looping container of a restartPolicy Always pod keeps the pod Running; all exited
with Never → Succeeded only if every one exited 0), conditions PodScheduled, Initialized,
ContainersReady and Ready keeping their `lastTransitionTime` until their status flips,
and per container `state`, `lastState`, `ready`, `started`, `restartCount`, `image`,
`imageID` and `containerID`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.probes import ProbeState
from agent.runtime import ContainerInfo, ContainerState, SandboxInfo
from kajitori.api.core import Container, Pod, PodCondition
from kajitori.api.quantity import cpu_millicores, memory_bytes

CONTAINER_ID_SCHEME = "docker"


@dataclass(frozen=True)
class ContainerView:
    """One container of the pod spec and what is known of it."""

    spec: Container
    instances: Sequence[ContainerInfo]
    """Its containers in the pod's current sandbox, oldest attempt first."""
    waiting: tuple[str, str] | None = None
    """(reason, message) the sync loop set: why it is not running now (CrashLoopBackOff, ErrImagePull...)."""
    probe: ProbeState | None = None


def rfc3339(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None


def container_id(info: ContainerInfo, scheme: str = CONTAINER_ID_SCHEME) -> str:
    return f"{scheme}://{info.id}"


def _terminated(info: ContainerInfo, scheme: str) -> dict[str, Any]:
    if info.state == ContainerState.CREATED:
        # Created but never started: the runtime refused to run its process.
        out: dict[str, Any] = {"exitCode": 128, "reason": "ContainerCannotRun"}
        if info.message:
            out["message"] = info.message
    else:
        out = {"exitCode": info.exit_code if info.exit_code is not None else 0}
        out["reason"] = str(info.reason) if info.reason else ("Completed" if out["exitCode"] == 0 else "Error")
        if info.message:
            out["message"] = info.message
    if info.started_at is not None:
        out["startedAt"] = rfc3339(info.started_at)
    if info.finished_at is not None:
        out["finishedAt"] = rfc3339(info.finished_at)
    out["containerID"] = container_id(info, scheme)
    return out


def container_status(view: ContainerView, *, is_init: bool, scheme: str = CONTAINER_ID_SCHEME) -> dict[str, Any]:
    spec = view.spec
    latest = view.instances[-1] if view.instances else None
    previous = view.instances[-2] if len(view.instances) > 1 else None
    status: dict[str, Any] = {
        "name": spec.name,
        "state": {},
        "lastState": {},
        "ready": False,
        "restartCount": latest.restart_count if latest else 0,
        "image": spec.image,
        "imageID": latest.image_id if latest else "",
    }
    if latest is not None:
        status["containerID"] = container_id(latest, scheme)
    if latest is not None and latest.state == ContainerState.RUNNING and view.waiting is None:
        status["state"] = {"running": {"startedAt": rfc3339(latest.started_at)}}
        if previous is not None:
            status["lastState"] = {"terminated": _terminated(previous, scheme)}
        probe = view.probe
        status["started"] = probe.started if probe is not None else True
        status["ready"] = (probe.ready if probe is not None else True) and not is_init
    elif view.waiting is not None:
        reason, message = view.waiting
        status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        if latest is not None and latest.state != ContainerState.RUNNING:
            status["lastState"] = {"terminated": _terminated(latest, scheme)}
        status["started"] = False
    elif latest is not None:
        status["state"] = {"terminated": _terminated(latest, scheme)}
        if previous is not None:
            status["lastState"] = {"terminated": _terminated(previous, scheme)}
        status["started"] = False
    else:
        status["state"] = {"waiting": {"reason": "PodInitializing" if is_init else "ContainerCreating"}}
        status["started"] = False
    return status


def _is_succeeded(view: ContainerView) -> bool:
    latest = view.instances[-1] if view.instances else None
    return latest is not None and latest.state == ContainerState.EXITED and latest.exit_code == 0 and view.waiting is None


def _is_failed_for_good(view: ContainerView, restart_policy: str) -> bool:
    latest = view.instances[-1] if view.instances else None
    return (
        restart_policy == "Never"
        and latest is not None
        and latest.state in (ContainerState.EXITED, ContainerState.CREATED)
        and latest.exit_code != 0
    )


def pod_phase(pod: Pod, init_views: Sequence[ContainerView], app_views: Sequence[ContainerView]) -> str:
    policy = pod.spec.restartPolicy
    for view in init_views:
        if _is_succeeded(view):
            continue
        return "Failed" if _is_failed_for_good(view, policy) else "Pending"
    waiting = running = stopped = succeeded = 0
    for view in app_views:
        latest = view.instances[-1] if view.instances else None
        if view.waiting is not None or latest is None:
            # A container waiting to be restarted counts as stopped (the kubelet's rule), so a
            # crash-looping pod stays Running; one that never ran keeps the pod Pending.
            if latest is not None and latest.state != ContainerState.RUNNING:
                stopped += 1
                succeeded += 1 if latest.exit_code == 0 and latest.state == ContainerState.EXITED else 0
            else:
                waiting += 1
        elif latest.state == ContainerState.RUNNING:
            running += 1
        elif latest.state in (ContainerState.EXITED, ContainerState.CREATED):
            stopped += 1
            succeeded += 1 if latest.exit_code == 0 and latest.state == ContainerState.EXITED else 0
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def qos_class(pod: Pod) -> str:
    containers = [*(pod.spec.initContainers or []), *pod.spec.containers]
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.resources
        limits = (resources.limits if resources else None) or {}
        requests = (resources.requests if resources else None) or {}
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            limit = limits.get(name)
            request = requests.get(name, limit)
            if limit is None or request is None:
                guaranteed = False
                continue
            convert = cpu_millicores if name == "cpu" else memory_bytes
            if convert(limit) != convert(request):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _condition(
    previous: dict[str, PodCondition], type_: str, ok: bool, now: str, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    status = "True" if ok else "False"
    before = previous.get(type_)
    transition = before.lastTransitionTime if before is not None and before.status == status else now
    out: dict[str, Any] = {"type": type_, "status": status, "lastTransitionTime": transition}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def pod_status(
    pod: Pod,
    *,
    sandbox: SandboxInfo | None,
    init_views: Sequence[ContainerView],
    app_views: Sequence[ContainerView],
    host_ip: str,
    now: str,
    scheme: str = CONTAINER_ID_SCHEME,
) -> dict[str, Any]:
    """The full `status` the pod should have, as wire JSON (None marks a field to clear)."""
    old = pod.status
    previous = {condition.type: condition for condition in old.conditions or []}
    phase = pod_phase(pod, init_views, app_views)
    init_statuses = [container_status(view, is_init=True, scheme=scheme) for view in init_views]
    app_statuses = [container_status(view, is_init=False, scheme=scheme) for view in app_views]

    pending_init = [view.spec.name for view in init_views if not _is_succeeded(view)]
    unready = [status["name"] for status in app_statuses if not status["ready"]]
    conditions: list[dict[str, Any]] = []
    if phase == "Succeeded" or phase == "Failed":
        ready_reason: str | None = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        ready_message: str | None = None
        ready = False
    else:
        ready = not unready and not pending_init
        ready_reason = None if ready else ("ContainersNotInitialized" if pending_init else "ContainersNotReady")
        ready_message = None
        if pending_init:
            ready_message = f"containers with incomplete status: [{' '.join(pending_init)}]"
        elif unready:
            ready_message = f"containers with unready status: [{' '.join(unready)}]"
    initialized_message = f"containers with incomplete status: [{' '.join(pending_init)}]" if pending_init else None
    conditions.append(
        _condition(previous, "Initialized", not pending_init, now,
                   "ContainersNotInitialized" if pending_init else None, initialized_message)
    )  # fmt: skip
    conditions.append(_condition(previous, "Ready", ready, now, ready_reason, ready_message))
    conditions.append(_condition(previous, "ContainersReady", ready, now, ready_reason, ready_message))
    scheduled = previous.get("PodScheduled")
    conditions.append(
        scheduled.to_dict() if scheduled is not None else _condition(previous, "PodScheduled", True, now)
    )
    owned = {"Initialized", "Ready", "ContainersReady", "PodScheduled"}
    # Conditions written by others (readiness gates, disruption) are kept as they are.
    conditions.extend(c.to_dict() for c in old.conditions or [] if c.type not in owned)

    pod_ip = sandbox.ip if sandbox is not None and sandbox.ip else (old.podIP or None)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions,
        "message": None,
        "reason": None,
        "hostIP": host_ip,
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}] if pod_ip else None,
        "startTime": old.startTime or now,
        "initContainerStatuses": init_statuses or None,
        "containerStatuses": app_statuses,
        "qosClass": qos_class(pod),
    }
    return status


def same_status(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the stored status already says what `wanted` says (None in `wanted` means absent)."""
    for key, value in wanted.items():
        if value is None:
            if current.get(key) is not None:
                return False
        elif current.get(key) != value:
            return False
    return True

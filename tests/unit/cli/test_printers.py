"""kubectl's table cells: AGE, a pod's READY/STATUS/RESTARTS, nodes, services, endpoints, layout."""

from __future__ import annotations

from typing import Any

import pytest

from cli import printers
from kajitori.clock import format_time

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(-5, "<invalid>", id="future"),
        pytest.param(-0.5, "0s", id="clock-skew"),
        pytest.param(0, "0s", id="zero"),
        pytest.param(5, "5s", id="seconds"),
        pytest.param(119, "119s", id="under-two-minutes"),
        pytest.param(120, "2m", id="two-minutes"),
        pytest.param(185, "3m5s", id="minutes-seconds"),
        pytest.param(600, "10m", id="ten-minutes"),
        pytest.param(179 * 60, "179m", id="under-three-hours"),
        pytest.param(3 * 3600, "3h", id="three-hours"),
        pytest.param(3 * 3600 + 5 * 60, "3h5m", id="hours-minutes"),
        pytest.param(30 * 3600, "30h", id="under-two-days"),
        pytest.param(52 * 3600, "2d4h", id="days-hours"),
        pytest.param(4 * 86400, "4d", id="days"),
        pytest.param(400 * 86400, "400d", id="under-two-years"),
        pytest.param((3 * 365 + 20) * 86400, "3y20d", id="years-days"),
        pytest.param(10 * 365 * 86400, "10y", id="years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert printers.human_duration(seconds) == text


def test_age_of_missing_timestamp() -> None:
    assert printers.age(None, NOW) == "<unknown>"
    assert printers.age(format_time(NOW - 90), NOW) == "90s"


def pod(
    *,
    phase: str = "Pending",
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_specs: int = 0,
    deleting: bool = False,
    reason: str | None = None,
    ready_condition: str | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses or []}
    if init is not None:
        status["initContainerStatuses"] = init
    if reason:
        status["reason"] = reason
    if ready_condition:
        status["conditions"] = [{"type": "Ready", "status": ready_condition}]
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "x"} for i in range(containers)]}
    if init_specs:
        spec["initContainers"] = [{"name": f"i{i}", "image": "x"} for i in range(init_specs)]
    meta: dict[str, Any] = {"name": "p", "creationTimestamp": format_time(NOW - 60)}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW)
    return {"metadata": meta, "spec": spec, "status": status}


RUNNING = {"name": "c0", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": format_time(NOW - 50)}}}


def waiting(reason: str, restarts: int = 0, finished: float | None = None) -> dict[str, Any]:
    last = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": format_time(finished)}} if finished else {}
    return {"name": "c0", "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}, "lastState": last}


def terminated(exit_code: int, reason: str | None = None, signal: int | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": "c0", "ready": False, "restartCount": 0, "state": {"terminated": term}}


@pytest.mark.parametrize(
    ("obj", "ready", "status", "restarts"),
    [
        pytest.param(pod(), "0/1", "Pending", "0", id="pending-no-status"),
        pytest.param(pod(phase="Running", statuses=[RUNNING]), "1/1", "Running", "0", id="running"),
        pytest.param(
            pod(phase="Running", containers=2, statuses=[RUNNING, {**RUNNING, "name": "c1", "ready": False}]),
            "1/2", "Running", "0", id="one-of-two-ready",
        ),
        pytest.param(
            pod(phase="Running", statuses=[waiting("CrashLoopBackOff", restarts=4, finished=NOW - 42)]),
            "0/1", "CrashLoopBackOff", "4 (42s ago)", id="crashloop-with-last-restart",
        ),
        pytest.param(pod(statuses=[waiting("ImagePullBackOff")]), "0/1", "ImagePullBackOff", "0", id="image-pull"),
        pytest.param(pod(statuses=[waiting("ErrImagePull")]), "0/1", "ErrImagePull", "0", id="err-image-pull"),
        pytest.param(pod(phase="Succeeded", statuses=[terminated(0, "Completed")]), "0/1", "Completed", "0", id="completed"),
        pytest.param(pod(phase="Failed", statuses=[terminated(1, "Error")]), "0/1", "Error", "0", id="error"),
        pytest.param(pod(phase="Failed", statuses=[terminated(137, "OOMKilled")]), "0/1", "OOMKilled", "0", id="oom"),
        pytest.param(pod(phase="Failed", statuses=[terminated(3)]), "0/1", "ExitCode:3", "0", id="exit-code"),
        pytest.param(pod(phase="Failed", statuses=[terminated(137, signal=9)]), "0/1", "Signal:9", "0", id="signal"),
        pytest.param(pod(phase="Running", statuses=[RUNNING], deleting=True), "1/1", "Terminating", "0", id="terminating"),
        pytest.param(pod(phase="Running", reason="NodeLost", statuses=[RUNNING], deleting=True), "1/1", "Unknown", "0", id="node-lost"),
        pytest.param(pod(phase="Failed", reason="Evicted"), "0/1", "Evicted", "0", id="evicted"),
        pytest.param(
            pod(init_specs=2, init=[{"name": "i0", "restartCount": 0, "state": {"running": {}}}]),
            "0/1", "Init:0/2", "0", id="init-running",
        ),
        pytest.param(
            pod(init_specs=1, init=[{"name": "i0", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
            "0/1", "Init:CrashLoopBackOff", "2", id="init-crashloop",
        ),
        pytest.param(
            pod(init_specs=1, init=[{"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]),
            "0/1", "Init:ExitCode:2", "0", id="init-failed",
        ),
        pytest.param(
            pod(phase="Running", init_specs=1, statuses=[RUNNING],
                init=[{"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]),
            "1/1", "Running", "0", id="init-done",
        ),
    ],
)  # fmt: skip
def test_pod_summary(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    summary = printers.pod_summary(obj, NOW)
    assert (summary.ready, summary.status, summary.restarts) == (ready, status, restarts)


def test_pod_row_wide_adds_ip_and_node() -> None:
    obj = pod(phase="Running", statuses=[RUNNING])
    obj["spec"]["nodeName"] = "node1"
    obj["status"]["podIP"] = "10.244.1.5"
    assert printers.row_for("Pod", obj, NOW, wide=True) == ["p", "1/1", "Running", "0", "60s", "10.244.1.5", "node1", "<none>", "<none>"]
    assert printers.row_for("Pod", pod(), NOW, wide=True)[5:7] == ["<none>", "<none>"]


def node(ready: str | None, *, unschedulable: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": ready}] if ready else []
    return {
        "metadata": {"name": "n", "labels": labels or {}},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {"conditions": conditions},
    }


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        pytest.param(node("True"), "Ready", id="ready"),
        pytest.param(node("False"), "NotReady", id="not-ready"),
        pytest.param(node("Unknown"), "NotReady", id="unknown-condition"),
        pytest.param(node(None), "Unknown", id="no-condition"),
        pytest.param(node("True", unschedulable=True), "Ready,SchedulingDisabled", id="cordoned"),
        pytest.param(node("False", unschedulable=True), "NotReady,SchedulingDisabled", id="cordoned-not-ready"),
    ],
)
def test_node_status(obj: dict[str, Any], status: str) -> None:
    assert printers.node_status(obj) == status


@pytest.mark.parametrize(
    ("labels", "roles"),
    [
        pytest.param({}, "<none>", id="none"),
        pytest.param({"node-role.kubernetes.io/control-plane": ""}, "control-plane", id="one"),
        pytest.param({"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "master"}, "master,worker", id="two"),
    ],
)
def test_node_roles(labels: dict[str, str], roles: str) -> None:
    assert printers.node_roles(node("True", labels=labels)) == roles


@pytest.mark.parametrize(
    ("spec", "ports", "external"),
    [
        pytest.param({"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}, "80/TCP", "<none>", id="cluster-ip"),
        pytest.param(
            {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]},
            "80:30080/TCP,53:30053/UDP", "<none>", id="node-ports",
        ),
        pytest.param({"type": "LoadBalancer", "ports": [{"port": 80}]}, "80/TCP", "<pending>", id="lb-pending"),
        pytest.param({"type": "ClusterIP", "externalIPs": ["192.168.56.10"]}, "<none>", "192.168.56.10", id="external-ips"),
    ],
)  # fmt: skip
def test_service_ports_and_external_ip(spec: dict[str, Any], ports: str, external: str) -> None:
    assert printers.service_ports(spec) == ports
    assert printers.service_external_ip(spec, {}) == external


@pytest.mark.parametrize(
    ("subsets", "text"),
    [
        pytest.param([], "<none>", id="empty"),
        pytest.param([{"addresses": [{"ip": "10.244.1.2"}], "ports": [{"port": 80}]}], "10.244.1.2:80", id="one"),
        pytest.param(
            [{"addresses": [{"ip": f"10.244.1.{i}"} for i in range(5)], "notReadyAddresses": [{"ip": "10.9.9.9"}],
              "ports": [{"port": 80}]}],
            "10.244.1.0:80,10.244.1.1:80,10.244.1.2:80 + 2 more...", id="more",
        ),
    ],
)  # fmt: skip
def test_endpoints_text(subsets: list[dict[str, Any]], text: str) -> None:
    assert printers.endpoints_text({"subsets": subsets}) == text


def test_deployment_row() -> None:
    obj = {
        "metadata": {"name": "web", "creationTimestamp": format_time(NOW - 7200)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.22"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }  # fmt: skip
    assert printers.row_for("Deployment", obj, NOW, wide=False) == ["web", "2/3", "3", "2", "120m"]
    assert printers.row_for("Deployment", obj, NOW, wide=True)[5:] == ["nginx", "nginx:1.22", "app=web"]


def test_event_row_names_the_object() -> None:
    event = {
        "metadata": {"name": "e"}, "type": "Warning", "reason": "BackOff", "message": "Back-off\nrestarting",
        "involvedObject": {"kind": "Pod", "name": "web-1"}, "lastTimestamp": format_time(NOW - 30),
    }  # fmt: skip
    assert printers.row_for("Event", event, NOW, wide=False) == ["30s", "Warning", "BackOff", "pod/web-1", "Back-off restarting"]


def test_rows_with_namespace_and_prefix() -> None:
    objs = [{"metadata": {"name": "a", "namespace": "ns1"}, "data": {"k": "v"}}]
    assert printers.headers_for("ConfigMap", wide=False, with_namespace=True) == ["NAMESPACE", "NAME", "DATA", "AGE"]
    rows = printers.rows_for("ConfigMap", objs, NOW, wide=False, with_namespace=True, name_prefix="configmap/")
    assert rows == [["ns1", "configmap/a", "1", "<unknown>"]]


def test_render_table_aligns_with_three_spaces() -> None:
    text = printers.render_table(["NAME", "STATUS"], [["a-long-name", "Running"], ["b", "Pending"]])
    assert text.split("\n") == [
        "NAME          STATUS",
        "a-long-name   Running",
        "b             Pending",
    ]


def test_column_widths_only_grow_for_watch_rows() -> None:
    widths = printers.ColumnWidths()
    printers.render_table(["NAME", "AGE"], [["abc", "1s"]], widths)
    widths.fit([["a-much-longer-name", "2s"]])
    assert widths.line(["x", "3s"]) == "x                    3s"


def test_sort_events_by_time_seen() -> None:
    late = {"metadata": {"name": "a"}, "lastTimestamp": format_time(NOW)}
    early = {"metadata": {"name": "b"}, "lastTimestamp": format_time(NOW - 10)}
    assert printers.sort_for_table("Event", [late, early]) == [early, late]
    assert [o["metadata"]["name"] for o in printers.sort_for_table("Pod", [early, late])] == ["a", "b"]


def test_load_balancer_external_ip_from_its_status() -> None:
    spec = {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31000}]}
    status = {"loadBalancer": {"ingress": [{"ip": "192.168.56.200"}]}}
    assert printers.service_external_ip(spec, status) == "192.168.56.200"
    assert printers.service_ports(spec) == "80:31000/TCP"

"""The `kajitori` CLI against a real master process: apply, get, describe, delete, scale,
create, cluster-info, and the one-line errors.

Commands run in-process through typer's CliRunner (with --kubeconfig), and a few as real
`python -m cli` processes where the exit code, the absence of a traceback or Ctrl-C
are the point. No controllers run in this master, so pods and services are made directly.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.apply_patch import LAST_APPLIED
from kajitori.api import Deployment, Node, Pod, Service
from kajitori.client import ApiClient
from kajitori.events import EventRecorder
from tests.support.master_process import MasterProcess, free_port
from tests.support.processes import PROCESS_TIMEOUT_S, kill_process, popen_interruptible

pytestmark = pytest.mark.integration


def pod_manifest(name: str, ns: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.22"}]},
    }  # fmt: skip


def make_pod(api: ApiClient, name: str, ns: str, *, status: dict[str, Any] | None = None, node: str | None = None,
             **labels: str) -> Pod:  # fmt: skip
    pod = api.create(Pod.model_validate(pod_manifest(name, ns, **labels)))
    if node:
        api.bind(ns, name, node)
    if status:
        pod = api.patch(Pod, name, {"status": status}, ns, subresource="status")
    return pod


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  labels: {app: nginx, tier: front}
spec:
  replicas: 3
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.22
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  annotations: {owner: team-a}
spec:
  type: NodePort
  selector: {app: nginx}
  ports:
  - port: 80
    targetPort: 80
"""


# --------------------------------------------------------------------------- apply


def test_apply_created_then_unchanged_then_configured(kj: Any, api: ApiClient, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "nginx.yaml"
    path.write_text(DEPLOYMENT)
    first = kj("apply", "-f", str(path), "-n", ns)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == ["deployment.apps/nginx created", "service/nginx created"]
    service = api.get(Service, "nginx", ns)
    cluster_ip, node_port = service.spec.clusterIP, service.spec.ports[0].nodePort  # type: ignore[index]
    assert cluster_ip and node_port

    again = kj("apply", "-f", str(path), "-n", ns)
    assert again.stdout.splitlines() == ["deployment.apps/nginx unchanged", "service/nginx unchanged"]

    # Change the replicas, drop a label and the service's annotation, change the targetPort.
    changed = DEPLOYMENT.replace("replicas: 3", "replicas: 2").replace(", tier: front", "")
    changed = changed.replace("  annotations: {owner: team-a}\n", "").replace("targetPort: 80", "targetPort: 8080")
    path.write_text(changed)
    third = kj("apply", "-f", str(path), "-n", ns)
    assert third.stdout.splitlines() == ["deployment.apps/nginx configured", "service/nginx configured"]

    deployment = api.get(Deployment, "nginx", ns)
    assert deployment.spec.replicas == 2
    assert deployment.metadata.labels == {"app": "nginx"}
    service = api.get(Service, "nginx", ns)
    assert "owner" not in (service.metadata.annotations or {})
    assert json.loads((service.metadata.annotations or {})[LAST_APPLIED])["spec"]["ports"][0]["targetPort"] == 8080
    # What the server set survives: the ClusterIP and the allocated NodePort.
    assert service.spec.clusterIP == cluster_ip
    assert service.spec.ports[0].nodePort == node_port  # type: ignore[index]
    assert service.spec.ports[0].targetPort == 8080  # type: ignore[index]
    assert kj("apply", "-f", str(path), "-n", ns).stdout.count("unchanged") == 2


def test_apply_keeps_fields_set_by_others(kj: Any, api: ApiClient, ns: str) -> None:
    manifest = yaml.safe_dump(pod_manifest("p1", ns))
    assert kj("apply", "-f", "-", input=manifest).stdout.strip() == "pod/p1 created"
    api.patch(Pod, "p1", {"metadata": {"labels": {"added-by": "someone"}}}, ns)
    assert kj("apply", "-f", "-", input=manifest).stdout.strip() == "pod/p1 unchanged"
    assert api.get(Pod, "p1", ns).metadata.labels == {"app": "web", "added-by": "someone"}


def test_apply_directory_and_namespace_rules(kj: Any, api: ApiClient, ns: str, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}))
    result = kj("apply", "-f", str(tmp_path), "-n", ns)
    assert result.stdout.splitlines() == ["configmap/a created", "configmap/b created"]
    mismatch = kj("apply", "-f", "-", "-n", "default", input=yaml.safe_dump(pod_manifest("p", ns)))
    assert mismatch.exit_code == 1
    assert f'the namespace from the provided object "{ns}" does not match the namespace "default"' in mismatch.stderr


# --------------------------------------------------------------------------- get


def test_get_pods_table_wide_and_statuses(kj: Any, api: ApiClient, ns: str) -> None:
    make_pod(api, "pending", ns)
    make_pod(api, "crashing", ns, status={
        "phase": "Running", "podIP": "10.244.1.7",
        "containerStatuses": [{"name": "web", "ready": False, "restartCount": 3,
                               "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
    })  # fmt: skip
    make_pod(api, "running", ns, status={
        "phase": "Running", "podIP": "10.244.1.8",
        "containerStatuses": [{"name": "web", "ready": True, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}],
    })  # fmt: skip
    result = kj("get", "pods", "-n", ns)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {line.split()[0]: line.split()[1:4] for line in lines[1:]}
    assert rows == {"crashing": ["0/1", "CrashLoopBackOff", "3"], "pending": ["0/1", "Pending", "0"],
                    "running": ["1/1", "Running", "0"]}  # fmt: skip

    wide = kj("get", "po", "-o", "wide", "-n", ns).stdout.splitlines()
    assert "IP" in wide[0] and "NODE" in wide[0]
    assert "10.244.1.8" in next(line for line in wide if line.startswith("running"))


def test_get_output_formats_and_selectors(kj: Any, api: ApiClient, ns: str) -> None:
    make_pod(api, "a", ns, app="web")
    make_pod(api, "b", ns, app="db")
    one = yaml.safe_load(kj("get", "pod", "a", "-n", ns, "-o", "yaml").stdout)
    assert (one["kind"], one["metadata"]["name"]) == ("Pod", "a")
    assert "managedFields" not in one["metadata"]  # as kubectl: only with --show-managed-fields
    shown = yaml.safe_load(kj("get", "pod", "a", "-n", ns, "-o", "yaml", "--show-managed-fields").stdout)
    assert [e["operation"] for e in shown["metadata"]["managedFields"]] == ["Update"]
    listed = json.loads(kj("get", "pods", "-n", ns, "-o", "json").stdout)
    assert listed["kind"] == "List" and sorted(i["metadata"]["name"] for i in listed["items"]) == ["a", "b"]
    assert kj("get", "pods", "-n", ns, "-o", "name").stdout.split() == ["pod/a", "pod/b"]
    assert kj("get", "pods", "-n", ns, "-l", "app=db", "-o", "name").stdout.split() == ["pod/b"]
    assert kj("get", "pods", "-n", ns, "-l", "app!=db", "-o", "name").stdout.split() == ["pod/a"]
    assert kj("get", "pods", "-n", ns, "--field-selector", "metadata.name=b", "-o", "name").stdout.split() == ["pod/b"]
    assert kj("get", "pod/a", "pod/b", "-n", ns, "-o", "name").stdout.split() == ["pod/a", "pod/b"]
    empty = kj("get", "pods", "-n", ns, "-l", "app=none")
    assert empty.exit_code == 0 and empty.stderr.strip() == f"No resources found in {ns} namespace."


def test_get_all_namespaces_adds_namespace_column(kj: Any, api: ApiClient, ns: str) -> None:
    make_pod(api, "everywhere", ns)
    lines = kj("get", "pods", "-A").stdout.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "everywhere"] for line in lines)


def test_get_services_nodes_and_config(kj: Any, api: ApiClient, ns: str) -> None:
    api.create(Service.model_validate({
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30180}]},
    }))  # fmt: skip
    svc = kj("get", "svc", "-n", ns).stdout.splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc[1].split()[:2] == ["web", "NodePort"] and svc[1].split()[4] == "80:30180/TCP"

    name = f"n-{ns}"
    api.create(Node.model_validate({"metadata": {"name": name}, "spec": {"unschedulable": True}}))
    api.patch(Node, name, {"status": {"conditions": [{"type": "Ready", "status": "False"}],
                                      "nodeInfo": {"kubeletVersion": "v1.28.0-kajitori"}}}, subresource="status")  # fmt: skip
    node_line = next(line for line in kj("get", "nodes").stdout.splitlines() if line.startswith(name))
    assert node_line.split()[1] == "NotReady,SchedulingDisabled"
    assert node_line.split()[-1] == "v1.28.0-kajitori"

    kj("apply", "-f", "-", "-n", ns, input=yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}}))  # fmt: skip
    assert kj("get", "cm", "-n", ns).stdout.splitlines()[1].split()[:2] == ["cfg", "2"]
    multi = kj("get", "svc,cm", "-n", ns).stdout
    assert "service/web" in multi and "configmap/cfg" in multi


# --------------------------------------------------------------------------- describe


def test_describe_pod_with_events(kj: Any, api: ApiClient, ns: str) -> None:
    pod = make_pod(api, "web-1", ns, status={
        "phase": "Running",
        "containerStatuses": [{"name": "web", "ready": False, "restartCount": 2,
                               "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        "conditions": [{"type": "Ready", "status": "False"}],
    })  # fmt: skip
    other = make_pod(api, "web-2", ns)
    recorder = EventRecorder(api, "kubelet", host="node1")
    recorder.warning(pod, "BackOff", "Back-off restarting failed container web")
    recorder.normal(other, "Pulled", "not about web-1")
    recorder.flush()
    result = kj("describe", "pod", "web-1", "-n", ns)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in ("Name:", "web-1", "Containers:", "CrashLoopBackOff", "Restart Count:  2", "Conditions:", "Events:"):
        assert expected in text
    events = text.split("Events:", 1)[1]
    assert "BackOff" in events and "kubelet, node1" in events and "not about web-1" not in events
    assert "Pulled" in kj("describe", "pod", "web-2", "-n", ns).stdout


def test_describe_deployment_service_node_and_generic(kj: Any, api: ApiClient, ns: str) -> None:
    kj("apply", "-f", "-", "-n", ns, input=DEPLOYMENT)
    deployment = kj("describe", "deploy/nginx", "-n", ns).stdout
    assert "Replicas:" in deployment and "3 desired" in deployment and "Pod Template:" in deployment
    service = kj("describe", "svc", "nginx", "-n", ns).stdout
    assert "Type:" in service and "NodePort:" in service and LAST_APPLIED not in service
    assert "Events:  <none>" in service
    kj("apply", "-f", "-", "-n", ns, input=yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"key": "value"}}))  # fmt: skip
    generic = kj("describe", "cm", "cfg", "-n", ns).stdout
    assert "Data:" in generic and "key: value" in generic
    name = f"d-{ns}"
    api.create(Node.model_validate({"metadata": {"name": name}}))
    api.patch(Node, name, {"status": {"capacity": {"cpu": "2"}, "addresses": [{"type": "InternalIP", "address": "192.168.56.11"}]}},
              subresource="status")  # fmt: skip
    make_pod(api, "on-node", ns, node=name)
    node = kj("describe", "node", name).stdout
    assert "192.168.56.11" in node and "Capacity:" in node and "Non-terminated Pods (1 in total)" in node and "on-node" in node


# --------------------------------------------------------------------------- delete, scale, create, cluster-info


def test_delete_by_name_label_all_and_file(kj: Any, api: ApiClient, ns: str, tmp_path: Path) -> None:
    for name, app_label in (("a", "x"), ("b", "y"), ("c", "y"), ("d", "z"), ("e", "z")):
        make_pod(api, name, ns, app=app_label)
    result = kj("delete", "pod", "a", "-n", ns)
    assert (result.exit_code, result.stdout.strip()) == (0, 'pod "a" deleted')
    assert kj("delete", "pods", "-l", "app=y", "-n", ns).stdout.splitlines() == ['pod "b" deleted', 'pod "c" deleted']
    missing = kj("delete", "pod", "nope", "-n", ns)
    assert missing.exit_code == 1 and missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    assert kj("delete", "pod", "nope", "--ignore-not-found", "-n", ns).exit_code == 0
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(pod_manifest("d", ns)))
    assert kj("delete", "-f", str(path)).stdout.strip() == 'pod "d" deleted'
    assert kj("delete", "pods", "--all", "-n", ns).stdout.strip() == 'pod "e" deleted'
    assert api.list(Pod, ns).items == []


def test_delete_bound_pod_with_grace_period_stays_terminating(kj: Any, api: ApiClient, ns: str) -> None:
    name = f"g-{ns}"
    api.create(Node.model_validate({"metadata": {"name": name}}))
    make_pod(api, "bound", ns, node=name)
    result = kj("delete", "pod", "bound", "--grace-period", "5", "--no-wait", "-n", ns)
    assert result.stdout.strip() == 'pod "bound" deleted'
    pod = api.get(Pod, "bound", ns)
    assert pod.metadata.deletionTimestamp and pod.metadata.deletionGracePeriodSeconds == 5
    assert kj("get", "pod", "bound", "-n", ns).stdout.splitlines()[1].split()[2] == "Terminating"
    assert kj("delete", "pod", "bound", "--force", "-n", ns).exit_code == 0
    assert api.list(Pod, ns).items == []


def test_delete_deployment_cascade_orphan(kj: Any, api: ApiClient, ns: str) -> None:
    kj("apply", "-f", "-", "-n", ns, input=DEPLOYMENT)
    result = kj("delete", "deployment", "nginx", "--cascade=orphan", "--no-wait", "-n", ns)
    assert result.stdout.strip() == 'deployment.apps "nginx" deleted'
    # No garbage collector runs here: the orphan finalizer holds the object.
    assert "orphan" in (api.get(Deployment, "nginx", ns).metadata.finalizers or [])
    bad = kj("delete", "deployment", "nginx", "--cascade=sideways", "-n", ns)
    assert bad.exit_code == 1 and "invalid cascade value" in bad.stderr


def test_scale_both_forms(kj: Any, api: ApiClient, ns: str) -> None:
    kj("apply", "-f", "-", "-n", ns, input=DEPLOYMENT)
    assert kj("scale", "deployment/nginx", "--replicas", "5", "-n", ns).stdout.strip() == "deployment.apps/nginx scaled"
    assert api.get(Deployment, "nginx", ns).spec.replicas == 5
    assert kj("scale", "deploy", "nginx", "--replicas=0", "-n", ns).exit_code == 0
    assert api.get(Deployment, "nginx", ns).spec.replicas == 0
    missing = kj("scale", "deploy/none", "--replicas", "1", "-n", ns)
    assert missing.exit_code == 1 and missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "none" not found'
    assert "cannot scale pods" in kj("scale", "pod/x", "--replicas", "1", "-n", ns).stderr


def test_create_namespace_and_from_file(kj: Any, api: ApiClient, ns: str) -> None:
    name = f"c-{ns}"
    assert kj("create", "namespace", name).stdout.strip() == f"namespace/{name} created"
    again = kj("create", "namespace", name)
    assert again.exit_code == 1
    assert again.stderr.strip() == f'Error from server (AlreadyExists): namespaces "{name}" already exists'
    manifest = yaml.safe_dump(pod_manifest("made", ns))
    assert kj("create", "-f", "-", input=manifest).stdout.strip() == "pod/made created"
    assert kj("create", "-f", "-", input=manifest).exit_code == 1


def test_cluster_info(kj: Any, master: MasterProcess) -> None:
    result = kj("cluster-info")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"Kajitori master is running at {master.url}"
    assert lines[1].startswith("Version: v1.")
    assert lines[2].startswith("Nodes: ") and lines[2].endswith(" Ready")


# --------------------------------------------------------------------------- errors, as real processes


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], input=input, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def write_kubeconfig(path: Path, server: str, token: str, ca_pem: bytes | None = None) -> Path:
    from kajitori import config

    return config.write(path, server, token, ca_pem=ca_pem)


def test_errors_are_one_line_without_traceback(master: MasterProcess, ns: str, tmp_path: Path) -> None:
    kubeconfig = str(master.kubeconfig)
    closed_url = f"https://127.0.0.1:{free_port()}"  # bound then released: nothing listens there
    closed = write_kubeconfig(tmp_path / "closed", closed_url, "t")
    bad_token = write_kubeconfig(tmp_path / "bad-token", master.url, "not-the-token", master.ca_file.read_bytes())
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: {}\n")
    invalid = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": ns},
                              "spec": {"containers": [{"name": "a"}]}})  # fmt: skip
    cases = [
        (["get", "pods", "--kubeconfig", str(closed)], None,
         f"The connection to the server {closed_url} was refused - is the master running?"),
        (["get", "pods", "--kubeconfig", str(bad_token)], None, "error: You must be logged in to the server (Unauthorized)"),
        (["get", "pod", "nope", "-n", ns, "--kubeconfig", kubeconfig], None, 'Error from server (NotFound): pods "nope" not found'),
        (["apply", "-f", "-", "--kubeconfig", kubeconfig], invalid, 'The Pod "x" is invalid: spec.containers[0].image: Required value'),
        (["apply", "-f", str(bad_yaml), "--kubeconfig", kubeconfig], None, f"error: error parsing {bad_yaml}: line 5:"),
        (["get", "gizmos", "--kubeconfig", kubeconfig], None, 'error: the server doesn\'t have a resource type "gizmos"'),
        (["apply", "-f", "-", "--kubeconfig", kubeconfig], "apiVersion: v9\nkind: Gizmo\nmetadata: {name: g}\n",
         'error: resource mapping not found for name: "g" namespace: "" from "STDIN": no matches for kind "Gizmo" in version "v9"'),
        (["get", "pods", "--kubeconfig", str(tmp_path / "none")], None, "error: no kubeconfig at"),
    ]  # fmt: skip
    for args, stdin, expected in cases:
        proc = run_cli(*args, input=stdin)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.strip().startswith(expected), (args, proc.stderr)


def test_conflict_on_create_is_reported(master: MasterProcess, ns: str) -> None:
    manifest = yaml.safe_dump(pod_manifest("twice", ns))
    assert run_cli("create", "-f", "-", "--kubeconfig", str(master.kubeconfig), input=manifest).returncode == 0
    proc = run_cli("create", "-f", "-", "--kubeconfig", str(master.kubeconfig), input=manifest)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'Error from server (AlreadyExists): pods "twice" already exists'


def test_kubeconfig_from_environment(master: MasterProcess, ns: str) -> None:
    proc = run_cli("get", "ns", ns, "-o", "name", env={"KAJITORI_CONFIG": str(master.kubeconfig)})
    assert (proc.returncode, proc.stdout.strip()) == (0, f"namespace/{ns}")


# --------------------------------------------------------------------------- watch


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """This process ignores SIGINT, as a session started in the background (CI, nohup) does."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_ignored")
def test_get_watch_prints_a_row_per_change_until_ctrl_c(master: MasterProcess, api: ApiClient, ns: str) -> None:
    make_pod(api, "before", ns)
    # Ctrl-C reaches the child even though this session ignores SIGINT (a plain Popen's child
    # inherited the SIG_IGN and never ended: the hang seen in CI and in background runs).
    proc = popen_interruptible(
        [sys.executable, "-m", "cli", "get", "pods", "-w", "-n", ns, "--kubeconfig", str(master.kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    def pump_errors() -> None:
        # Read as it comes, so a chatty stderr can never fill the pipe and block the watch.
        assert proc.stderr is not None
        errors.extend(proc.stderr)

    threading.Thread(target=pump, daemon=True).start()
    stderr_reader = threading.Thread(target=pump_errors, daemon=True)
    stderr_reader.start()

    def next_line() -> str:
        # The first line waits for the process to start: seconds of imports on a loaded machine.
        try:
            return lines.get(timeout=PROCESS_TIMEOUT_S).rstrip("\n")
        except queue.Empty:
            raise AssertionError(f"no line from `get -w` in {PROCESS_TIMEOUT_S}s; stderr: {''.join(errors)!r}") from None

    try:
        assert next_line().split()[:3] == ["NAME", "READY", "STATUS"]
        assert next_line().split()[:3] == ["before", "0/1", "Pending"]
        make_pod(api, "after", ns)
        assert next_line().split()[:3] == ["after", "0/1", "Pending"]
        api.patch(Pod, "after", {"status": {"phase": "Failed", "reason": "Evicted"}}, ns, subresource="status")
        assert next_line().split()[:3] == ["after", "0/1", "Evicted"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(PROCESS_TIMEOUT_S)
        finally:
            kill_process(proc)  # never outlives the test, whatever failed above
    stderr_reader.join(PROCESS_TIMEOUT_S)  # everything it wrote before it exited
    assert code == 0
    assert "Traceback" not in "".join(errors)

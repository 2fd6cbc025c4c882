"""kubectl drives a real master over HTTPS with the kubeconfig the master wrote.

kubectl refuses to send a bearer token over plain HTTP, so these pass only when the API
server speaks TLS with a certificate of the CA in the kubeconfig. `kubectl get` asks for
server-side meta.k8s.io Tables: its columns here are the API server's, not kubectl's
fallback NAME/AGE.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as kajitori_app
from kajitori.api.core import ConfigMap, Container, Pod, PodSpec
from kajitori.api.meta import ObjectMeta
from kajitori.client import ApiClient
from kajitori.tables import TABLES
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (scripts/ensure-host.sh installs it)"),
]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "nginx.yaml"


def kubectl(master: MasterProcess, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}  # no cache of another cluster
    proc = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def test_get_namespaces(master: MasterProcess) -> None:
    out = kubectl(master, "get", "ns").stdout
    names = {line.split()[0] for line in out.splitlines()[1:]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_apply_twice_get_scale_delete(master: MasterProcess, api: ApiClient) -> None:
    first = kubectl(master, "apply", "-f", str(EXAMPLE)).stdout.splitlines()
    assert first == ["deployment.apps/nginx created", "service/nginx created"]
    second = kubectl(master, "apply", "-f", str(EXAMPLE)).stdout.splitlines()
    assert second == ["deployment.apps/nginx unchanged", "service/nginx unchanged"]

    listed = kubectl(master, "get", "deploy,svc", "-o", "wide").stdout
    assert "deployment.apps/nginx" in listed and "service/nginx" in listed

    assert kubectl(master, "scale", "deploy", "nginx", "--replicas", "2").stdout.strip() == "deployment.apps/nginx scaled"
    assert kubectl(master, "get", "deploy", "nginx", "-o", "jsonpath={.spec.replicas}").stdout == "2"

    assert kubectl(master, "delete", "svc", "nginx").stdout.strip() == 'service "nginx" deleted'
    gone = kubectl(master, "get", "svc", "nginx", check=False)
    assert gone.returncode == 1 and 'services "nginx" not found' in gone.stderr


@pytest.mark.timeout(PROCESS_TIMEOUT_S)
def test_watch_shows_a_new_pod(master: MasterProcess, api: ApiClient) -> None:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    watcher = subprocess.Popen(["kubectl", "get", "pods", "-w", "--no-headers"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert watcher.stdout is not None
        api.create(Pod(metadata=ObjectMeta(name="watched", namespace="default"), spec=PodSpec(containers=[Container(name="c", image="busybox")])))
        for line in watcher.stdout:
            if line.split()[0] == "watched":
                break
    finally:
        watcher.terminate()
        watcher.wait(PROCESS_TIMEOUT_S)


def table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """kubectl's output as (header, {name: cells}), split on its runs of 2+ spaces."""
    lines = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]
    return lines[0], {row[0]: row for row in lines[1:]}


TABLE_OBJECTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: tables}
spec:
  replicas: 2
  selector: {matchLabels: {app: tables}}
  template:
    metadata: {labels: {app: tables}}
    spec: {containers: [{name: web, image: "nginx:1.22"}]}
---
apiVersion: v1
kind: Service
metadata: {name: tables}
spec:
  type: NodePort
  selector: {app: tables}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
"""


def test_get_shows_the_servers_table_columns(master: MasterProcess, api: ApiClient) -> None:
    api.create(Pod(metadata=ObjectMeta(name="tabled", namespace="default"), spec=PodSpec(containers=[Container(name="c", image="busybox")])))
    api.bind("default", "tabled", "node1")
    api.patch(Pod, "tabled", {"status": {"phase": "Running", "podIP": "10.244.1.7", "containerStatuses": [
        {"name": "c", "image": "busybox", "imageID": "", "ready": True, "restartCount": 2, "state": {"running": {}}}]}},
        "default", subresource="status")  # fmt: skip

    header, rows = table(kubectl(master, "get", "pods").stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows["tabled"][1:4] == ["1/1", "Running", "2"]
    header, rows = table(kubectl(master, "get", "pods", "tabled", "-o", "wide").stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert rows["tabled"][5:] == ["10.244.1.7", "node1", "<none>", "<none>"]
    header, rows = table(kubectl(master, "get", "pods", "-A", "--show-labels").stdout)  # both need the row's metadata
    assert header[0] == "NAMESPACE" and header[-1] == "LABELS" and "default" in {row[0] for row in rows.values()}

    kubectl(master, "apply", "-f", "-", input=TABLE_OBJECTS)
    header, rows = table(kubectl(master, "get", "deploy", "tables").stdout)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows["tables"][1:4] == ["0/2", "0", "0"]
    header, rows = table(kubectl(master, "get", "deploy", "-o", "wide").stdout)
    assert header[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"] and rows["tables"][5:] == ["web", "nginx:1.22", "app=tables"]
    header, rows = table(kubectl(master, "get", "svc").stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows["tables"][1] == "NodePort" and rows["tables"][2].startswith("10.") and rows["tables"][4] == "80:30080/TCP"
    header, rows = table(kubectl(master, "get", "svc", "tables", "-o", "wide").stdout)
    assert header[-1] == "SELECTOR" and rows["tables"][-1] == "app=tables"

    api.create(ConfigMap(metadata=ObjectMeta(name="tables", namespace="default"), data={"a": "1"}))
    for kind in ("Namespace", "ConfigMap", "Secret", "Endpoints", "Event", "Lease", "ReplicaSet", "Node"):
        out = kubectl(master, "get", kind.lower(), "-o", "wide").stdout
        if out:  # kinds with no object here print nothing but "No resources found"
            assert table(out)[0] == [c.header for c in TABLES[kind].columns], kind
    assert table(kubectl(master, "get", "cm", "tables").stdout)[1]["tables"][1] == "1"


def test_kubectl_and_kajitori_get_print_the_same_table(master: MasterProcess, api: ApiClient) -> None:
    api.create(Pod(metadata=ObjectMeta(name="same", namespace="default"), spec=PodSpec(containers=[Container(name="c", image="busybox")])))
    theirs = table(kubectl(master, "get", "pods", "same", "-o", "wide").stdout)
    ours = CliRunner().invoke(kajitori_app, ["get", "pods", "same", "-o", "wide", "--kubeconfig", str(master.kubeconfig)])
    assert ours.exit_code == 0, ours.output
    assert table(ours.output)[0] == theirs[0] == [c.header for c in TABLES["Pod"].columns]
    assert table(ours.output)[1]["same"][1:4] == theirs[1]["same"][1:4] == ["0/1", "Pending", "0"]


def test_an_invalid_object_names_the_field(master: MasterProcess) -> None:
    manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: no-image}\nspec: {containers: [{name: a}]}\n"
    proc = kubectl(master, "apply", "-f", "-", input=manifest, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'The Pod "no-image" is invalid: spec.containers[0].image: Required value'

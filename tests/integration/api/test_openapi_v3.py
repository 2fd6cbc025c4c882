"""OpenAPI v3 as kube-apiserver serves it, read by the stock kubectl and the official client (issue 11).

`kubectl explain` (1.28, 1.32, 1.33) prints the fields and descriptions generated from the
models; `kubectl apply --validate=strict` finds /openapi/v3 (no fallback to the legacy
verifier; kubectl logs that fallback at -v=7), leaves field validation to the server (an unknown field is reported with
Kubernetes' words), and computes its apply patches from the schema without a warning — a
changed manifest and the original again end as written, the list merged by its key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.master_process import MasterProcess


def _kubectl_dir() -> Path | None:
    found = shutil.which("kubectl")
    return Path(os.path.realpath(found)).parent if found else None


KUBECTLS = [v for v in ("1.28", "1.32", "1.33") if (d := _kubectl_dir()) and (d / f"kubectl.{v}").exists()]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = pytest.mark.integration
needs_kubectl = pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.28 / 1.32 / 1.33 are not installed")


def kubectl(master: MasterProcess, version: str, *args: str, home: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    binary = _kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    # A HOME of its own: kubectl caches discovery and OpenAPI documents under ~/.kube/cache.
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(home)}
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=90, env=env)
    assert proc.returncode in ok, (args, proc.returncode, proc.stdout, proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def http(master: MasterProcess) -> httpx.Client:
    token = master.client().config.token
    return httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, timeout=20, verify=master.tls())


def test_index_names_every_group_version_with_its_hash(http: httpx.Client) -> None:
    index = http.get("/openapi/v3")
    assert index.status_code == 200, index.text
    assert index.headers["content-type"] == "application/json"
    paths = index.json()["paths"]
    assert set(paths) == {
        "api/v1", "apis/apps/v1", "apis/autoscaling/v2", "apis/batch/v1", "apis/coordination.k8s.io/v1", "apis/networking.k8s.io/v1",
        "apis/storage.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1", "apis/certificates.k8s.io/v1",
    }  # fmt: skip
    for gv, entry in paths.items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{gv}?hash=")
        doc = http.get(url)
        assert doc.status_code == 200, doc.text
        digest = url.partition("hash=")[2]
        assert len(digest) == 128 and digest == digest.upper()
        assert doc.headers["etag"] == f'"{digest}"'
        assert doc.headers["cache-control"] == "public, immutable"
        assert "expires" in doc.headers
        assert doc.json()["openapi"].startswith("3.0")
        # The same document without the hash is not marked immutable; a stale hash moves on.
        plain = http.get(f"/openapi/v3/{gv}")
        assert plain.status_code == 200 and "cache-control" not in plain.headers
        moved = http.get(f"/openapi/v3/{gv}?hash=0123")
        assert moved.status_code == 301 and moved.headers["location"] == url
        assert http.get(url, headers={"If-None-Match": f'"{digest}"'}).status_code == 304


def schemas(http: httpx.Client, gv: str) -> dict[str, Any]:
    url = http.get("/openapi/v3").json()["paths"][gv]["serverRelativeURL"]
    doc: dict[str, Any] = http.get(url).json()
    return doc


def test_schemas_carry_kubernetes_names_and_extensions(http: httpx.Client) -> None:
    core = schemas(http, "api/v1")
    s = core["components"]["schemas"]
    pod = s["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["description"]
    assert pod["properties"]["metadata"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    containers = s["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map" and containers["x-kubernetes-list-map-keys"] == ["name"]
    volumes = s["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"]
    assert volumes["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    ports = s["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "port" and ports["x-kubernetes-list-map-keys"] == ["port", "protocol"]
    assert s["io.k8s.api.core.v1.Container"]["properties"]["args"]["x-kubernetes-list-type"] == "atomic"
    assert s["io.k8s.api.core.v1.PodSpec"]["properties"]["restartPolicy"]["enum"] == ["Always", "OnFailure", "Never"]
    # Unmodelled fields are there, typed from the protobuf tables, their objects open to any field.
    security = s["io.k8s.api.core.v1.Container"]["properties"]["securityContext"]
    assert security["description"].startswith("Not modelled by Kajitori")
    assert s["io.k8s.api.core.v1.SecurityContext"]["x-kubernetes-preserve-unknown-fields"] is True
    assert s["io.k8s.api.core.v1.PodSpec"]["properties"]["hostPID"]["type"] == "boolean"
    # Every $ref resolves inside the document.
    text = str(core)
    for name in s:
        assert isinstance(s[name], dict)
    for piece in text.split("'$ref': '#/components/schemas/")[1:]:
        assert piece.split("'")[0] in s
    # The verbs kubectl looks for: fieldValidation on a PATCH, strategic merge accepted.
    patch = core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    apps = schemas(http, "apis/apps/v1")["components"]["schemas"]
    assert apps["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert apps["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"


def test_unknown_openapi_paths_answer_a_status(http: httpx.Client) -> None:
    for path in ("/openapi/v3/apis/nope/v1", "/openapi/v9", "/nonsense"):
        r = http.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["kind"] == "Status" and r.json()["reason"] == "NotFound", r.text
    assert http.get("/openapi/v3/api/v1", headers={"Accept": "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"}).status_code == 406


@needs_kubectl
@pytest.mark.timeout(180)
@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_explain(master: MasterProcess, tmp_path: Path, version: str) -> None:
    pods = kubectl(master, version, "explain", "pods", home=tmp_path).stdout
    assert "KIND:       Pod" in pods and "VERSION:    v1" in pods
    assert "<no description>" not in pods
    for field in ("apiVersion", "kind", "metadata", "spec", "status"):
        assert f"  {field}\t<" in pods
    assert "specification of the desired behavior of the pod" in pods.lower()
    strategy = kubectl(master, version, "explain", "deployment.spec.strategy", home=tmp_path).stdout
    assert "GROUP:      apps" in strategy and "FIELD: strategy <DeploymentStrategy>" in strategy
    assert "rollingUpdate\t<RollingUpdateDeployment>" in strategy and "type\t<string>" in strategy
    assert "How a Deployment replaces old pods with new ones." in strategy
    assert "<no description>" not in strategy
    recursive = kubectl(master, version, "explain", "pods", "--recursive", home=tmp_path).stdout
    for line in ("    containers\t<[]Container> -required-", "      readinessProbe\t<Probe>", "        httpGet\t<HTTPGetAction>", "    securityContext\t<PodSecurityContext>"):
        assert line in recursive, line


@needs_kubectl
@pytest.mark.timeout(240)
@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_apply_with_the_schema(master: MasterProcess, http: httpx.Client, tmp_path: Path, version: str) -> None:
    ns = f"oa-{version.replace('.', '-')}"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    # Objects that name their own namespace (the ingress Service in kube-system) go where they say.
    docs = [d for f in sorted(EXAMPLES.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d and not d["metadata"].get("namespace")]
    for doc in docs:  # NodePorts are cluster-wide: each version's copy lets the server pick one
        for port in doc.get("spec", {}).get("ports", []) if doc["kind"] == "Service" else []:
            port.pop("nodePort", None)
    original = tmp_path / "original.yaml"
    original.write_text(yaml.safe_dump_all(docs))
    changed_docs = yaml.safe_load_all(original.read_text())
    changed = []
    for doc in changed_docs:
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["ports"] = [{"containerPort": 8080}]
            container["env"] = [{"name": "A", "value": "1"}]
            container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "3"]}}}
        changed.append(doc)
    edited = tmp_path / "changed.yaml"
    edited.write_text(yaml.safe_dump_all(changed))
    for manifest in (original, edited, original):
        proc = kubectl(master, version, "apply", "-n", ns, "--validate=strict", "-f", str(manifest), "-v=7", home=tmp_path)
        assert "falling back to legacy" not in proc.stderr
        assert "warning:" not in proc.stderr.lower(), proc.stderr[-2000:]
    deployment = http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/nginx").json()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert "env" not in container
    assert container["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "2"]}}}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"}, "data": {"a": "1"}, "bogus": 1}))
    proc = kubectl(master, version, "apply", "-n", ns, "--validate=strict", "-f", str(bad), home=tmp_path, ok=(1,))
    assert 'strict decoding error: unknown field "bogus"' in proc.stderr
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/bad").status_code == 404


def test_official_client_is_unaffected(master: MasterProcess, http: httpx.Client) -> None:
    """The official client never reads OpenAPI: the examples create and read back through it as before."""
    kubernetes = pytest.importorskip("kubernetes")
    ns = "oa-official"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    client = kubernetes.config.new_client_from_config(config_file=str(master.kubeconfig))
    try:
        for f in sorted(EXAMPLES.glob("*.yaml")):
            for doc in yaml.safe_load_all(f.read_text()):
                if doc and doc["kind"] == "Service":
                    for port in doc["spec"].get("ports", []):
                        port.pop("nodePort", None)
                if doc and not doc["metadata"].get("namespace"):
                    kubernetes.utils.create_from_dict(client, doc, namespace=ns)
        deployment = kubernetes.client.AppsV1Api(client).read_namespaced_deployment("nginx", ns)
        assert deployment.spec.template.spec.containers[0].ports[0].container_port == 80
        assert "nginx" in [s.metadata.name for s in kubernetes.client.CoreV1Api(client).list_namespaced_service(ns).items]
    finally:
        client.close()


# Workloads whose re-apply needs every kind of patch metadata: lists merged by key (env,
# containers, volumeMounts), retainKeys (a volume's source, the strategy), atomic lists
# (args, tolerations) and unmodelled fields with nested objects (securityContext).
RICH = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: rich, labels: {app: rich}}
spec:
  replicas: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
  selector: {matchLabels: {app: rich}}
  template:
    metadata: {labels: {app: rich}, annotations: {a: "1"}}
    spec:
      nodeSelector: {disk: ssd}
      tolerations: [{key: k, operator: Exists}]
      securityContext: {runAsUser: 1000, sysctls: [{name: net.core.somaxconn, value: "1024"}]}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
      volumes:
        - {name: cfg, configMap: {name: cfg}}
        - {name: tmp, emptyDir: {}}
      containers:
        - name: app
          image: busybox:1
          args: [sleep, "3600"]
          env: [{name: A, value: "1"}, {name: B, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}
          securityContext: {capabilities: {add: [NET_ADMIN]}, readOnlyRootFilesystem: true}
          volumeMounts: [{name: cfg, mountPath: /cfg}, {name: tmp, mountPath: /tmp}]
          ports: [{containerPort: 8080, name: http}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox:1, args: [date]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      containers: [{name: c, image: busybox:1}]
"""
RICH_CHANGED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: rich, labels: {app: rich}}
spec:
  replicas: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0}}
  selector: {matchLabels: {app: rich}}
  template:
    metadata: {labels: {app: rich}, annotations: {a: "1"}}
    spec:
      nodeSelector: {disk: ssd}
      tolerations: [{key: k, operator: Exists}]
      securityContext: {runAsUser: 2000, sysctls: [{name: net.core.somaxconn, value: "2048"}]}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
      volumes:
        - {name: cfg, configMap: {name: cfg}}
        - {name: tmp, hostPath: {path: /tmp}}
      containers:
        - name: app
          image: busybox:1
          args: [sleep, "3600"]
          env: [{name: B, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}
          securityContext: {capabilities: {add: [SYS_TIME]}, readOnlyRootFilesystem: true}
          volumeMounts: [{name: cfg, mountPath: /cfg}, {name: tmp, mountPath: /tmp}]
          ports: [{containerPort: 8080, name: http}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox:1, args: [date]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      containers: [{name: c, image: busybox:2}]
"""


@needs_kubectl
@pytest.mark.timeout(240)
@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_reapplies_changed_workloads_from_the_schema(master: MasterProcess, http: httpx.Client, tmp_path: Path, version: str) -> None:
    ns = f"oa-rich-{version.replace('.', '-')}"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    first, changed = tmp_path / "rich.yaml", tmp_path / "changed.yaml"
    first.write_text(RICH)
    changed.write_text(RICH_CHANGED)
    for manifest in (first, changed, first, changed):
        proc = kubectl(master, version, "apply", "-n", ns, "-f", str(manifest), home=tmp_path)
        assert "warning" not in proc.stderr.lower(), proc.stderr
    spec = http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/rich").json()["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert [e["name"] for e in container["env"]] == ["B"]
    assert container["securityContext"] == {"capabilities": {"add": ["SYS_TIME"]}, "readOnlyRootFilesystem": True}
    assert pod["volumes"][1] == {"name": "tmp", "hostPath": {"path": "/tmp"}}  # retainKeys: emptyDir gone
    assert pod["securityContext"] == {"runAsUser": 2000, "sysctls": [{"name": "net.core.somaxconn", "value": "2048"}]}
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert http.get(f"/apis/batch/v1/namespaces/{ns}/cronjobs/cj").json()["spec"]["schedule"] == "@hourly"
    ds = http.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/ds").json()
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"

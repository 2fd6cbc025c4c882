"""A current kubectl creates objects imperatively: its typed commands send protobuf bodies.

kubectl 1.32 and 1.33 send ``application/vnd.kubernetes.protobuf`` from ``create
namespace|configmap|secret|deployment|service|job`` and do not retry in JSON when
refused; the API server decodes them into the same objects JSON gives and answers
JSON. Each command's object is read back through the API; an invalid one earns the
same 422 message a JSON body does. ``run`` and ``expose`` are here too (1.33 sends
those as JSON). Each version's binary is looked up beside the ``kubectl`` dispatcher.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kajitori.api.registry import by_kind
from kajitori.client import ApiClient, ApiError
from tests.support.master_process import MasterProcess
from tests.support.protobuf_encoder import encode_object, envelope, length_delimited

pytestmark = pytest.mark.integration

VERSIONS = ("1.32", "1.33")


def kubectl_binary(version: str) -> str | None:
    """``kubectl.1.33`` on PATH or beside the dispatcher the image installs."""
    name = f"kubectl.{version}"
    if found := shutil.which(name):
        return found
    dispatcher = shutil.which("kubectl")
    if dispatcher is None:
        return None
    beside = Path(dispatcher).resolve().parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


@pytest.fixture(params=VERSIONS, ids=lambda v: f"kubectl-{v}")
def version(request: pytest.FixtureRequest) -> str:
    if kubectl_binary(request.param) is None:
        pytest.skip(f"kubectl.{request.param} is not installed (neither on PATH nor beside the kubectl dispatcher)")
    return str(request.param)


def run(master: MasterProcess, version: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = kubectl_binary(version)
    assert binary is not None
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=90, env=env)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def test_every_imperative_create_makes_its_object(master: MasterProcess, api: ApiClient, version: str) -> None:
    ns = f"pb-{version.replace('.', '-')}"
    node_port = 30100 + int(version.split(".")[1])
    out = lambda *args: run(master, version, *args).stdout.strip()  # noqa: E731

    assert out("create", "namespace", ns) == f"namespace/{ns} created"
    assert api.get_raw(by_kind("v1", "Namespace"), ns)["metadata"]["name"] == ns

    assert out("create", "configmap", "cfg", "-n", ns, "--from-literal=a=1", "--from-literal=b=two") == "configmap/cfg created"
    assert api.get_raw(by_kind("v1", "ConfigMap"), "cfg", ns)["data"] == {"a": "1", "b": "two"}

    assert out("create", "secret", "generic", "pw", "-n", ns, "--from-literal=p=q") == "secret/pw created"
    secret = api.get_raw(by_kind("v1", "Secret"), "pw", ns)
    assert (secret["type"], secret["data"]) == ("Opaque", {"p": base64.b64encode(b"q").decode()})

    assert out("create", "deployment", "web", "-n", ns, "--image=nginx:1.22", "--replicas=0", "--port=80") == "deployment.apps/web created"
    deploy = api.get_raw(by_kind("apps/v1", "Deployment"), "web", ns)
    assert deploy["spec"]["replicas"] == 0  # a pointer's zero survives the protobuf body
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    [container] = deploy["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"], container["ports"]) == ("nginx", "nginx:1.22", [{"containerPort": 80, "protocol": "TCP"}])

    assert out("create", "service", "clusterip", "cip", "-n", ns, "--tcp=80:8080") == "service/cip created"
    svc = api.get_raw(by_kind("v1", "Service"), "cip", ns)
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"].startswith("10.")
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in svc["spec"]["ports"]] == [(80, 8080, "TCP")]

    assert out("create", "service", "nodeport", "np", "-n", ns, "--tcp=80:8080", f"--node-port={node_port}") == "service/np created"
    svc = api.get_raw(by_kind("v1", "Service"), "np", ns)
    assert (svc["spec"]["type"], svc["spec"]["ports"][0]["nodePort"]) == ("NodePort", node_port)

    assert out("create", "job", "once", "-n", ns, "--image=kajitori/busybox:1", "--", "echo", "hi") == "job.batch/once created"
    job = api.get_raw(by_kind("batch/v1", "Job"), "once", ns)
    pod_spec = job["spec"]["template"]["spec"]
    assert (pod_spec["restartPolicy"], pod_spec["containers"][0]["command"]) == ("Never", ["echo", "hi"])

    assert out("run", "solo", "-n", ns, "--image=kajitori/busybox:1", "--port=80", "--env=A=B", "--labels=tier=x") == "pod/solo created"
    pod = api.get_raw(by_kind("v1", "Pod"), "solo", ns)
    assert pod["metadata"]["labels"] == {"tier": "x"} and pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "B"}]

    assert out("expose", "deployment", "web", "-n", ns, "--port=80", "--target-port=8080", "--name=web-svc") == "service/web-svc exposed"
    exposed = api.get_raw(by_kind("v1", "Service"), "web-svc", ns)
    assert exposed["spec"]["selector"] == {"app": "web"} and exposed["spec"]["ports"][0]["targetPort"] == 8080


@pytest.mark.parametrize(
    ("args", "kind", "body"),
    [
        pytest.param(("create", "namespace", "Bad_Name"), "Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad_Name"}}, id="namespace"),
        pytest.param(("create", "configmap", "Bad_Name", "--from-literal=a=1"), "ConfigMap",
                     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}, "data": {"a": "1"}}, id="configmap"),
    ],
)
def test_an_invalid_object_answers_the_same_422_as_json(
    master: MasterProcess, api: ApiClient, version: str, args: tuple[str, ...], kind: str, body: dict[str, object]
) -> None:
    resource = by_kind("v1", kind)
    with pytest.raises(ApiError) as as_json:
        api.request("POST", resource.path("default"), body=body)
    assert as_json.value.code == 422
    proc = run(master, version, *args, check=False)
    assert proc.returncode == 1
    message = as_json.value.status["message"]
    assert message.startswith(f'{kind} "Bad_Name" is invalid: metadata.name: ')
    # kubectl puts its own words before the server's ("The ", "error: failed to create configmap: ").
    assert proc.stderr.strip().endswith(message), (proc.stderr, message)


PROTOBUF = "application/vnd.kubernetes.protobuf"


@pytest.fixture
def http(master: MasterProcess, api: ApiClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {api.config.token}"}, timeout=10, verify=master.tls()) as client:
        yield client


def test_a_protobuf_body_is_answered_in_json_even_when_only_protobuf_is_accepted(api: ApiClient, http: httpx.Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-proto"}, "data": {"k": "v"}}
    r = http.post("/api/v1/namespaces/default/configmaps", content=encode_object(cm), headers={"content-type": PROTOBUF, "accept": PROTOBUF})
    assert r.status_code == 201 and r.headers["content-type"] == "application/json", r.text
    assert r.json()["data"] == {"k": "v"} and api.get_raw(by_kind("v1", "ConfigMap"), "from-proto", "default")["data"] == {"k": "v"}
    # client-go's typed Delete sends its DeleteOptions in protobuf too.
    options = encode_object({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": "not-the-uid"}})
    r = http.request("DELETE", "/api/v1/namespaces/default/configmaps/from-proto", content=options, headers={"content-type": PROTOBUF})
    assert r.status_code == 409 and "Precondition failed: UID in precondition: not-the-uid" in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b'{"kind": "ConfigMap"}', "k8s\\x00", id="not protobuf"),
        pytest.param(envelope("v1", "ConfigMap", length_delimited(1, b"\x0a\x09trunc")), "metadata: field 1 at offset 0 has length 9", id="truncated"),
        pytest.param(envelope("v1", "Gadget", b""), 'no kind "Gadget" is registered for version "v1"', id="unknown kind"),
    ],
)
def test_a_malformed_protobuf_body_answers_400_naming_the_problem(http: httpx.Client, body: bytes, words: str) -> None:
    r = http.post("/api/v1/namespaces/default/configmaps", content=body, headers={"content-type": PROTOBUF})
    assert r.status_code == 400, r.text
    status = r.json()
    assert (status["kind"], status["reason"]) == ("Status", "BadRequest") and words in status["message"], status

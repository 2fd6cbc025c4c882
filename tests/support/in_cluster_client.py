"""The program a pod runs with the official Kubernetes client in-cluster, and the refusal it expects.

Shared by the integration test of kajitori/python-client:1 (plain Docker against a real
master) and the lab's e2e (a pod on a node), so both check the same program: it calls
``config.load_incluster_config()`` (KUBERNETES_SERVICE_HOST/PORT, and ``token`` and
``ca.crt`` under SA_DIR), lists the pods of its own namespace (SA_DIR's ``namespace``), then
of each namespace named on its command line, and prints one JSON line: per namespace the
HTTP status and the pod names, or the refusal's message. Only an ApiException is caught:
anything else (no ``kubernetes`` package, no token, a TLS failure) fails the program.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker

from tests.support.processes import PROCESS_TIMEOUT_S
from tests.support.session_names import SESSION, SESSION_LABEL

IMAGE = "kajitori/python-client:1"
TEST_LABEL = {"io.kajitori.test": "1", SESSION_LABEL: SESSION}
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

LIST_PODS_IN_CLUSTER = f"""
import json, sys
from kubernetes import client, config
from kubernetes.client.rest import ApiException

config.load_incluster_config()
core = client.CoreV1Api()
home = open("{SA_DIR}/namespace").read()
seen = {{}}
for namespace in [home, *sys.argv[1:]]:
    try:
        seen[namespace] = {{"status": 200, "pods": sorted(p.metadata.name for p in core.list_namespaced_pod(namespace).items)}}
    except ApiException as refused:
        seen[namespace] = {{"status": refused.status, "message": json.loads(refused.body)["message"]}}
print(json.dumps(seen))
"""


def list_forbidden(sa_namespace: str, sa_name: str, namespace: str) -> str:
    """kube-apiserver's message refusing ServiceAccount sa_namespace/sa_name a list of pods in ``namespace``."""
    return (
        f'pods is forbidden: User "system:serviceaccount:{sa_namespace}:{sa_name}" cannot list resource "pods" '
        f'in API group "" in the namespace "{namespace}"'
    )


def run_beside_master(client: docker.DockerClient, sa_files: Path, api_port: int, *elsewhere: str) -> dict[str, Any]:
    """LIST_PODS_IN_CLUSTER in IMAGE on the host network, as a pod of a master on 127.0.0.1:``api_port``
    whose ServiceAccount files (``token``, ``ca.crt``, ``namespace``) are ``sa_files``; what it printed."""
    container = client.containers.run(
        IMAGE, ["python3", "-c", LIST_PODS_IN_CLUSTER, *elsewhere], detach=True, labels=TEST_LABEL,
        network_mode="host",
        environment={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api_port)},
        volumes={str(sa_files): {"bind": SA_DIR, "mode": "ro"}},
    )  # fmt: skip
    try:
        exit_code = container.wait(timeout=PROCESS_TIMEOUT_S)["StatusCode"]
        output = container.logs(stdout=True, stderr=False).decode()
        errors = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True, v=True)
    assert exit_code == 0, f"the client in {IMAGE} exited {exit_code}:\n{errors}{output}"
    return json.loads(output)  # type: ignore[no-any-return]

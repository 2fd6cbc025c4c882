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

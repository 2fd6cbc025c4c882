"""`kubectl get all` finds the "all" category through discovery and lists every kind in it (issue 11)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

NS = "everything"
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
OBJECTS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "solo"}, "spec": TEMPLATE["spec"]}),
    ("/api/v1/namespaces/{ns}/services", {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}}),
    ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "not-in-all"}}),
    ("/api/v1/namespaces/{ns}/replicationcontrollers", {"metadata": {"name": "rc"}, "spec": {"replicas": 0, "template": TEMPLATE}}),
    ("/apis/apps/v1/namespaces/{ns}/deployments", {"metadata": {"name": "dep"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE}}),
    ("/apis/apps/v1/namespaces/{ns}/replicasets", {"metadata": {"name": "rs"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE}}),
    ("/apis/apps/v1/namespaces/{ns}/daemonsets", {"metadata": {"name": "ds"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE}}),
    ("/apis/batch/v1/namespaces/{ns}/jobs", {"metadata": {"name": "job"}, "spec": {"template": {"spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}}}),
]


def _kubectl(version: str) -> Path | None:
    found = shutil.which("kubectl")
    binary = Path(os.path.realpath(found)).parent / f"kubectl.{version}" if found else None
    return binary if binary and binary.exists() else None


@pytest.fixture(scope="module")
def objects(master: MasterProcess) -> None:
    token = master.client().config.token
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, verify=master.tls()) as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code == 201
        for path, body in OBJECTS:
            r = http.post(path.format(ns=NS), json=body)
            assert r.status_code == 201, r.text


@pytest.mark.parametrize("version", ["1.28", "1.32", "1.33"])
def test_get_all(master: MasterProcess, objects: None, version: str) -> None:
    binary = _kubectl(version)
    if binary is None:
        pytest.skip(f"kubectl.{version} is not installed")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([str(binary), "get", "all", "-n", NS, "-o", "name"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == [
        "daemonset.apps/ds",
        "deployment.apps/dep",
        "job.batch/job",
        "pod/solo",
        "replicaset.apps/rs",
        "replicationcontroller/rc",
        "service/svc",
    ]
    # and by short name, as kubectl users type it
    short = subprocess.run([str(binary), "get", "deploy,rs,ds,po,svc,cm", "-n", NS, "-o", "name"], capture_output=True, text=True, timeout=60, env=env)
    assert short.returncode == 0 and "configmap/not-in-all" in short.stdout, short.stderr

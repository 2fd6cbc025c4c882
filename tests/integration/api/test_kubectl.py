"""kubectl drives a real master over HTTPS with the kubeconfig the master wrote.

kubectl refuses to send a bearer token over plain HTTP, so these pass only when the API
server speaks TLS with a certificate of the CA in the kubeconfig.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kajitori.api.core import Container, Pod, PodSpec
from kajitori.api.meta import ObjectMeta
from kajitori.client import ApiClient
from tests.support.master_process import MasterProcess

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


@pytest.mark.timeout(60)
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
        watcher.wait(10)


def test_an_invalid_object_names_the_field(master: MasterProcess) -> None:
    manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: no-image}\nspec: {containers: [{name: a}]}\n"
    proc = kubectl(master, "apply", "-f", "-", input=manifest, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'The Pod "no-image" is invalid: spec.containers[0].image: Required value'

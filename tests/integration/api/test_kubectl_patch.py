"""kubectl's strategic merge patches against a real master end as on Kubernetes.

``kubectl patch`` (the default type, strategic) and client-side ``kubectl apply`` (a
three-way strategic merge patch with ``$setElementOrder``, ``$retainKeys`` and ``$patch:
delete``, computed from kubectl's built-in patch metadata) for a kubectl of the server's
minor and two current ones (1.32, 1.33).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.master_process import MasterProcess

KUBECTL = shutil.which("kubectl")
KUBECTL_DIR = Path(os.path.realpath(KUBECTL)).parent if KUBECTL else Path("/nonexistent")
VERSIONS = ["1.28", "1.32", "1.33"]

pytestmark = [pytest.mark.integration]


@pytest.fixture(params=VERSIONS)
def kubectl_bin(request: pytest.FixtureRequest) -> str:
    binary = KUBECTL_DIR / f"kubectl.{request.param}"
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    return str(binary)


def run(master: MasterProcess, binary: str, *args: str, input: str | None = None) -> str:
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([binary, *args], input=input, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def get(master: MasterProcess, binary: str, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(run(master, binary, "get", kind, name, "-o", "json"))
    return obj


def name_for(binary: str, base: str) -> str:
    return f"{base}-{binary.rsplit('.', 1)[-1]}"


def deployment(name: str, containers: list[dict[str, Any]], strategy: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "strategy": strategy,
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}},
            },
        }
    )


def env(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "value": n.lower()} for n in names]


def test_patch_of_service_ports_adds_a_port(master: MasterProcess, kubectl_bin: str) -> None:
    name = name_for(kubectl_bin, "smp-svc")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 80}]}}
    run(master, kubectl_bin, "create", "-f", "-", input=json.dumps(svc))
    # Named: Kubernetes too refuses two ports without names (the merge made two of them).
    run(master, kubectl_bin, "patch", "svc", name, "-p", '{"spec":{"ports":[{"name":"alt","port":81,"targetPort":81}]}}')
    ports = get(master, kubectl_bin, "svc", name)["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in ports] == [(81, 81), (80, 80)]  # Kubernetes puts the new one first


def test_patch_of_a_deployment_adds_an_env_var_by_container_name(master: MasterProcess, kubectl_bin: str) -> None:
    name = name_for(kubectl_bin, "smp-env")
    containers: list[dict[str, Any]] = [{"name": "web", "image": "busybox:1", "env": env("A", "B")}, {"name": "side", "image": "busybox:1"}]
    run(master, kubectl_bin, "create", "-f", "-", input=deployment(name, containers, {"type": "Recreate"}))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": env("C")}]}}}}
    run(master, kubectl_bin, "patch", "deployment", name, "-p", json.dumps(patch))
    spec = get(master, kubectl_bin, "deployment", name)["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["web", "side"]
    assert spec["containers"][0]["env"] == env("C", "A", "B")


def test_apply_of_a_changed_manifest_gives_kubernetes_result(master: MasterProcess, kubectl_bin: str) -> None:
    name = name_for(kubectl_bin, "smp-apply")
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}}
    first: list[dict[str, Any]] = [
        {"name": "web", "image": "busybox:1", "env": env("A", "B", "C"), "ports": [{"containerPort": 80}, {"containerPort": 81}]},
        {"name": "side", "image": "busybox:1"},
    ]
    run(master, kubectl_bin, "apply", "-f", "-", input=deployment(name, first, rolling))
    # Changed: containers reordered, env A dropped and D added in the middle, a port dropped,
    # the strategy switched to Recreate (its rollingUpdate must go: $retainKeys).
    second: list[dict[str, Any]] = [
        {"name": "side", "image": "busybox:1", "env": env("S")},
        {"name": "web", "image": "busybox:1", "env": env("B", "D", "C"), "ports": [{"containerPort": 81}]},
    ]
    assert "configured" in run(master, kubectl_bin, "apply", "-f", "-", input=deployment(name, second, {"type": "Recreate"}))
    spec = get(master, kubectl_bin, "deployment", name)["spec"]
    assert spec["strategy"] == {"type": "Recreate"}
    containers = spec["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["side", "web"]
    assert containers[0]["env"] == env("S")
    assert containers[1]["env"] == env("B", "D", "C")
    assert [p["containerPort"] for p in containers[1]["ports"]] == [81]

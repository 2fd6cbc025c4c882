"""`kubectl apply --server-side` against a real master, as on Kubernetes (issue 11).

Each case runs with kubectl 1.28 (the server's minor), 1.32 and 1.33: an apply creates,
a changed manifest changes the object (and what it no longer names goes), a second
manager's apply of a field the first owns fails with Kubernetes' conflict and exit 1,
``--force-conflicts`` takes the field, and an object made by client-side ``kubectl apply``
migrates to server-side apply the way kubectl drives it (its JSON patch of managedFields).
The official client's ``create_from_yaml(..., apply=True)`` applies through the same path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.master_process import MasterProcess


def _kubectl_dir() -> Path | None:
    found = shutil.which("kubectl")
    return Path(os.path.realpath(found)).parent if found else None


KUBECTLS = [v for v in ("1.28", "1.32", "1.33") if (d := _kubectl_dir()) and (d / f"kubectl.{v}").exists()]

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.28/1.32/1.33 are not installed")]


def kubectl(master: MasterProcess, version: str, *args: str, input: str | None = None, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    binary = _kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    proc = subprocess.run([str(binary), *args], input=input, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode in ok, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


def get(master: MasterProcess, version: str, kind: str, name: str, *flags: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(kubectl(master, version, "get", kind, name, "-o", "yaml", *flags).stdout)
    return obj


def deployment(name: str, *, replicas: int = 2, image: str = "nginx:1", env: tuple[str, ...] = ("A", "B")) -> str:
    container: dict[str, Any] = {"name": "web", "image": image, "env": [{"name": n, "value": n.lower()} for n in env]}
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
            },
        }
    )


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("version", KUBECTLS)
def test_apply_server_side_creates_changes_conflicts_and_forces(master: MasterProcess, version: str) -> None:
    name = f"ssa-{version.replace('.', '-')}"
    out = kubectl(master, version, "apply", "--server-side", "-f", "-", input=deployment(name)).stdout
    assert f"deployment.apps/{name} serverside-applied" in out
    obj = get(master, version, "deployment", name, "--show-managed-fields")
    assert set(managers(obj)) == {("kubectl", "Apply")}
    assert "managedFields" not in get(master, version, "deployment", name)["metadata"]  # kubectl hides them by default

    # A changed manifest: new image, env B dropped; what the applier no longer names goes.
    kubectl(master, version, "apply", "--server-side", "-f", "-", input=deployment(name, image="nginx:2", env=("A",)))
    container = get(master, version, "deployment", name)["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["env"]) == ("nginx:2", [{"name": "A", "value": "a"}])

    # A second manager changing a field the first owns: Kubernetes' conflict, exit 1, nothing written.
    other = deployment(name, replicas=5, image="nginx:2", env=("A",))
    failed = kubectl(master, version, "apply", "--server-side", "--field-manager=other", "-f", "-", input=other, ok=(1,))
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in failed.stderr
    assert "--force-conflicts" in failed.stderr
    assert get(master, version, "deployment", name)["spec"]["replicas"] == 2

    kubectl(master, version, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", input=other)
    obj = get(master, version, "deployment", name, "--show-managed-fields")
    assert obj["spec"]["replicas"] == 5
    owners = managers(obj)
    assert "f:replicas" in owners[("other", "Apply")]["f:spec"]
    assert "f:replicas" not in owners[("kubectl", "Apply")]["f:spec"]
    assert "f:image" in owners[("other", "Apply")]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']  # co-owned


@pytest.mark.timeout(180)
@pytest.mark.parametrize("version", KUBECTLS)
def test_client_side_applied_objects_conflict_then_migrate_to_server_side_apply(master: MasterProcess, version: str) -> None:
    name = f"csa-{version.replace('.', '-')}"
    kubectl(master, version, "apply", "-f", "-", input=deployment(name))
    made = managers(get(master, version, "deployment", name, "--show-managed-fields"))
    assert ("kubectl-client-side-apply", "Update") in made

    # Client-side apply owns replicas: a server-side apply changing it conflicts with it.
    failed = kubectl(master, version, "apply", "--server-side", "-f", "-", input=deployment(name, replicas=3), ok=(1,))
    assert 'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas' in failed.stderr

    # The same manifest applies server-side, and kubectl moves the client-side fields to its applier.
    kubectl(master, version, "apply", "--server-side", "-f", "-", input=deployment(name))
    migrated = managers(get(master, version, "deployment", name, "--show-managed-fields"))
    assert ("kubectl-client-side-apply", "Update") not in migrated
    assert "f:replicas" in migrated[("kubectl", "Apply")]["f:spec"]

    # Now server-side apply owns env B alone, so dropping it from the manifest removes it.
    kubectl(master, version, "apply", "--server-side", "-f", "-", input=deployment(name, env=("A",)))
    container = get(master, version, "deployment", name)["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "a"}]


def test_official_client_applies_server_side(master: MasterProcess, tmp_path: Path) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.utils import create_from_yaml

    manifest = tmp_path / "cm.yaml"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"a": "1"}}
    manifest.write_text(yaml.safe_dump(body))
    client = kubernetes.config.new_client_from_config(config_file=str(master.kubeconfig))
    try:
        create_from_yaml(client, str(manifest), apply=True)  # creates
        body["data"] = {"b": "2"}
        manifest.write_text(yaml.safe_dump(body))
        create_from_yaml(client, str(manifest), apply=True)  # a drops, b comes
        cm = kubernetes.client.CoreV1Api(client).read_namespaced_config_map("py-ssa", "default")
        assert cm.data == {"b": "2"}
        assert [(e.manager, e.operation) for e in cm.metadata.managed_fields] == [("python-client", "Apply")]
    finally:
        client.close()

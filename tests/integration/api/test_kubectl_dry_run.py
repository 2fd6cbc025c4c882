"""The stock kubectl's diff and --dry-run=server leave the store untouched (issue 11).

Each case runs with kubectl 1.28 (the server's minor), 1.32 and 1.33 (current ones, whose
typed commands such as `create configmap` send protobuf bodies). "Untouched" is observed as a client
sees it: every object keeps its resourceVersion, the objects read
back unchanged, and a watch opened before hears nothing until a real write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from tests.support.master_process import MasterProcess


def _kubectl_dir() -> Path | None:
    found = shutil.which("kubectl")
    return Path(os.path.realpath(found)).parent if found else None


KUBECTLS = [v for v in ("1.28", "1.32", "1.33") if (d := _kubectl_dir()) and (d / f"kubectl.{v}").exists()]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.28 / 1.32 / 1.33 are not installed"),
]

CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
SERVICES = "/api/v1/namespaces/{ns}/services"


def kubectl(master: MasterProcess, version: str, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    binary = _kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir), "KUBECTL_EXTERNAL_DIFF": "diff -u"}
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode in ok, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def http(master: MasterProcess) -> httpx.Client:
    token = master.client().config.token
    return httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, timeout=20, verify=master.tls())


def manifest(ns: str, value: str, node_port: int) -> str:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns}, "data": {"a": value}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fresh", "namespace": ns}, "data": {"b": "1"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": node_port}]},
        },
    ]
    return yaml.safe_dump_all(docs)


def list_version(http: httpx.Client, path: str) -> str:
    r = http.get(path)
    assert r.status_code == 200, r.text
    return str(r.json()["metadata"]["resourceVersion"])


def items_state(http: httpx.Client, path: str) -> list[tuple[str, str]]:
    """Each object's name and resourceVersion: what a write to the collection changes. (A list's
    own resourceVersion is the store's, which the master's Lease renewals move by themselves.)"""
    r = http.get(path)
    assert r.status_code == 200, r.text
    return sorted((i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in r.json()["items"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("version", KUBECTLS)
def test_diff_and_server_dry_runs_leave_the_store_untouched(master: MasterProcess, http: httpx.Client, tmp_path: Path, version: str) -> None:
    ns = f"dry-{version.replace('.', '-')}"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
    node_port = 30100 + int(version.split(".")[1])
    assert http.post(CONFIGMAPS.format(ns=ns), json={"metadata": {"name": "cfg"}, "data": {"a": "1"}}).status_code == 201
    before_cfg = http.get(CONFIGMAPS.format(ns=ns) + "/cfg").json()
    new = tmp_path / "new.yaml"
    new.write_text(manifest(ns, "2", node_port))
    revision = list_version(http, CONFIGMAPS.format(ns=ns))
    before_items = items_state(http, CONFIGMAPS.format(ns=ns))

    params = {"watch": "true", "resourceVersion": revision, "timeoutSeconds": "60"}
    with http.stream("GET", CONFIGMAPS.format(ns=ns), params=params) as watch, http.stream("GET", SERVICES.format(ns=ns), params=params) as svc_watch:
        assert watch.status_code == 200 and svc_watch.status_code == 200

        diff = kubectl(master, version, "diff", "-f", str(new), ok=(1,))  # 1: there are differences
        assert '-  a: "1"' in diff.stdout and '+  a: "2"' in diff.stdout, diff.stdout
        assert "fresh" in diff.stdout and f"nodePort: {node_port}" in diff.stdout

        applied = kubectl(master, version, "apply", "--dry-run=server", "-f", str(new)).stdout.splitlines()
        assert applied == [
            "configmap/cfg configured (server dry run)",
            "configmap/fresh created (server dry run)",
            "service/web created (server dry run)",
        ]
        deleted = kubectl(master, version, "delete", "--dry-run=server", "-n", ns, "configmap", "cfg").stdout
        assert deleted.strip() == 'configmap "cfg" deleted (server dry run)'

        # A typed command: 1.32 and 1.33 send its body as protobuf.
        made = kubectl(master, version, "create", "configmap", "x", "-n", ns, "--from-literal=a=1", "--dry-run=server", "-o", "yaml")
        assert "name: x" in made.stdout and "uid:" in made.stdout and "resourceVersion" not in made.stdout
        kubectl(master, version, "scale", "--dry-run=server", "-n", ns, "deployment", "nope", "--replicas=2", ok=(1,))  # checks run: not found

        assert items_state(http, CONFIGMAPS.format(ns=ns)) == before_items
        assert http.get(CONFIGMAPS.format(ns=ns) + "/x").status_code == 404
        assert http.get(CONFIGMAPS.format(ns=ns) + "/cfg").json() == before_cfg
        assert http.get(CONFIGMAPS.format(ns=ns) + "/fresh").status_code == 404
        assert http.get(SERVICES.format(ns=ns) + "/web").status_code == 404

        # The NodePort the dry run chose was never held; a real apply now takes it.
        kubectl(master, version, "apply", "-f", str(new))
        first = orjson.loads(next(line for line in watch.iter_lines() if line))
        assert (first["type"], first["object"]["metadata"]["name"]) == ("MODIFIED", "cfg")
        first_svc = orjson.loads(next(line for line in svc_watch.iter_lines() if line))
        assert (first_svc["type"], first_svc["object"]["spec"]["ports"][0]["nodePort"]) == ("ADDED", node_port)

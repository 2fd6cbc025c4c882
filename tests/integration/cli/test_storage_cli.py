"""kubectl 1.32 and 1.33 and `kajitori get` list StatefulSets, claims, volumes and classes with
Kubernetes' columns, against the shared master (no controllers: what the tables say of what is stored)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.integration.api.test_kubectl_protobuf import run, version
from tests.support.master_process import MasterProcess
from tests.support.session_names import session_name

__all__ = ["version"]  # the kubectl-version fixture, found here by name

pytestmark = pytest.mark.integration


def manifest(ns: str, pv_name: str) -> str:
    objects: list[dict[str, Any]] = [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": ns},
         "spec": {"serviceName": "nginx", "replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                  "template": {"metadata": {"labels": {"app": "nginx"}},
                               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                        "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
                  "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": ns},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
         "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "storageClassName": "manual",
                  "hostPath": {"path": "/srv/data"}}},
    ]  # fmt: skip
    return yaml.safe_dump_all(objects)


def test_kubectl_applies_and_lists_statefulsets_claims_volumes_and_classes(master: MasterProcess, version: str, tmp_path: Any) -> None:
    ns = session_name(f"sts-{version.replace('.', '')}")
    pv_name = session_name(f"pv-{version.replace('.', '')}")
    run(master, version, "create", "namespace", ns)
    path = tmp_path / "objects.yaml"
    path.write_text(manifest(ns, pv_name))
    applied = run(master, version, "apply", "-f", str(path)).stdout.splitlines()
    assert applied == ["statefulset.apps/web created", "persistentvolumeclaim/data created", f"persistentvolume/{pv_name} created"]

    listed = run(master, version, "get", "sts,pvc", "-n", ns).stdout
    assert "statefulset.apps/web   0/2" in listed
    lines = [line.split() for line in listed.splitlines()]
    assert ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"] in lines
    assert [c for c in lines[-1] if not c.endswith("s")][:4] == ["persistentvolumeclaim/data", "Pending", "local-path", "<unset>"]

    pv = run(master, version, "get", "pv", pv_name).stdout.splitlines()
    assert pv[0].split()[:9] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS"]
    assert pv[1].split()[:6] == [pv_name, "5Gi", "RWO,ROX", "Retain", "Pending", "manual"]

    sc = run(master, version, "get", "sc").stdout.splitlines()
    assert sc[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert sc[1].split()[:6] == ["local-path", "(default)", "kajitori.io/local-path", "Delete", "WaitForFirstConsumer", "false"]

    refused = run(master, version, "patch", "sts", "web", "-n", ns, "--type=merge", "-p", '{"spec":{"serviceName":"other"}}', check=False)
    assert refused.returncode != 0 and "updates to statefulset spec for fields other than" in refused.stderr
    assert run(master, version, "scale", "sts", "web", "-n", ns, "--replicas=3").stdout.strip() == "statefulset.apps/web scaled"
    run(master, version, "delete", "pv", pv_name, "--wait=false")


def test_kajitori_get_sts_pvc_pv_sc(kj: Any, ns: str, master: MasterProcess) -> None:
    pv_name = session_name("pv-kajitori")
    path = master.data_dir / f"{ns}.yaml"
    path.write_text(manifest(ns, pv_name))
    assert kj("apply", "-f", str(path)).exit_code == 0
    sts = kj("get", "sts", "-n", ns).stdout.splitlines()
    assert sts[0].split() == ["NAME", "READY", "AGE"] and sts[1].split()[:2] == ["web", "0/2"]
    pvc = kj("get", "pvc", "-n", ns).stdout.splitlines()
    assert pvc[1].split()[:2] == ["data", "Pending"]
    assert kj("get", "sc").stdout.splitlines()[1].split()[:2] == ["local-path", "(default)"]
    assert kj("get", "pv", pv_name).stdout.splitlines()[1].split()[:3] == [pv_name, "5Gi", "RWO,ROX"]

"""kubectl's `autoscale`, `get hpa` and `describe hpa` against the shared master (no controllers):
the HorizontalPodAutoscaler the server stored, the table's columns, and the rules it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.client import ApiClient
from tests.integration.api.test_kubectl_protobuf import run, version
from tests.support.master_process import MasterProcess

__all__ = ["version"]  # the kubectl-version fixture, found here by name

pytestmark = pytest.mark.integration


def test_kubectl_autoscale_makes_an_hpa_that_get_lists(master: MasterProcess, api: ApiClient, version: str) -> None:
    if version != "1.33":
        pytest.skip("kubectl before 1.33 autoscales through autoscaling/v1, not served yet")
    ns = f"hpa-{version.replace('.', '-')}"
    out = lambda *args: run(master, version, *args).stdout.strip()  # noqa: E731
    assert out("create", "namespace", ns) == f"namespace/{ns} created"
    assert out("create", "deployment", "web", "-n", ns, "--image=nginx") == "deployment.apps/web created"
    made = out("autoscale", "deployment", "web", "-n", ns, "--cpu-percent=50", "--min=1", "--max=5")
    assert made == "horizontalpodautoscaler.autoscaling/web autoscaled"
    hpa = api.get(HorizontalPodAutoscaler, "web", ns)
    ref = hpa.spec.scaleTargetRef
    assert (ref.kind, ref.name, hpa.spec.minReplicas, hpa.spec.maxReplicas) == ("Deployment", "web", 1, 5)
    cpu_targets = [
        (m.resource.name, m.resource.target.type, m.resource.target.averageUtilization)
        for m in hpa.spec.metrics or []
        if m.resource is not None
    ]
    assert cpu_targets == [("cpu", "Utilization", 50)]

    table = out("get", "hpa", "-n", ns).splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:2] == ["web", "Deployment/web"]
    assert table[1].split()[-4:-1] == ["1", "5", "0"]
    assert "horizontalpodautoscaler.autoscaling/web" in out("get", "all", "-n", ns)
    assert "Deployment/web" in out("describe", "hpa", "web", "-n", ns)

    bad = master.data_dir / f"bad-hpa-{ns}.yaml"
    bad.write_text(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad}\n"
        "spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 4, maxReplicas: 2}\n"
    )
    refused = run(master, version, "create", "-n", ns, "-f", str(bad), check=False)
    assert refused.returncode != 0 and "spec.maxReplicas" in refused.stderr, refused.stderr


def test_kajitori_gets_an_hpa_with_the_default_cpu_target(kj: Any, api: ApiClient, ns: str) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 4},
    }
    api.create(HorizontalPodAutoscaler.model_validate(hpa))
    table = kj("get", "hpa", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    # No metrics means Kubernetes' default, 80 % CPU, not yet measured.
    assert table[1].split()[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/80%", "2", "4", "0"]

"""kubectl's `autoscale`, `get hpa` and `describe hpa` against the shared master (no controllers):
the HorizontalPodAutoscaler the server stored, the table's columns, and the rules it refuses.
kubectl 1.28 and 1.32 autoscale through autoscaling/v1, which the server converts to the stored v2."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.autoscaling import HorizontalPodAutoscaler
from kajitori.client import ApiClient
from tests.integration.api.test_kubectl_protobuf import kubectl_binary, run, version
from tests.support.master_process import MasterProcess

__all__ = ["version"]  # the kubectl-version fixture, found here by name

pytestmark = pytest.mark.integration


def test_kubectl_autoscale_makes_an_hpa_that_get_lists(master: MasterProcess, api: ApiClient, version: str) -> None:
    autoscale_and_list(master, api, version)


def test_kubectl_1_28_autoscales_through_autoscaling_v1(master: MasterProcess, api: ApiClient) -> None:
    if kubectl_binary("1.28") is None:
        pytest.skip("kubectl.1.28 is not installed")
    autoscale_and_list(master, api, "1.28")


def autoscale_and_list(master: MasterProcess, api: ApiClient, version: str) -> None:
    # kubectl 1.28 and 1.32 create through autoscaling/v1 (served by conversion), 1.33 through v2.
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
    v1 = api.request("GET", f"/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers/web")
    assert (v1["apiVersion"], v1["spec"]["targetCPUUtilizationPercentage"], "metrics" in v1["spec"]) == ("autoscaling/v1", 50, False)

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

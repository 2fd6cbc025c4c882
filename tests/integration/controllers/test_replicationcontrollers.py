"""v1 ReplicationControllers against a real master with controllers and hollow nodes: kubectl 1.33 creates,
scales and lists them; the ReplicaSet's loop keeps their pods, adopts orphans, and the collector removes them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from kajitori.api.core import Pod, ReplicationController
from kajitori.api.meta import ObjectMeta
from kajitori.client import ApiClient, NotFoundError
from master.hollow_nodes import HollowCluster
from tests.integration.api.test_kubectl_protobuf import kubectl_binary, run
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import active, app_pods, ready
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

RC_YAML = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: kajitori/busybox:1
"""


def rc_status(client: ApiClient, name: str) -> tuple[int, int]:
    rc = client.get(ReplicationController, name, "default")
    return rc.status.replicas, rc.status.readyReplicas or 0


def test_kubectl_creates_scales_and_lists_a_replicationcontroller(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    if kubectl_binary("1.33") is None:
        pytest.skip("kubectl 1.33 is not installed")
    hollow(["node-a", "node-b"])
    binary = kubectl_binary("1.33")
    assert binary is not None
    created = subprocess.run(
        [binary, "create", "-f", "-"], input=RC_YAML, capture_output=True, text=True, timeout=90,
        env={"KUBECONFIG": str(cluster_master.kubeconfig), "HOME": str(cluster_master.data_dir), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "replicationcontroller/web created"
    rc = client.get(ReplicationController, "web", "default")
    assert rc.spec.selector == {"app": "web"}, "the selector defaults to the template's labels"
    wait_for(lambda: rc_status(client, "web") == (2, 2), what="2 ready replicas")

    assert run(cluster_master, "1.33", "scale", "rc", "web", "--replicas=4").stdout.strip() == "replicationcontroller/web scaled"
    wait_for(lambda: rc_status(client, "web") == (4, 4), what="4 ready replicas")
    assert len(ready(app_pods(client, "web"))) == 4
    assert all(p.metadata.ownerReferences and p.metadata.ownerReferences[0].kind == "ReplicationController" for p in app_pods(client, "web"))

    table = run(cluster_master, "1.33", "get", "rc", "web").stdout.split("\n")
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert table[1].split()[:4] == ["web", "4", "4", "4"]
    assert "replicationcontroller/web" in run(cluster_master, "1.33", "get", "all", "-o", "name").stdout.split()

    run(cluster_master, "1.33", "scale", "rc", "web", "--replicas=1")
    wait_for(lambda: len(app_pods(client, "web")) == 1 and rc_status(client, "web") == (1, 1), what="surplus pods deleted")


def test_an_orphan_is_adopted_and_a_cascading_delete_removes_the_pods(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a"])
    orphan = Pod.model_validate(
        {"metadata": {"name": "stray", "labels": {"app": "db"}}, "spec": {"containers": [{"name": "app", "image": "kajitori/busybox:1"}]}}
    )
    client.create(orphan, "default")
    wait_for(lambda: len(ready(app_pods(client, "db"))) == 1, what="the orphan runs")

    rc = ReplicationController.model_validate(
        {"metadata": ObjectMeta(name="db", namespace="default").to_dict(),
         "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "db"}},
                                               "spec": {"containers": [{"name": "app", "image": "kajitori/busybox:1"}]}}}}
    )  # fmt: skip
    made = client.create(rc)
    wait_for(lambda: rc_status(client, "db") == (2, 2), what="2 ready replicas")
    pods = active(app_pods(client, "db"))
    assert len(pods) == 2, "the orphan counts: one pod made, not two"
    stray = client.get(Pod, "stray", "default")
    assert stray.metadata.ownerReferences and stray.metadata.ownerReferences[0].uid == made.metadata.uid

    client.delete(ReplicationController, "db", "default")

    def gone() -> bool:
        try:
            client.get(ReplicationController, "db", "default")
        except NotFoundError:
            return not app_pods(client, "db")
        return False

    wait_for(gone, what="the ReplicationController and its pods collected")

"""StatefulSets on a real master with its controllers, scheduler and hollow nodes: order, claims per
ordinal kept across re-creation, scale-down from the highest ordinal, partitioned rolling updates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from kajitori.api.apps import ControllerRevision, StatefulSet, StatefulSetStatus
from kajitori.api.core import Pod
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim
from kajitori.client import ApiClient, NotFoundError
from kajitori.informer import Informer
from master.controllers.pod_state import is_ready
from master.hollow_nodes import HollowCluster
from tests.integration.api.test_kubectl_protobuf import kubectl_binary, run
from tests.integration.controllers.conftest import wait_for
from tests.support.master_process import MasterProcess
from tests.support.present import present

pytestmark = pytest.mark.integration


def statefulset(name: str = "web", *, replicas: int = 3, image: str = "nginx:1.25", claims: bool = True,
                update: dict[str, Any] | None = None, policy: str = "OrderedReady") -> StatefulSet:  # fmt: skip
    spec: dict[str, Any] = {
        "serviceName": "nginx",
        "replicas": replicas,
        "podManagementPolicy": policy,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "nginx", "image": image,
                                              "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}] if claims else None}]}},
    }  # fmt: skip
    if claims:
        spec["volumeClaimTemplates"] = [
            {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
        ]
    if update:
        spec["updateStrategy"] = update
    return StatefulSet.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": spec})


def get_pod(client: ApiClient, name: str) -> Pod | None:
    try:
        return client.get(Pod, name, "default")
    except NotFoundError:
        return None


class PodLog:
    """Every ADDED and DELETED pod of the namespace in the order the watch tells them, with a mark the test sets."""

    def __init__(self, client: ApiClient) -> None:
        self.lock = threading.Lock()
        self.mark = 0
        self.events: list[tuple[str, str, int]] = []
        self.informer: Informer[Pod] = Informer(client, Pod, namespace="default")
        self.informer.add_handlers(lambda p: self._note("ADDED", p), None, lambda p: self._note("DELETED", p))
        self.informer.start()
        assert self.informer.wait_synced(60.0)

    def _note(self, kind: str, pod: Pod) -> None:
        with self.lock:
            self.events.append((kind, pod.metadata.name or "", self.mark))

    def set_mark(self, value: int) -> None:
        with self.lock:
            self.mark = value

    def of(self, kind: str) -> list[tuple[str, int]]:
        with self.lock:
            return [(name, mark) for k, name, mark in self.events if k == kind]


def test_ordered_start_claims_per_ordinal_kept_across_recreation_and_ordered_scale_down(
    client: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    nodes = hollow(["node-a", "node-b"], auto_ready=False)
    log = PodLog(client)
    try:
        client.create(statefulset(replicas=3))
        # Each pod starts only once the one before it is Ready: the test makes web-N ready (mark N+1) itself.
        for ordinal in range(3):

            def running(o: int = ordinal) -> Pod | bool | None:
                return (p := get_pod(client, f"web-{o}")) and p.status.phase == "Running" and p

            pod = wait_for(running, what=f"web-{ordinal} Running", timeout=60)
            assert isinstance(pod, Pod)  # the check answers None, False or the pod
            log.set_mark(ordinal + 1)
            nodes.set_ready(pod, True)
        wait_for(lambda: client.get(StatefulSet, "web", "default").status.readyReplicas == 3, what="3 ready replicas")
        assert log.of("ADDED") == [("web-0", 0), ("web-1", 1), ("web-2", 2)]

        for ordinal in range(3):
            pod = client.get(Pod, f"web-{ordinal}", "default")
            assert (pod.spec.hostname, pod.spec.subdomain) == (f"web-{ordinal}", "nginx")
            assert (pod.metadata.labels or {})["statefulset.kubernetes.io/pod-name"] == f"web-{ordinal}"
            claim = client.get(PersistentVolumeClaim, f"www-web-{ordinal}", "default")
            assert claim.status.phase == "Bound" and claim.spec.storageClassName == "local-path"
            assert (claim.metadata.annotations or {})["volume.kubernetes.io/selected-node"] == pod.spec.nodeName
            volume = client.get(PersistentVolume, claim.spec.volumeName or "")
            assert volume.spec.hostPath is not None and volume.spec.hostPath.path == f"/var/lib/kajitori/volumes/{volume.metadata.name}"
            required = present(present(volume.spec.nodeAffinity).required)
            assert present(required.nodeSelectorTerms[0].matchExpressions)[0].values == [pod.spec.nodeName]
            assert volume.status.phase == "Bound" and present(volume.spec.claimRef).uid == claim.metadata.uid

        status = client.get(StatefulSet, "web", "default").status
        assert (status.replicas, status.currentReplicas, status.updatedReplicas) == (3, 3, 3)
        assert status.currentRevision == status.updateRevision and present(status.currentRevision).startswith("web-")
        revisions = client.list(ControllerRevision, "default").items
        assert [(r.metadata.name, r.revision) for r in revisions] == [(status.currentRevision, 1)]

        # A pod deleted comes back with the same name, the same claim, on the node of its volume.
        old = client.get(Pod, "web-1", "default")
        claim_uid = client.get(PersistentVolumeClaim, "www-web-1", "default").metadata.uid
        client.delete(Pod, "web-1", "default")
        new = wait_for(lambda: (p := get_pod(client, "web-1")) and p.metadata.uid != old.metadata.uid and p.status.phase == "Running" and p,
                       what="web-1 back", timeout=60)  # fmt: skip
        assert isinstance(new, Pod)  # the check answers None, False or the pod
        nodes.set_ready(new, True)
        assert new.spec.nodeName == old.spec.nodeName
        assert client.get(PersistentVolumeClaim, "www-web-1", "default").metadata.uid == claim_uid

        # Scale down: web-2 goes first, then web-1; their claims stay (whenScaled: Retain).
        wait_for(lambda: client.get(StatefulSet, "web", "default").status.readyReplicas == 3, what="3 ready again")
        client.patch(StatefulSet, "web", {"spec": {"replicas": 1}}, "default")
        wait_for(lambda: get_pod(client, "web-1") is None and get_pod(client, "web-2") is None, what="web-1 and web-2 gone")
        deleted = [name for name, _ in log.of("DELETED")]
        assert deleted[-2:] == ["web-2", "web-1"]
        assert {c.metadata.name for c in client.list(PersistentVolumeClaim, "default").items} == {"www-web-0", "www-web-1", "www-web-2"}
        wait_for(lambda: client.get(StatefulSet, "web", "default").status.replicas == 1, what="status replicas 1")
    finally:
        log.informer.stop()


def test_a_partitioned_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    hollow(["node-a"])
    client.create(statefulset("db", replicas=3, claims=False, update={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}))
    wait_for(lambda: client.get(StatefulSet, "db", "default").status.readyReplicas == 3, what="3 ready", timeout=60)
    first = client.get(StatefulSet, "db", "default").status.currentRevision

    client.patch(StatefulSet, "db", {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}, "default")

    def images() -> list[str | None]:
        found = [get_pod(client, f"db-{o}") for o in range(3)]
        return [p.spec.containers[0].image if p is not None and is_ready(p) else None for p in found]

    wait_for(lambda: images() == ["nginx:1.25", "nginx:1.25", "nginx:1.26"], what="only db-2 updated", timeout=60)
    # The status is written on its own turn: wait for the counts the pods already show (the
    # status may first say db-2 updated but not yet ready).
    status = wait_for(lambda: (s := client.get(StatefulSet, "db", "default").status).updatedReplicas == 1 and s.readyReplicas == 3 and s,
                      what="status of the partition")  # fmt: skip
    assert isinstance(status, StatefulSetStatus)  # the check answers False or the status
    assert status.currentRevision == first and status.updateRevision != first
    assert (status.currentReplicas, status.updatedReplicas, status.readyReplicas) == (2, 1, 3)
    if kubectl_binary("1.33") is not None:  # what kubectl's StatefulSet status viewer reads
        said = run(cluster_master, "1.33", "rollout", "status", "sts/db", "-n", "default", "--timeout=60s").stdout
        assert said.strip().endswith("partitioned roll out complete: 1 new pods have been updated...")

    client.patch(StatefulSet, "db", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}, "default")
    wait_for(lambda: images() == ["nginx:1.26"] * 3, what="all updated", timeout=90)
    status = wait_for(lambda: (s := client.get(StatefulSet, "db", "default").status).currentRevision == s.updateRevision
                      and s.readyReplicas == 3 and s, what="the update revision current")  # fmt: skip
    assert isinstance(status, StatefulSetStatus)  # the check answers False or the status
    assert (status.currentReplicas, status.updatedReplicas, status.readyReplicas) == (3, 3, 3)
    if kubectl_binary("1.33") is not None:
        said = run(cluster_master, "1.33", "rollout", "status", "sts/db", "-n", "default", "--timeout=60s").stdout
        # kubectl says "partitioned" whenever rollingUpdate is set, which Kubernetes' defaults always do.
        assert said.strip() == "partitioned roll out complete: 3 new pods have been updated..."
    numbers = sorted(r.revision for r in client.list(ControllerRevision, "default").items)
    assert numbers == [1, 2]
    if kubectl_binary("1.33") is not None:
        # kubectl's history and undo read and apply the ControllerRevisions as on Kubernetes.
        history = run(cluster_master, "1.33", "rollout", "history", "sts/db", "-n", "default").stdout.split()
        assert history[:4] == ["statefulset.apps/db", "REVISION", "CHANGE-CAUSE", "1"] and history[history.index("2") - 1] == "<none>"
        undone = run(cluster_master, "1.33", "rollout", "undo", "sts/db", "-n", "default").stdout.strip()
        assert undone == "statefulset.apps/db rolled back"
        wait_for(lambda: images() == ["nginx:1.25"] * 3, what="all back on nginx:1.25", timeout=90)
        assert sorted(r.revision for r in client.list(ControllerRevision, "default").items) == [2, 3]

    # Kajitori's own history and undo do the same.
    from typer.testing import CliRunner

    from cli.main import app

    kube = ["-n", "default", "--kubeconfig", str(cluster_master.kubeconfig)]
    numbers = sorted(r.revision for r in client.list(ControllerRevision, "default").items)
    invoked = CliRunner().invoke(app, ["rollout", "history", "statefulset/db", *kube])
    assert invoked.exit_code == 0, invoked.output
    assert invoked.output.split()[:3] == ["statefulset.apps/db", "REVISION", "CHANGE-CAUSE"] and invoked.output.split()[3::2] == [str(n) for n in numbers]
    other = "nginx:1.26" if images()[0] == "nginx:1.25" else "nginx:1.25"
    invoked = CliRunner().invoke(app, ["rollout", "undo", "sts/db", *kube])
    assert (invoked.exit_code, invoked.output.strip()) == (0, "statefulset.apps/db rolled back")
    wait_for(lambda: images() == [other] * 3, what=f"all on {other}", timeout=90)


def claim_names(client: ApiClient) -> set[str]:
    return {c.metadata.name or "" for c in client.list(PersistentVolumeClaim, "default").items if c.metadata.deletionTimestamp is None}


def test_a_delete_retention_policy_removes_claims_on_scale_down_and_with_the_set(
    client: ApiClient, hollow: Callable[..., HollowCluster]
) -> None:
    hollow(["node-a"])
    body = statefulset("cache", replicas=2, policy="Parallel")
    body.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = "Delete"
    body.spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete"
    client.create(body)
    wait_for(lambda: client.get(StatefulSet, "cache", "default").status.readyReplicas == 2, what="2 ready", timeout=60)
    assert claim_names(client) == {"www-cache-0", "www-cache-1"}
    owners = client.get(PersistentVolumeClaim, "www-cache-0", "default").metadata.ownerReferences or []
    assert [(o.kind, o.name, o.controller) for o in owners] == [("StatefulSet", "cache", False)]

    client.patch(StatefulSet, "cache", {"spec": {"replicas": 1}}, "default")
    wait_for(lambda: claim_names(client) == {"www-cache-0"}, what="www-cache-1 deleted after scale-down")
    client.delete(StatefulSet, "cache", "default")
    wait_for(lambda: not claim_names(client) and get_pod(client, "cache-0") is None, what="claims and pods gone with the set")

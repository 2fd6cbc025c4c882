"""The PV controller's choices: which volume a claim gets, phases, provisioning, protection finalizers."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.core import Node, Pod
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from master.controllers.context import LoopContext
from master.controllers.persistentvolume import PersistentVolumeController
from master.controllers.volume_binding import best_volume, volume_phase
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


def claim(name: str = "data", *, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), sc: str | None = "",
          volume: str | None = None, annotations: dict[str, str] | None = None, deleting: bool = False,
          selector: dict[str, Any] | None = None) -> PersistentVolumeClaim:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1",
                            "annotations": annotations, "finalizers": ["kubernetes.io/pvc-protection"]}  # fmt: skip
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, "storageClassName": sc,
                            "volumeName": volume, "selector": selector}  # fmt: skip
    return PersistentVolumeClaim.model_validate({"metadata": meta, "spec": spec, "status": {"phase": "Bound" if volume else "Pending"}})


def pv(name: str, size: str = "5Gi", *, modes: tuple[str, ...] = ("ReadWriteOnce",), sc: str = "", phase: str = "Available",
       claim_ref: dict[str, Any] | None = None, node: str | None = None, labels: dict[str, str] | None = None,
       policy: str = "Retain", annotations: dict[str, str] | None = None) -> PersistentVolume:  # fmt: skip
    spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": sc,
                            "hostPath": {"path": f"/srv/{name}"}, "claimRef": claim_ref, "persistentVolumeReclaimPolicy": policy}  # fmt: skip
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}  # fmt: skip
    meta = {"name": name, "resourceVersion": "1", "labels": labels, "annotations": annotations}
    return PersistentVolume.model_validate({"metadata": meta, "spec": spec, "status": {"phase": phase}})


REF = {"namespace": "default", "name": "data", "uid": "uid-data"}


@pytest.mark.parametrize(
    ("volumes", "the_claim", "node", "chosen"),
    [
        pytest.param([pv("big", "10Gi"), pv("small", "2Gi"), pv("tiny", "500Mi")], claim(), None, "small", id="smallest-that-fits"),
        pytest.param([pv("a", "10Gi", sc="fast"), pv("b", "2Gi", sc="slow")], claim(sc="fast"), None, "a", id="same-class"),
        pytest.param([pv("a", "10Gi", sc="fast")], claim(sc=""), None, None, id="no-class-takes-no-classed-volume"),
        pytest.param([pv("rwo", "1Gi"), pv("rwx", "8Gi", modes=("ReadWriteOnce", "ReadWriteMany"))],
                     claim(modes=("ReadWriteMany",)), None, "rwx", id="access-modes-superset"),
        pytest.param([pv("taken", "1Gi", claim_ref={"namespace": "default", "name": "other", "uid": "u9"}, phase="Bound"), pv("free", "3Gi")],
                     claim(), None, "free", id="skips-claimed"),
        pytest.param([pv("free", "1Gi"), pv("mine", "9Gi", claim_ref={"namespace": "default", "name": "data"})],
                     claim(), None, "mine", id="pre-bound-wins"),
        pytest.param([pv("released", "1Gi", phase="Released")], claim(), None, None, id="released-not-reused"),
        pytest.param([pv("a", "1Gi", labels={"tier": "gold"}), pv("b", "1Gi", labels={"tier": "iron"})],
                     claim(selector={"matchLabels": {"tier": "iron"}}), None, "b", id="selector"),
        pytest.param([pv("n1", "1Gi", node="node1"), pv("n2", "1Gi", node="node2")], claim(), ("node2", {"kubernetes.io/hostname": "node2"}),
                     "n2", id="node-affinity"),
    ],
)
def test_the_volume_a_claim_gets(volumes: list[PersistentVolume], the_claim: PersistentVolumeClaim,
                                 node: tuple[str, dict[str, str]] | None, chosen: str | None) -> None:  # fmt: skip
    found = best_volume(the_claim, volumes, node)
    assert (found.metadata.name if found else None) == chosen


@pytest.mark.parametrize(
    ("volume", "the_claim", "phase"),
    [
        pytest.param(pv("a"), None, "Available", id="free"),
        pytest.param(pv("a", claim_ref=REF), claim(volume="a"), "Bound", id="bound"),
        pytest.param(pv("a", claim_ref=REF, phase="Bound"), None, "Released", id="claim-gone"),
        pytest.param(pv("a", claim_ref={**REF, "uid": "old"}, phase="Bound"), claim(volume="a"), "Released", id="claim-recreated"),
        pytest.param(pv("a", claim_ref={"namespace": "default", "name": "data"}), None, "Available", id="pre-bound-waiting"),
        pytest.param(pv("a", claim_ref=REF, phase="Pending"), claim(), "Pending", id="binding-under-way"),
    ],
)
def test_volume_phases(volume: PersistentVolume, the_claim: PersistentVolumeClaim | None, phase: str) -> None:
    assert volume_phase(volume, the_claim) == phase


def controller() -> tuple[PersistentVolumeController, FakeInformers, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctx = LoopContext(client=client, informers=informers, recorder=recorder)
    return PersistentVolumeController(ctx), informers, client, recorder


def test_an_immediate_claim_is_bound_volume_first_then_claim() -> None:
    ctrl, informers, client, _ = controller()
    informers.informer(PersistentVolumeClaim).add(claim())
    informers.informer(PersistentVolume).add(pv("pv1"))
    ctrl.reconcile("claim:default/data")
    assert client.verbs() == [
        ("update", "PersistentVolume", "pv1"),
        ("update_status", "PersistentVolume", "pv1"),
        ("update", "PersistentVolumeClaim", "data"),
        ("update_status", "PersistentVolumeClaim", "data"),
    ]
    volume, bound_claim, status = client.writes[0][3], client.writes[2][3], client.writes[3][3]
    assert volume.spec.claimRef.uid == "uid-data" and client.writes[1][3].status.phase == "Bound"
    assert bound_claim.spec.volumeName == "pv1"
    assert (status.status.phase, status.status.capacity, status.status.accessModes) == ("Bound", {"storage": "5Gi"}, ["ReadWriteOnce"])


def local_path() -> StorageClass:
    return StorageClass.model_validate({"metadata": {"name": "local-path"}, "provisioner": "kajitori.io/local-path",
                                        "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"})  # fmt: skip


def test_a_wait_for_first_consumer_claim_waits_then_is_provisioned_on_the_selected_node() -> None:
    ctrl, informers, client, recorder = controller()
    informers.informer(StorageClass).add(local_path())
    informers.informer(Node).add(Node.model_validate({"metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"},
                                                                   "annotations": {"kajitori.io/volumes-root": "/tmp/vols"}}}))  # fmt: skip
    informers.informer(PersistentVolumeClaim).add(claim(sc="local-path"))
    ctrl.reconcile("claim:default/data")
    assert client.writes == []  # no consumer yet
    assert recorder.events == [("Normal", "data", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")]
    recorder.events.clear()
    informers.informer(PersistentVolumeClaim).add(claim(sc="local-path", annotations={"volume.kubernetes.io/selected-node": "node1"}))
    ctrl.reconcile("claim:default/data")
    assert client.verbs()[0] == ("create", "PersistentVolume", "pvc-uid-data")
    made = client.writes[0][3]
    assert made.spec.hostPath.path == "/tmp/vols/pvc-uid-data" and made.spec.hostPath.type == "DirectoryOrCreate"
    assert made.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values == ["node1"]
    assert (made.spec.persistentVolumeReclaimPolicy, made.spec.storageClassName) == ("Delete", "local-path")
    assert made.spec.claimRef.uid == "uid-data"
    assert ("update", "PersistentVolumeClaim", "data") in client.verbs()
    assert recorder.events[0][2] == "ProvisioningSucceeded"


def test_a_claim_no_volume_fits_stays_pending_and_says_why() -> None:
    ctrl, informers, client, recorder = controller()
    informers.informer(PersistentVolumeClaim).add(claim(size="50Gi"))
    informers.informer(PersistentVolume).add(pv("small", "1Gi"))
    ctrl.reconcile("claim:default/data")
    assert client.writes == []
    assert recorder.events == [("Normal", "data", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")]


def test_a_claim_in_use_keeps_its_finalizer_until_its_pod_is_gone() -> None:
    ctrl, informers, client, _ = controller()
    informers.informer(PersistentVolumeClaim).add(claim(volume="pv1", deleting=True))
    user = Pod.model_validate({"metadata": {"name": "app", "namespace": "default", "uid": "p1"},
                               "spec": {"containers": [{"name": "c", "image": "i"}],
                                        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]},
                               "status": {"phase": "Running"}})  # fmt: skip
    informers.informer(Pod).add(user)
    ctrl.reconcile("claim:default/data")
    assert client.writes == []
    informers.informer(Pod).objects.clear()
    ctrl.reconcile("claim:default/data")
    assert client.verbs() == [("update", "PersistentVolumeClaim", "data")]
    assert client.writes[0][3].metadata.finalizers == []


@pytest.mark.parametrize(
    ("policy", "annotations", "phase"),
    [
        pytest.param("Retain", None, "Released", id="retain-kept"),
        pytest.param("Delete", {"pv.kubernetes.io/provisioned-by": "kajitori.io/local-path"}, "Released", id="local-path-left-to-agent"),
        pytest.param("Delete", None, "Failed", id="delete-without-deleter"),
    ],
)
def test_a_released_volume_follows_its_reclaim_policy(policy: str, annotations: dict[str, str] | None, phase: str) -> None:
    ctrl, informers, client, _ = controller()
    informers.informer(PersistentVolume).add(pv("pv1", claim_ref=REF, phase="Bound", policy=policy, annotations=annotations))
    ctrl.reconcile("volume:pv1")
    assert client.verbs() == [("update_status", "PersistentVolume", "pv1")]
    assert client.writes[0][3].status.phase == phase


def test_a_volume_being_deleted_keeps_its_finalizer_while_bound() -> None:
    ctrl, informers, client, _ = controller()
    volume = pv("pv1", claim_ref=REF, phase="Bound")
    volume.metadata.deletionTimestamp = "2024-01-01T00:00:00Z"
    volume.metadata.finalizers = ["kubernetes.io/pv-protection"]
    informers.informer(PersistentVolume).add(volume)
    informers.informer(PersistentVolumeClaim).add(claim(volume="pv1"))
    ctrl.reconcile("volume:pv1")
    assert client.writes == []
    informers.informer(PersistentVolumeClaim).objects.clear()
    ctrl.reconcile("volume:pv1")
    assert client.verbs() == [("update", "PersistentVolume", "pv1")] and client.writes[0][3].metadata.finalizers == []

"""PersistentVolumes and claims on a real master with its controllers, scheduler and hollow nodes:
binding by class, size and access modes, phases, the protection finalizer, unbound claims in the
scheduler's words, and local-path provisioning on the node a pod lands on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kajitori.api.core import Pod
from kajitori.api.storage import PersistentVolume, PersistentVolumeClaim
from kajitori.client import ApiClient, NotFoundError
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.support.present import present

pytestmark = pytest.mark.integration


def volume(name: str, size: str, *, node: str | None = None) -> PersistentVolume:
    spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                            "hostPath": {"path": f"/srv/{name}"}}  # fmt: skip
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}  # fmt: skip
    return PersistentVolume.model_validate({"metadata": {"name": name}, "spec": spec})


def claim(name: str, size: str, storage_class: str | None = "manual") -> PersistentVolumeClaim:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return PersistentVolumeClaim.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": spec})


def pod_using(name: str, claim_name: str) -> Pod:
    return Pod.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "kajitori/busybox:1"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]},
    })  # fmt: skip


def phase(client: ApiClient, model: type[PersistentVolume] | type[PersistentVolumeClaim], name: str) -> str | None:
    try:
        found = client.get(model, name, "default" if model is PersistentVolumeClaim else None)
    except NotFoundError:
        return None
    return found.status.phase


def exists(client: ApiClient, model: Any, name: str, namespace: str | None = "default") -> bool:
    try:
        client.get(model, name, namespace)
    except NotFoundError:
        return False
    return True


def scheduled_message(client: ApiClient, name: str) -> str:
    pod = client.get(Pod, name, "default")
    return next((c.message or "" for c in pod.status.conditions or [] if c.type == "PodScheduled"), "")


def test_binding_phases_protection_and_the_scheduler(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b"])
    # The volumes first, each seen by the controller (Available) before any claim could take one: a
    # claim waiting while they are created one by one is bound to the first that fits (pv-10g, once in
    # a loaded run), as Kubernetes' binder does; choosing the smallest needs them all seen.
    for pv in (volume("pv-1g", "1Gi"), volume("pv-10g", "10Gi"), volume("pv-5g", "5Gi", node="node-b")):
        client.create(pv)
    volumes = ("pv-1g", "pv-10g", "pv-5g")
    wait_for(lambda: all(phase(client, PersistentVolume, name) == "Available" for name in volumes), what="the volumes Available")

    # A pod whose claim has no volume (none is large enough) waits, in Kubernetes' words.
    client.create(claim("huge", "50Gi"))
    client.create(pod_using("waiter", "huge"))
    wait_for(lambda: "pod has unbound immediate PersistentVolumeClaims" in scheduled_message(client, "waiter"), what="unschedulable waiter")
    assert phase(client, PersistentVolumeClaim, "huge") == "Pending"

    # The smallest volume that fits is bound; the pod follows the volume to its node.
    client.create(claim("data", "3Gi"))
    client.create(pod_using("db", "data"))
    wait_for(lambda: phase(client, PersistentVolumeClaim, "data") == "Bound", what="data Bound")
    bound = client.get(PersistentVolumeClaim, "data", "default")
    assert bound.spec.volumeName == "pv-5g" and bound.status.capacity == {"storage": "5Gi"}
    assert bound.status.accessModes == ["ReadWriteOnce"]
    wait_for(lambda: phase(client, PersistentVolume, "pv-5g") == "Bound", what="pv-5g Bound")
    assert phase(client, PersistentVolume, "pv-1g") == "Available"
    wait_for(lambda: client.get(Pod, "db", "default").spec.nodeName == "node-b", what="db on node-b (its volume's node)")

    # In use: deleting the claim leaves it Terminating until its pod is gone.
    client.delete(PersistentVolumeClaim, "data", "default")
    terminating = client.get(PersistentVolumeClaim, "data", "default")
    assert terminating.metadata.deletionTimestamp and terminating.metadata.finalizers == ["kubernetes.io/pvc-protection"]
    client.delete(Pod, "db", "default")
    wait_for(lambda: not exists(client, PersistentVolumeClaim, "data"), what="the claim gone once its pod is")
    # Retain: the volume is Released and kept; its own finalizer goes once no claim holds it.
    wait_for(lambda: phase(client, PersistentVolume, "pv-5g") == "Released", what="pv-5g Released")
    client.delete(PersistentVolume, "pv-5g")
    wait_for(lambda: not exists(client, PersistentVolume, "pv-5g", None), what="pv-5g deleted")


def test_local_path_provisioning_on_the_node_the_pod_lands_on(client: ApiClient, hollow: Callable[..., HollowCluster]) -> None:
    hollow(["node-a", "node-b", "node-c"])
    client.create(claim("cache", "2Gi", storage_class=None))
    made = client.get(PersistentVolumeClaim, "cache", "default")
    assert made.spec.storageClassName == "local-path"
    client.create(pod_using("app", "cache"))
    pod = wait_for(lambda: (p := client.get(Pod, "app", "default")).spec.nodeName and p.status.phase == "Running" and p, what="app Running")
    assert isinstance(pod, Pod)  # the check answers None, "", False or the pod
    bound = client.get(PersistentVolumeClaim, "cache", "default")
    assert bound.status.phase == "Bound" and bound.spec.volumeName == f"pvc-{made.metadata.uid}"
    assert (bound.metadata.annotations or {})["volume.kubernetes.io/selected-node"] == pod.spec.nodeName
    pv = client.get(PersistentVolume, bound.spec.volumeName or "")
    assert pv.spec.persistentVolumeReclaimPolicy == "Delete" and pv.spec.capacity == {"storage": "2Gi"}
    assert (pv.metadata.annotations or {})["pv.kubernetes.io/provisioned-by"] == "kajitori.io/local-path"
    required = present(present(pv.spec.nodeAffinity).required)
    assert present(required.nodeSelectorTerms[0].matchExpressions)[0].values == [pod.spec.nodeName]

    # The claim goes: the volume is Released, for its node's agent to remove (hollow nodes have no disk).
    client.delete(Pod, "app", "default")
    client.delete(PersistentVolumeClaim, "cache", "default")
    wait_for(lambda: phase(client, PersistentVolume, pv.metadata.name or "") == "Released", what="the provisioned volume Released")

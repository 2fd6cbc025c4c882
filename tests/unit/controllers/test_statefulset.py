"""The StatefulSet controller's writes for one pass, on filled caches."""

from __future__ import annotations

from typing import Any

from kajitori.api.apps import ControllerRevision, StatefulSet
from kajitori.api.core import Pod
from kajitori.api.storage import PersistentVolumeClaim
from master.controllers.context import LoopContext
from master.controllers.statefulset import StatefulSetController
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "www", "mountPath": "/data"}]}]},
}


def web(replicas: int = 2) -> StatefulSet:
    return StatefulSet.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid", "generation": 1, "resourceVersion": "1"},
        "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE,
                 "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
    })  # fmt: skip


def controller() -> tuple[StatefulSetController, FakeInformers, RecordingClient]:
    informers, client = FakeInformers(), RecordingClient()
    return StatefulSetController(LoopContext(client=client, informers=informers, recorder=RecordingRecorder())), informers, client


def test_the_first_pass_makes_a_revision_the_claim_then_web_0_only() -> None:
    ctrl, informers, client = controller()
    informers.informer(StatefulSet).add(web())
    ctrl.reconcile("default/web")
    creates = [(kind, name) for verb, kind, name, _ in client.writes if verb == "create"]
    revision = creates[0][1]
    assert creates == [("ControllerRevision", revision), ("PersistentVolumeClaim", "www-web-0"), ("Pod", "web-0")]
    pod = next(body for verb, kind, _n, body in client.writes if kind == "Pod")
    assert (pod.spec.hostname, pod.spec.subdomain) == ("web-0", "nginx")
    assert [(v.name, v.persistentVolumeClaim.claimName) for v in pod.spec.volumes] == [("www", "www-web-0")]
    assert pod.metadata.labels == {"app": "web", "controller-revision-hash": revision,
                                   "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0"}  # fmt: skip
    assert [r.kind for r in pod.metadata.ownerReferences] == ["StatefulSet"]


def test_a_claim_deleted_under_a_live_pod_is_made_again() -> None:
    ctrl, informers, client = controller()
    sts = web(replicas=1)
    informers.informer(StatefulSet).add(sts)
    ctrl.reconcile("default/web")
    revision = next(body for verb, kind, _n, body in client.writes if kind == "ControllerRevision")
    informers.informer(ControllerRevision).add(revision.model_copy(update={"metadata": revision.metadata.model_copy(update={"uid": "r1"})}))
    pod = next(body for verb, kind, _n, body in client.writes if kind == "Pod").model_copy(deep=True)
    pod.metadata.uid = "pod-uid"
    pod.status.phase = "Running"
    informers.informer(Pod).add(pod)
    client.writes.clear()
    ctrl.reconcile("default/web")
    assert [(v, k, n) for v, k, n, _ in client.writes if v == "create"] == [("create", "PersistentVolumeClaim", "www-web-0")]
    informers.informer(PersistentVolumeClaim).add(PersistentVolumeClaim.model_validate({
        "metadata": {"name": "www-web-0", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))  # fmt: skip
    client.writes.clear()
    ctrl.reconcile("default/web")
    assert [w for w in client.writes if w[0] == "create"] == []

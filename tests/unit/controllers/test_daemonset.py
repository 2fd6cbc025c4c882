"""DaemonSet placement (which nodes, which pod) and single reconcile passes against a filled cache."""

from __future__ import annotations

from typing import Any

import pytest

from kajitori.api.apps import DaemonSet
from kajitori.api.core import Node, Pod, PodTemplateSpec
from kajitori.clock import FakeClock
from master.controllers.context import LoopContext
from master.controllers.daemon_placement import (
    REVISION_HASH_LABEL,
    Placement,
    daemon_pod,
    placement,
    target_node,
    with_node_affinity,
)
from master.controllers.daemonset import DaemonSetController, max_unavailable, revision_hash
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder

LABELS = {"app": "agent"}


def template(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "agent", "image": "img:1"}], **spec}}


def daemonset(*, strategy: dict[str, Any] | None = None, image: str = "img:1", **spec: Any) -> DaemonSet:
    tmpl = template(**spec)
    tmpl["spec"]["containers"][0]["image"] = image
    body: dict[str, Any] = {"selector": {"matchLabels": LABELS}, "template": tmpl}
    if strategy:
        body["updateStrategy"] = strategy
    return DaemonSet.model_validate({
        "metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid", "generation": 3, "resourceVersion": "7"},
        "spec": body,
    })  # fmt: skip


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         unschedulable: bool = False, ready: str = "True") -> Node:  # fmt: skip
    return Node.model_validate({
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints, "unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    })  # fmt: skip


def daemon(ds: DaemonSet, name: str, node_name: str, *, revision: str | None = None, ready: bool = True,
           bound: bool = True, deleting: bool = False, phase: str = "Running", created: str = "2024-01-01T00:00:00Z") -> Pod:  # fmt: skip
    pod = daemon_pod(ds, node_name, revision or revision_hash(ds))
    pod.metadata.name = name
    pod.metadata.uid = f"uid-{name}"
    pod.metadata.creationTimestamp = created
    pod.metadata.deletionTimestamp = "2024-01-01T00:01:00Z" if deleting else None
    if bound:
        pod.spec.nodeName = node_name
    return Pod.model_validate({
        **pod.to_dict(),
        "status": {"phase": phase if bound else "Pending",
                   "conditions": [{"type": "Ready", "status": "True" if ready and bound else "False",
                                   "lastTransitionTime": "2024-01-01T00:00:00Z"}]},
    })  # fmt: skip


def tmpl(**spec: Any) -> PodTemplateSpec:
    return PodTemplateSpec.model_validate(template(**spec))


NO_SCHEDULE = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
NO_EXECUTE = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
TOLERATE_GPU = [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]
UNREACHABLE = [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]  # fmt: skip
NOT_READY_EXECUTE = [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]
DISK_PRESSURE = [{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}]
SSD_AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}  # fmt: skip
RUN, STAY, NEITHER = Placement(True, True), Placement(False, True), Placement(False, False)


@pytest.mark.parametrize(
    ("template_spec", "the_node", "expected"),
    [
        pytest.param({}, node("n1"), RUN, id="plain-node"),
        pytest.param({}, node("n1", ready="Unknown"), RUN, id="not-ready-node-still-counts"),
        pytest.param({}, node("n1", unschedulable=True), RUN, id="cordoned-node-gets-one"),
        pytest.param({"nodeSelector": {"role": "log"}}, node("n1", labels={"role": "log"}), RUN, id="node-selector-match"),
        pytest.param({"nodeSelector": {"role": "log"}}, node("n1", labels={"role": "web"}), NEITHER, id="node-selector-miss"),
        pytest.param({"affinity": SSD_AFFINITY}, node("n1", labels={"disk": "ssd"}), RUN, id="affinity-match"),
        pytest.param({"affinity": SSD_AFFINITY}, node("n1", labels={"disk": "hdd"}), NEITHER, id="affinity-miss"),
        pytest.param({"nodeName": "n2"}, node("n1"), NEITHER, id="template-names-another-node"),
        pytest.param({}, node("n1", taints=[NO_SCHEDULE]), STAY, id="no-schedule-taint-keeps-existing"),
        pytest.param({}, node("n1", taints=[NO_EXECUTE]), NEITHER, id="no-execute-taint-evicts"),
        pytest.param({"tolerations": TOLERATE_GPU}, node("n1", taints=[NO_SCHEDULE, NO_EXECUTE]), RUN, id="tolerated"),
        pytest.param({}, node("n1", taints=UNREACHABLE), STAY, id="unreachable-stays-not-new"),
        pytest.param({}, node("n1", taints=NOT_READY_EXECUTE), RUN, id="not-ready-noexecute-tolerated"),
        pytest.param({}, node("n1", taints=DISK_PRESSURE), RUN, id="disk-pressure-tolerated"),
    ],
)
def test_placement(template_spec: dict[str, Any], the_node: Node, expected: Placement) -> None:
    assert placement(tmpl(**template_spec), the_node) == expected


def test_daemon_pod_names_its_node_and_tolerates_what_kubernetes_daemon_pods_tolerate() -> None:
    ds = daemonset(tolerations=TOLERATE_GPU)
    pod = daemon_pod(ds, "n2", "abc")
    assert pod.spec.nodeName is None, "the scheduler binds it"
    required = pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution  # type: ignore[union-attr]
    assert [t.to_dict() for t in required.nodeSelectorTerms] == [  # type: ignore[union-attr]
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
    ]
    assert {(t.key, t.operator, t.effect) for t in pod.spec.tolerations or []} == {
        ("dedicated", "Equal", None),
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute"),
        ("node.kubernetes.io/unreachable", "Exists", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule"),
    }
    assert all(t.tolerationSeconds is None for t in pod.spec.tolerations or []), "no time limit: they stay"
    assert pod.metadata.labels == {**LABELS, REVISION_HASH_LABEL: "abc"}
    assert [(r.kind, r.name, r.controller) for r in pod.metadata.ownerReferences or []] == [("DaemonSet", "agent", True)]
    assert target_node(pod) == "n2"
    assert ds.spec.template.spec.affinity is None, "the template is not changed"


def test_node_affinity_keeps_the_templates_expressions() -> None:
    affinity = tmpl(affinity=SSD_AFFINITY).spec.affinity
    required = with_node_affinity(affinity, "n1").nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution  # type: ignore[union-attr]
    term = required.nodeSelectorTerms[0].to_dict()  # type: ignore[union-attr]
    assert term == {
        "matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}],
        "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
    }


@pytest.mark.parametrize(
    ("value", "nodes", "expected"),
    [pytest.param(1, 5, 1, id="one"), pytest.param(3, 5, 3, id="three"), pytest.param("30%", 5, 2, id="percent-rounds-up"),
     pytest.param("10%", 3, 1, id="at-least-one"), pytest.param(0, 5, 1, id="zero-with-surge")],
)  # fmt: skip
def test_max_unavailable(value: int | str, nodes: int, expected: int) -> None:
    ds = daemonset(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": value, "maxSurge": 0 if value else 1}})
    assert max_unavailable(ds, nodes) == expected


# -- one reconcile pass ----------------------------------------------------------------------


def controller_with(ds: DaemonSet, nodes: list[Node], pods: list[Pod]) -> tuple[DaemonSetController, RecordingClient, RecordingRecorder]:
    informers, client, recorder = FakeInformers(), RecordingClient(), RecordingRecorder()
    ctrl = DaemonSetController(LoopContext(client=client, informers=informers, recorder=recorder, clock=FakeClock(1_800_000_000.0)))
    informers.informer(DaemonSet).add(ds)
    informers.informer(Node).add(*nodes)
    informers.informer(Pod).add(*pods)
    return ctrl, client, recorder


def created_for(client: RecordingClient) -> list[str]:
    return sorted(target_node(obj) or "" for verb, kind, _, obj in client.writes if verb == "create" and kind == "Pod")


def deleted(client: RecordingClient) -> list[tuple[str, Any]]:
    return sorted((name, kw.get("grace_period_seconds")) for verb, _, name, kw in client.writes if verb == "delete")


def test_one_pod_is_created_for_each_eligible_node() -> None:
    ds = daemonset(nodeSelector={"logs": "yes"})
    nodes = [node("n1", labels={"logs": "yes"}), node("n2", labels={"logs": "yes"}, unschedulable=True), node("n3")]
    ctrl, client, recorder = controller_with(ds, nodes, [])
    ctrl.reconcile("default/agent")
    assert created_for(client) == ["n1", "n2"]
    assert [e[2] for e in recorder.events] == ["SuccessfulCreate", "SuccessfulCreate"]
    status = next(obj for verb, _, _, obj in client.writes if verb == "update_status").status
    assert (status.desiredNumberScheduled, status.currentNumberScheduled, status.observedGeneration) == (2, 0, 3)


def test_misplaced_extra_failed_and_orphaned_pods_are_deleted() -> None:
    ds = daemonset(nodeSelector={"logs": "yes"})
    nodes = [node("n1", labels={"logs": "yes"}), node("n2"), node("n3", labels={"logs": "yes"})]
    pods = [
        daemon(ds, "on-n1", "n1"),
        daemon(ds, "on-n1-younger", "n1", created="2024-01-02T00:00:00Z"),
        daemon(ds, "on-n2", "n2"),  # n2 lost its label
        daemon(ds, "failed-on-n3", "n3", phase="Failed"),
        daemon(ds, "on-gone-node", "n9"),
    ]
    ctrl, client, _ = controller_with(ds, nodes, pods)
    ctrl.reconcile("default/agent")
    assert deleted(client) == [("failed-on-n3", None), ("on-gone-node", 0), ("on-n1-younger", None), ("on-n2", None)]
    assert created_for(client) == [], "n3 gets its new pod once the failed one is gone"


def test_a_node_whose_pod_is_terminating_waits_for_it() -> None:
    ds = daemonset()
    ctrl, client, _ = controller_with(ds, [node("n1")], [daemon(ds, "old", "n1", deleting=True)])
    ctrl.reconcile("default/agent")
    assert [v for v in client.verbs() if v[0] != "update_status"] == []


def test_an_unbound_pod_counts_for_the_node_its_affinity_names() -> None:
    ds = daemonset()
    ctrl, client, _ = controller_with(ds, [node("n1")], [daemon(ds, "pending", "n1", bound=False)])
    ctrl.reconcile("default/agent")
    assert [v for v in client.verbs() if v[0] != "update_status"] == []


def test_rolling_update_deletes_old_pods_up_to_max_unavailable() -> None:
    ds = daemonset(image="img:2", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}})
    nodes = [node(f"n{i}") for i in range(1, 6)]
    pods = [daemon(ds, "new-n1", "n1", ready=False)]  # up to date but not available yet: 1 unavailable
    pods += [daemon(ds, f"old-n{i}", f"n{i}", revision="old") for i in range(2, 6)]
    ctrl, client, _ = controller_with(ds, nodes, pods)
    ctrl.reconcile("default/agent")
    assert deleted(client) == [("old-n2", None)], "one more node may be unavailable"


def test_rolling_update_replaces_an_unavailable_old_pod_at_once() -> None:
    ds = daemonset(image="img:2")  # maxUnavailable 1
    pods = [daemon(ds, "old-n1", "n1", revision="old"), daemon(ds, "broken-n2", "n2", revision="old", ready=False)]
    ctrl, client, _ = controller_with(ds, [node("n1"), node("n2")], pods)
    ctrl.reconcile("default/agent")
    assert deleted(client) == [("broken-n2", None)]


def test_on_delete_leaves_old_pods_alone() -> None:
    ds = daemonset(image="img:2", strategy={"type": "OnDelete"})
    ctrl, client, _ = controller_with(ds, [node("n1")], [daemon(ds, "old-n1", "n1", revision="old")])
    ctrl.reconcile("default/agent")
    assert [v for v in client.verbs() if v[0] != "update_status"] == []
    status = next(obj for verb, _, _, obj in client.writes if verb == "update_status").status
    assert (status.desiredNumberScheduled, status.currentNumberScheduled, status.updatedNumberScheduled) == (1, 1, 0)


def test_status_counts_nodes_and_is_not_rewritten_when_unchanged() -> None:
    ds = daemonset(nodeSelector={"logs": "yes"})
    nodes = [node("n1", labels={"logs": "yes"}), node("n2", labels={"logs": "yes"}),
             node("n3", labels={"logs": "yes"}, taints=[NO_SCHEDULE]), node("n4")]  # fmt: skip
    pods = [daemon(ds, "a", "n1"), daemon(ds, "b", "n2", ready=False), daemon(ds, "c", "n3")]
    ctrl, client, _ = controller_with(ds, nodes, pods)
    ctrl.reconcile("default/agent")
    status = next(obj for verb, _, _, obj in client.writes if verb == "update_status").status
    assert status.to_dict() == {
        "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1, "numberAvailable": 1,
        "numberUnavailable": 1, "updatedNumberScheduled": 2, "numberMisscheduled": 1, "observedGeneration": 3,
    }  # fmt: skip
    ds.status = status
    ctrl, client, _ = controller_with(ds, nodes, pods)
    ctrl.reconcile("default/agent")
    assert client.verbs() == []


SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_surge_starts_a_new_pod_beside_the_old_one() -> None:
    ds = daemonset(image="img:2", strategy=SURGE)
    pods = [daemon(ds, f"old-n{i}", f"n{i}", revision="old") for i in (1, 2, 3)]
    ctrl, client, _ = controller_with(ds, [node("n1"), node("n2"), node("n3")], pods)
    ctrl.reconcile("default/agent")
    assert created_for(client) == ["n1"], "one node at a time"
    assert deleted(client) == []


def test_surge_retires_the_old_pod_once_the_new_one_is_available_and_waits_otherwise() -> None:
    ds = daemonset(image="img:2", strategy=SURGE)
    pods = [
        daemon(ds, "old-n1", "n1", revision="old"), daemon(ds, "new-n1", "n1", created="2024-01-02T00:00:00Z"),
        daemon(ds, "old-n2", "n2", revision="old"), daemon(ds, "new-n2", "n2", ready=False, created="2024-01-02T00:00:00Z"),
        daemon(ds, "old-n3", "n3", revision="old"),
    ]  # fmt: skip
    ctrl, client, _ = controller_with(ds, [node("n1"), node("n2"), node("n3")], pods)
    ctrl.reconcile("default/agent")
    assert deleted(client) == [("old-n1", None)], "n2's new pod is not available yet: old-n2 stays"
    assert created_for(client) == [], "n2 uses the surge budget of 1"


@pytest.mark.parametrize(
    ("rolling", "error"),
    [pytest.param({"maxUnavailable": 1, "maxSurge": 1}, "maxSurge may not be set when maxUnavailable is non-zero", id="both"),
     pytest.param({"maxUnavailable": 0}, "maxUnavailable may not be 0 when maxSurge is 0", id="neither"),
     pytest.param({"maxUnavailable": "x"}, "must be an integer or a percentage", id="not-a-number")],
)  # fmt: skip
def test_rolling_update_values_are_validated(rolling: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        daemonset(strategy={"type": "RollingUpdate", "rollingUpdate": rolling})


@pytest.mark.parametrize(
    ("spec", "error"),
    [pytest.param({"selector": {"matchLabels": {"app": "other"}}}, "`selector` does not match template `labels`", id="selector"),
     pytest.param({"template": template(restartPolicy="Never")}, "restartPolicy: Unsupported value", id="restart-policy")],
)  # fmt: skip
def test_a_daemonset_spec_is_validated(spec: dict[str, Any], error: str) -> None:
    body = {"selector": {"matchLabels": LABELS}, "template": template(), **spec}
    with pytest.raises(ValueError, match=error):
        DaemonSet.model_validate({"metadata": {"name": "agent"}, "spec": body})


# The Kubernetes documentation's DaemonSet example (image swapped for one built here).
DOCS_EXAMPLE = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: kube-system
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: kajitori/busybox:1
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
"""


def test_the_kubernetes_documentation_example_has_no_unknown_fields() -> None:
    import yaml

    ds = DaemonSet.model_validate(yaml.safe_load(DOCS_EXAMPLE))
    assert ds.unknown_fields() == []
    assert ds.to_dict()["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds.spec.revisionHistoryLimit == 10


def test_get_ds_row_as_kubectl_prints_it() -> None:
    from kajitori.tables import row_for

    ds = daemonset(nodeSelector={"logs": "yes"}).to_dict()
    ds["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    ds["status"] = {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                    "updatedNumberScheduled": 1, "numberAvailable": 2}  # fmt: skip
    assert row_for("DaemonSet", ds, 1_704_067_200.0 + 300, wide=True) == [
        "agent", "3", "3", "2", "1", "2", "logs=yes", "5m", "agent", "img:1", "app=agent"
    ]  # fmt: skip

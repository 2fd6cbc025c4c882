"""The API server's per-kind rules, found through one table, each hook on the object's dict."""

from __future__ import annotations

import pytest

from kajitori.api.registry import by_kind
from master.apiserver.strategies import STRATEGIES, FieldError, Strategy, strategy_for


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        pytest.param("apps/v1", "Deployment", id="deployment"),
        pytest.param("apps/v1", "ReplicaSet", id="replicaset"),
        pytest.param("apps/v1", "DaemonSet", id="daemonset"),
    ],
)
def test_a_workloads_selector_is_immutable_and_its_status_the_servers(api_version: str, kind: str) -> None:
    strategy = strategy_for(by_kind(api_version, kind))
    old = {"spec": {"selector": {"matchLabels": {"app": "a"}}}}
    with pytest.raises(FieldError) as caught:
        strategy.check_immutable({"spec": {"selector": {"matchLabels": {"app": "b"}}}}, old)
    assert (caught.value.field, caught.value.message) == ("spec.selector", "field is immutable")
    strategy.check_immutable({"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 3}}, old)
    obj = {"spec": {}, "status": {"replicas": 9}}
    strategy.prepare_for_create(obj)
    assert "status" not in obj


def test_a_kind_without_rules_gets_the_no_op_strategy() -> None:
    strategy = strategy_for(by_kind("v1", "ConfigMap"))
    assert type(strategy) is Strategy and "ConfigMap" not in STRATEGIES
    obj = {"metadata": {"name": "c"}, "data": {"a": "1"}}
    strategy.prepare_for_create(obj)
    strategy.prepare_for_update(obj, obj)
    strategy.check_immutable(obj, {"metadata": {}, "data": {}})
    assert obj == {"metadata": {"name": "c"}, "data": {"a": "1"}}
    assert strategy.deletion_grace(obj, 30) is None
    assert strategy.ready_to_delete({"metadata": {"deletionTimestamp": "t"}})
    assert not strategy.ready_to_delete({"metadata": {"deletionTimestamp": "t", "finalizers": ["f"]}})


def test_a_pod_on_a_node_waits_for_its_agent_and_a_namespace_for_its_finalizers() -> None:
    pod = strategy_for(by_kind("v1", "Pod"))
    bound = {"metadata": {"deletionTimestamp": "t"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert pod.deletion_grace(bound, None) == 30
    assert not pod.ready_to_delete(bound)
    namespace = strategy_for(by_kind("v1", "Namespace"))
    new: dict = {"metadata": {"name": "ns"}}
    namespace.prepare_for_create(new)
    assert new["spec"] == {"finalizers": ["kubernetes"]} and new["status"] == {"phase": "Active"}
    assert not namespace.ready_to_delete({"metadata": {"deletionTimestamp": "t"}, "spec": {"finalizers": ["kubernetes"]}})


def test_a_job_is_a_workload_whose_template_and_completions_are_fixed_too() -> None:
    job = strategy_for(by_kind("batch/v1", "Job"))
    workload = strategy_for(by_kind("apps/v1", "Deployment"))
    assert set(workload.immutable_fields) < set(job.immutable_fields)  # the selector rule is written once
    old = {"spec": {"selector": {"matchLabels": {"controller-uid": "u"}}, "template": {"spec": {}}, "completions": 2}}
    for field, value in (("selector", {"matchLabels": {"controller-uid": "v"}}), ("template", {}), ("completions", 3)):
        with pytest.raises(FieldError) as caught:
            job.check_immutable({"spec": {**old["spec"], field: value}}, old)
        assert (caught.value.field, caught.value.message) == (f"spec.{field}", "field is immutable")
    job.check_immutable({"spec": {**old["spec"], "parallelism": 5}}, old)


@pytest.mark.parametrize(
    ("spec", "held", "status"),
    [
        pytest.param({"finalizers": ["kubernetes"]}, True, {"phase": "Terminating"}, id="with-spec-finalizers"),
        pytest.param({}, False, {"phase": "Active"}, id="without"),
    ],
)
def test_a_namespace_being_deleted_is_terminating_while_its_spec_finalizers_hold_it(
    spec: dict, held: bool, status: dict
) -> None:
    namespace = strategy_for(by_kind("v1", "Namespace"))
    obj = {"metadata": {"name": "ns"}, "spec": spec, "status": {"phase": "Active"}}
    assert namespace.begin_deletion(obj) is held
    assert obj["status"] == status
    assert strategy_for(by_kind("v1", "ConfigMap")).begin_deletion({"metadata": {"name": "c"}}) is False

"""The pods/eviction subresource (policy/v1 Eviction) against a real master without controllers.

An eviction is a graceful delete that honours its deleteOptions and marks the pod
``DisruptionTarget``; no PodDisruptionBudgets exist, so it is never refused with 429.
kubectl drain finds the subresource through discovery and evicts rather than deletes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from kajitori.api.registry import by_kind
from kajitori.client import ApiClient, ApiError, NotFoundError
from tests.support.cluster import wait_for
from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S, kill_process

pytestmark = pytest.mark.integration

PODS = by_kind("v1", "Pod")
NODES = by_kind("v1", "Node")


def bound_pod(api: ApiClient, name: str, node: str = "ghost-node") -> dict[str, Any]:
    # Bound to a node no agent serves: a graceful delete stays visible (nobody confirms it).
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"nodeName": node, "containers": [{"name": "c", "image": "kajitori/busybox:1"}]}}  # fmt: skip
    return api.create_raw(PODS, doc, "default")


def eviction(name: str, **delete_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


def test_eviction_deletes_gracefully_with_its_delete_options_and_marks_the_pod(api: ApiClient) -> None:
    bound_pod(api, "evictee")
    answer = api.request("POST", PODS.path("default", "evictee", "eviction"), body=eviction("evictee", gracePeriodSeconds=7))
    assert (answer["kind"], answer["status"], answer["code"]) == ("Status", "Success", 201)
    pod = api.get_raw(PODS, "evictee", "default")
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 7
    target = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert [(c["status"], c["reason"]) for c in target] == [("True", "EvictionByEvictionAPI")]
    # Evicting a pod already going changes nothing and still succeeds.
    again = api.request("POST", PODS.path("default", "evictee", "eviction"), body=eviction("evictee"))
    assert again["status"] == "Success"
    assert api.get_raw(PODS, "evictee", "default")["metadata"]["resourceVersion"] == pod["metadata"]["resourceVersion"]


def test_eviction_of_an_unscheduled_pod_removes_it_at_once(api: ApiClient) -> None:
    api.create_raw(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unbound"},
                          "spec": {"containers": [{"name": "c", "image": "kajitori/busybox:1"}]}}, "default")  # fmt: skip
    api.request("POST", PODS.path("default", "unbound", "eviction"), body=eviction("unbound"))
    with pytest.raises(NotFoundError):
        api.get_raw(PODS, "unbound", "default")


def test_eviction_refuses_a_wrong_body_and_a_missing_pod(api: ApiClient) -> None:
    bound_pod(api, "kept")
    with pytest.raises(ApiError) as mismatch:
        api.request("POST", PODS.path("default", "kept", "eviction"), body=eviction("other"))
    assert mismatch.value.code == 400 and "does not match name in Eviction" in mismatch.value.message
    with pytest.raises(ApiError) as wrong_kind:
        api.request("POST", PODS.path("default", "kept", "eviction"), body={"apiVersion": "v1", "kind": "Pod"})
    assert wrong_kind.value.code == 400
    with pytest.raises(ApiError) as bad_grace:
        api.request("POST", PODS.path("default", "kept", "eviction"), body=eviction("kept", gracePeriodSeconds=-3))
    assert bad_grace.value.code == 400
    assert not api.get_raw(PODS, "kept", "default")["metadata"].get("deletionTimestamp")
    with pytest.raises(NotFoundError):
        api.request("POST", PODS.path("default", "nope", "eviction"), body=eviction("nope"))


def test_discovery_names_the_eviction_group_as_kubectl_drain_needs(api: ApiClient) -> None:
    resources = {r["name"]: r for r in api.request("GET", "/api/v1")["resources"]}
    entry = resources["pods/eviction"]
    assert (entry["kind"], entry["group"], entry["version"], entry["verbs"]) == ("Eviction", "policy", "v1", ["create"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (scripts/ensure-host.sh installs it)")
def test_kubectl_drain_evicts_through_the_subresource(master: MasterProcess, api: ApiClient) -> None:
    api.create_raw(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kubectl-node"}})
    bound_pod(api, "drained-by-kubectl", node="kubectl-node")
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(master.data_dir)}
    drain = subprocess.Popen(["kubectl", "drain", "kubectl-node", "--force", f"--timeout={int(PROCESS_TIMEOUT_S)}s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        # No agent serves the node: once kubectl has evicted the pod, the test confirms the
        # deletion as the node's agent would, and kubectl's wait for it ends (no 2 s window).
        pod = wait_for(lambda: (p := api.get_raw(PODS, "drained-by-kubectl", "default"))["metadata"].get("deletionTimestamp") and p,
                       timeout=PROCESS_TIMEOUT_S, what="kubectl's eviction")  # fmt: skip
        api.delete_raw(PODS, "drained-by-kubectl", "default", grace_period_seconds=0)
        out, err = drain.communicate(timeout=PROCESS_TIMEOUT_S)
    finally:
        kill_process(drain)
    assert drain.returncode == 0, (out, err)
    assert "node/kubectl-node cordoned" in out, (out, err)
    assert "evicting pod default/drained-by-kubectl" in out + err, (out, err)
    assert "node/kubectl-node drained" in out, (out, err)
    assert any(c["type"] == "DisruptionTarget" for c in pod["status"]["conditions"])
    assert api.get_raw(NODES, "kubectl-node")["spec"]["unschedulable"] is True

"""`kajitori cordon`, `drain`, `uncordon` (CliRunner) against a real master with its
controllers and scheduler, on hollow nodes: what a planned reboot of a machine needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from kajitori.api.apps import DaemonSet, Deployment
from kajitori.api.core import Node, Pod
from kajitori.client import AlreadyExistsError, ApiClient
from master.hollow_nodes import HollowCluster
from tests.integration.controllers.conftest import wait_for
from tests.integration.controllers.workloads import active, app_pods, deployment, ready, rolled_out
from tests.support.cluster import wait_for_events
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


def cli(master: MasterProcess, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--kubeconfig", str(master.kubeconfig)])


def nodes_of(client: ApiClient, app_name: str) -> dict[str, int]:
    placed: dict[str, int] = {}
    for pod in active(app_pods(client, app_name)):
        placed[pod.spec.nodeName or "<unbound>"] = placed.get(pod.spec.nodeName or "<unbound>", 0) + 1
    return placed


def status_column(master: MasterProcess, node: str) -> str:
    rows = [line.split() for line in cli(master, "get", "nodes").stdout.splitlines()[1:]]
    return next(row[1] for row in rows if row[0] == node)


PROBE = Pod.model_validate({"metadata": {"name": "probe", "namespace": "default"},
                            "spec": {"nodeSelector": {"kubernetes.io/hostname": "node-a"},
                                     "containers": [{"name": "c", "image": "kajitori/busybox:1"}]}})  # fmt: skip


def probe_refused_by_cordon(client: ApiClient) -> bool:
    """True once a pod that only node-a fits is refused because node-a is unschedulable."""
    try:
        pod = client.create(PROBE)
    except AlreadyExistsError:
        pod = client.get(Pod, "probe", "default")
    if pod.spec.nodeName:
        # Placed before the scheduler saw the cordon: take it away and ask again.
        client.delete(Pod, "probe", "default", grace_period_seconds=0)
        return False
    cond = next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)
    return cond is not None and cond.reason == "Unschedulable" and "unschedulable" in (cond.message or "")


def test_cordon_keeps_new_pods_off_the_node_and_uncordon_lets_them_back(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    hollow(["node-a", "node-b"])
    first = cli(cluster_master, "cordon", "node-a")
    assert (first.exit_code, first.stdout) == (0, "node/node-a cordoned\n"), first.output
    again = cli(cluster_master, "cordon", "node-a")
    assert (again.exit_code, again.stdout) == (0, "node/node-a already cordoned\n")
    assert client.get(Node, "node-a").spec.unschedulable is True
    assert status_column(cluster_master, "node-a") == "Ready,SchedulingDisabled"
    assert status_column(cluster_master, "node-b") == "Ready"
    # The scheduler learns of the cordon through its own watch, which may lag behind the
    # Deployment's pods: a pod only node-a would take shows when it has (and, later, the uncordon).
    wait_for(lambda: probe_refused_by_cordon(client), what="the scheduler saw the cordon")

    client.create(deployment("web", replicas=4))
    wait_for(lambda: rolled_out(client, "web"), what="web rolled out")
    assert nodes_of(client, "web") == {"node-b": 4}

    back = cli(cluster_master, "uncordon", "node-a")
    assert (back.exit_code, back.stdout) == (0, "node/node-a uncordoned\n")
    assert cli(cluster_master, "uncordon", "node-a").stdout == "node/node-a already uncordoned\n"
    assert not client.get(Node, "node-a").spec.unschedulable
    assert status_column(cluster_master, "node-a") == "Ready"
    wait_for(lambda: client.get(Pod, "probe", "default").spec.nodeName == "node-a", what="the scheduler saw the uncordon")
    client.patch(Deployment, "web", {"spec": {"replicas": 8}}, "default")
    wait_for(lambda: rolled_out(client, "web"), what="web at 8")
    assert nodes_of(client, "web").get("node-a", 0) > 0  # the spreading score prefers the empty node again

    missing = cli(cluster_master, "cordon", "nope")
    assert missing.exit_code == 1 and missing.stderr.strip() == 'Error from server (NotFound): nodes "nope" not found'


def test_drain_evicts_deployment_pods_which_come_back_on_the_other_node(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    hollow(["node-a", "node-b"])
    client.create(deployment("web", replicas=4))
    wait_for(lambda: rolled_out(client, "web"), what="web rolled out")
    on_a = sorted(p.metadata.name or "" for p in active(app_pods(client, "web")) if p.spec.nodeName == "node-a")
    assert on_a, "the scheduler spreads 4 replicas over both nodes"

    drained = cli(cluster_master, "drain", "node-a", "--grace-period", "5", "--timeout", "60s")
    assert drained.exit_code == 0, drained.output
    lines = drained.stdout.splitlines()
    assert lines[0] == "node/node-a cordoned" and lines[-1] == "node/node-a drained"
    assert sorted(line for line in lines if line.startswith("evicting pod ")) == [f"evicting pod default/{n}" for n in on_a]
    assert sorted(line for line in lines if line.endswith(" evicted")) == [f"pod/{n} evicted" for n in on_a]
    assert drained.stderr == ""

    assert client.get(Node, "node-a").spec.unschedulable is True
    wait_for(lambda: rolled_out(client, "web") and len(ready(app_pods(client, "web"))) == 4, what="web back to 4 ready")
    assert nodes_of(client, "web") == {"node-b": 4}
    wait_for_events(client, {"SuccessfulCreate"})

    # Draining a drained node: nothing to evict, still cordoned.
    again = cli(cluster_master, "drain", "node-a")
    assert (again.exit_code, again.stdout) == (0, "node/node-a already cordoned\nnode/node-a drained\n")
    assert cli(cluster_master, "uncordon", "node-a").stdout == "node/node-a uncordoned\n"


def daemonset(name: str) -> DaemonSet:
    return DaemonSet.model_validate({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "agent", "image": "kajitori/busybox:1"}]}}},
    })  # fmt: skip


def with_empty_dir(name: str, replicas: int) -> Deployment:
    d = deployment(name, replicas=replicas)
    spec: dict[str, Any] = d.spec.template.spec.model_dump(exclude_none=True)  # type: ignore[union-attr]
    spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    spec["containers"][0]["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    doc = d.to_dict()
    doc["spec"]["template"]["spec"] = spec
    return Deployment.model_validate(doc)


def keys(client: ApiClient, app_name: str) -> str:
    return ", ".join(sorted(f"default/{p.metadata.name}" for p in active(app_pods(client, app_name))))


def test_drain_refuses_daemonset_bare_and_emptydir_pods_until_each_flag_allows_them(
    client: ApiClient, hollow: Callable[..., HollowCluster], cluster_master: MasterProcess
) -> None:
    hollow(["node-a"])  # everything lands on node-a first; node-b joins as the place to go
    client.create(daemonset("agent"))
    client.create(with_empty_dir("scratch", 2))
    client.create(Pod.model_validate({"metadata": {"name": "bare", "namespace": "default", "labels": {"app": "bare"}},
                                      "spec": {"containers": [{"name": "c", "image": "kajitori/busybox:1"}]}}))  # fmt: skip
    wait_for(lambda: all(len(ready(app_pods(client, a))) == n for a, n in (("agent", 1), ("scratch", 2), ("bare", 1))),
             what="every pod ready on node-a")  # fmt: skip
    hollow(["node-b"])
    wait_for(lambda: len(ready(app_pods(client, "agent"))) == 2, what="a daemon pod on node-b too")
    agent_a = ", ".join(f"default/{p.metadata.name}" for p in active(app_pods(client, "agent")) if p.spec.nodeName == "node-a")
    scratch, bare = keys(client, "scratch"), "default/bare"
    daemon_error = f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {agent_a}"
    storage_error = f"cannot delete Pods with local storage (use --delete-emptydir-data to override): {scratch}"
    bare_error = f"cannot delete Pods declare no controller (use --force to override): {bare}"

    refused = cli(cluster_master, "drain", "node-a")
    assert refused.exit_code == 1 and refused.stdout == "node/node-a cordoned\n"
    err = refused.stderr.splitlines()
    assert err[0] == (f'error: unable to drain node "node-a" due to error: [{daemon_error}, {storage_error}, {bare_error}], '
                      "continuing command...")
    assert err[1:] == ["There are pending nodes to be drained:", " node-a", daemon_error, storage_error, bare_error]

    no_daemons = cli(cluster_master, "drain", "node-a", "--ignore-daemonsets")
    assert no_daemons.exit_code == 1 and no_daemons.stderr.splitlines()[-2:] == [storage_error, bare_error]
    no_storage = cli(cluster_master, "drain", "node-a", "--ignore-daemonsets", "--delete-emptydir-data")
    assert no_storage.exit_code == 1 and no_storage.stderr.splitlines()[-1:] == [bare_error]
    assert no_storage.stdout == "node/node-a already cordoned\n"
    # Refusals evict nothing.
    assert nodes_of(client, "scratch") == {"node-a": 2} and nodes_of(client, "bare") == {"node-a": 1}

    done = cli(cluster_master, "drain", "node-a", "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "60s")
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines() == [
        f"Warning: ignoring DaemonSet-managed Pods: {agent_a}",
        f"Warning: deleting Pods with local storage: {scratch}",
        f"Warning: deleting Pods that declare no controller: {bare}",
    ]
    evicting = sorted(line for line in done.stdout.splitlines() if line.startswith("evicting pod "))
    assert evicting == sorted(f"evicting pod {k}" for k in [*scratch.split(", "), bare])
    assert done.stdout.splitlines()[-1] == "node/node-a drained"
    assert app_pods(client, "bare") == []  # nothing recreates a bare pod
    wait_for(lambda: nodes_of(client, "scratch") == {"node-b": 2} and len(ready(app_pods(client, "scratch"))) == 2,
             what="scratch pods on node-b")  # fmt: skip
    assert nodes_of(client, "agent") == {"node-a": 1, "node-b": 1}  # the daemon pod stays (it tolerates unschedulable)

    assert cli(cluster_master, "uncordon", "node-a").stdout == "node/node-a uncordoned\n"
    assert not client.get(Node, "node-a").spec.unschedulable

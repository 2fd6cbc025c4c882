"""apps/v1 DaemonSet on the real lab: a DaemonSet of busybox (`sleep`) applied from standard
YAML runs exactly one Running, ready pod on node1 and one on node2 (real containers, bound by
the scheduler through the pod's node affinity), `kajitori get ds` counts them as kubectl
does; deleted, its pods go with it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kajitori.api.apps import DaemonSet
from kajitori.api.core import Pod
from kajitori.client import ApiClient, NotFoundError
from lab.failover import wait_until
from master.controllers.pod_state import is_ready
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES, ROOT

pytestmark = pytest.mark.e2e

KAJITORI = str(ROOT / ".venv/bin/kajitori")
NAMESPACE = "default"
NAME = "e2e-node-agent"
MANIFEST = f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {NAME}
  namespace: {NAMESPACE}
  labels:
    app: {NAME}
spec:
  selector:
    matchLabels:
      app: {NAME}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  template:
    metadata:
      labels:
        app: {NAME}
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: agent
        image: kajitori/busybox:1
        command: ["sleep", "3600"]
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
      terminationGracePeriodSeconds: 1
"""


def kajitori(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAJITORI, *args, "--kubeconfig", str(ADMIN_KUBECONFIG)], capture_output=True, text=True,
                          input=stdin, cwd=ROOT, timeout=60)  # fmt: skip


def agent_pods(api: ApiClient) -> list[Pod]:
    return api.list(Pod, NAMESPACE, label_selector=f"app={NAME}").items


def one_running_pod_per_node(api: ApiClient) -> bool:
    pods = [p for p in agent_pods(api) if p.metadata.deletionTimestamp is None]
    by_node = sorted(p.spec.nodeName or "" for p in pods)
    return by_node == sorted(NODES) and all(p.status.phase == "Running" and is_ready(p) for p in pods)


@pytest.fixture
def daemonsets(lab_api: ApiClient) -> Iterator[ApiClient]:
    def remove() -> None:
        try:
            lab_api.delete(DaemonSet, NAME, NAMESPACE, propagation_policy="Background")
        except NotFoundError:
            pass

    remove()  # left over from an interrupted run
    wait_until("earlier e2e DaemonSet pods gone", lambda: not agent_pods(lab_api), timeout_s=90)
    yield lab_api
    remove()
    wait_until("the e2e DaemonSet's pods collected", lambda: not agent_pods(lab_api), timeout_s=90)


def test_a_daemonset_runs_one_pod_on_each_node_and_takes_them_when_deleted(daemonsets: ApiClient, lab: Path) -> None:
    applied = kajitori("apply", "-f", "-", stdin=MANIFEST)
    assert applied.returncode == 0, applied.stderr
    assert f"daemonset.apps/{NAME} created" in applied.stdout
    started = time.monotonic()
    wait_until("one Running pod on node1 and one on node2", lambda: one_running_pod_per_node(daemonsets), timeout_s=120)
    print(f"\nDaemonSet: a Running, ready pod on each of {len(NODES)} nodes {time.monotonic() - started:.1f}s after apply")
    for pod in agent_pods(daemonsets):
        assert [(r.kind, r.name) for r in pod.metadata.ownerReferences or []] == [("DaemonSet", NAME)]

    def counted() -> bool:
        s = daemonsets.get(DaemonSet, NAME, NAMESPACE).status
        return (s.desiredNumberScheduled, s.currentNumberScheduled, s.numberReady, s.numberAvailable) == (2, 2, 2, 2)

    wait_until("status 2/2", counted, timeout_s=30)
    table = kajitori("get", "ds", NAME)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[:7] == [NAME, "2", "2", "2", "2", "2", "<none>"]
    rollout = kajitori("rollout", "status", f"daemonset/{NAME}", "--timeout", "30")
    assert rollout.returncode == 0, rollout.stderr
    assert f'daemon set "{NAME}" successfully rolled out' in rollout.stdout

    deleted = kajitori("delete", "daemonset", NAME)
    assert deleted.returncode == 0, deleted.stderr
    wait_until("the DaemonSet's pods gone", lambda: not agent_pods(daemonsets), timeout_s=90)
    with pytest.raises(NotFoundError):
        daemonsets.get(DaemonSet, NAME, NAMESPACE)

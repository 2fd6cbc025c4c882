"""A planned reboot on the real lab: `kajitori drain node1 --ignore-daemonsets` while a
bounded client loops on node2's NodePort 30080 (every 0.05 s, each request a new
connection ending within 5 s).

Drain cordons node1 and evicts its nginx pods (graceful deletes: the Endpoints drop a
pod the moment it is terminating, the proxies follow, and nginx finishes what it is
serving on SIGQUIT); the Deployment recreates them on node2. Every request is answered
(the figure is printed), node1 is SchedulingDisabled and runs no nginx pod. Then
`kajitori uncordon node1`, and nginx is spread over both nodes again for the tests after.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from kajitori.client import ApiClient
from lab.failover import (
    BoundedClient,
    ClientSummary,
    app_pods,
    pod_ready,
    spread_over_nodes,
    wait_until,
)
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES, ROOT
from tests.e2e.lab_access import delete_pod, wait_nginx_ready

pytestmark = pytest.mark.e2e

KAJITORI = str(ROOT / ".venv/bin/kajitori")
DRAINED, SURVIVOR = "node1", "node2"


def kajitori(*args: str, timeout_s: float = 180.0) -> subprocess.CompletedProcess[str]:
    """The CLI as a user types it, against the lab."""
    return subprocess.run([KAJITORI, *args, "--kubeconfig", str(ADMIN_KUBECONFIG)],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout_s)  # fmt: skip


@dataclass
class DrainFigures:
    nginx_on_node_before: list[str]
    drain: subprocess.CompletedProcess[str]
    drain_s: float
    all_ready_on_survivor_s: float
    client: ClientSummary


def nginx_by_node(api: ApiClient) -> dict[str, list[str]]:
    placed: dict[str, list[str]] = {}
    for pod in app_pods(api, "default", "app=nginx"):
        placed.setdefault(pod["spec"].get("nodeName", ""), []).append(pod["metadata"]["name"])
    return placed


@pytest.fixture(scope="module")
def drained(lab: Path, lab_api: ApiClient, request: pytest.FixtureRequest) -> Iterator[DrainFigures]:
    wait_nginx_ready(lab_api)
    # A tools pod an interrupted earlier test left (bare: drain would rightly refuse it).
    def tools_pods() -> list[str]:
        listed = lab_api.request("GET", "/api/v1/namespaces/default/pods", params={"labelSelector": "app=e2e-tools"})
        return [pod["metadata"]["name"] for pod in listed["items"]]

    for name in tools_pods():
        delete_pod(lab_api, "default", name)
    wait_until("no e2e tools pod left", lambda: not tools_pods(), timeout_s=60.0)
    before = sorted(nginx_by_node(lab_api).get(DRAINED, []))
    client = BoundedClient(NODES[SURVIVOR], 30080, duration_s=90.0, interval_s=0.05, timeout_s=5.0).start()
    try:
        time.sleep(1.0)  # some answers before the drain, from both nodes' pods
        started = time.monotonic()
        result = kajitori("drain", DRAINED, "--ignore-daemonsets", "--timeout", "120s")
        drain_s = time.monotonic() - started

        def all_on_survivor() -> bool:
            pods = app_pods(lab_api, "default", "app=nginx")
            return len([p for p in pods if pod_ready(p) and p["spec"].get("nodeName") == SURVIVOR]) >= 3

        ready_s = drain_s + wait_until("3 nginx pods Ready on node2", all_on_survivor, timeout_s=90.0)
        time.sleep(2.0)  # and answers after, from the new pods only
        client.stop()
        client.join()
        figures = DrainFigures(before, result, drain_s, ready_s, client.summary())
        with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            shown = {k: v for k, v in asdict(figures).items() if k != "drain"}
            print(f"\n{DRAINED} drained:", result.stdout.strip(), result.stderr.strip(), json.dumps(shown, indent=1), sep="\n  ")
        yield figures
    finally:
        client.stop()
        kajitori("uncordon", DRAINED)
        # Later tests expect nginx on both nodes again; nothing rebalances on its own.
        spread_over_nodes(lab_api, list(NODES))


def test_node1_ran_nginx_before(drained: DrainFigures) -> None:
    assert drained.nginx_on_node_before


def test_drain_evicts_nginx_with_kubectls_lines(drained: DrainFigures) -> None:
    result = drained.drain
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[0] == f"node/{DRAINED} cordoned" and lines[-1] == f"node/{DRAINED} drained"
    evicted = sorted(line.removeprefix("pod/").removesuffix(" evicted") for line in lines if line.endswith(" evicted"))
    assert evicted == drained.nginx_on_node_before
    assert sorted(line for line in lines if line.startswith("evicting pod ")) == [
        f"evicting pod default/{name}" for name in drained.nginx_on_node_before
    ]


def test_every_request_is_answered_during_the_drain(drained: DrainFigures) -> None:
    summary = drained.client
    assert summary.requests >= 50
    assert summary.succeeded == summary.requests, summary


def test_node1_is_cordoned_and_runs_no_nginx_until_uncordoned(drained: DrainFigures, lab_api: ApiClient) -> None:
    # The fixture's teardown uncordons; here the drained state is still in place.
    node = lab_api.request("GET", f"/api/v1/nodes/{DRAINED}")
    assert node["spec"].get("unschedulable") is True
    assert "Ready,SchedulingDisabled" in kajitori("get", "nodes").stdout
    assert DRAINED not in nginx_by_node(lab_api)


def test_uncordon_makes_node1_schedulable_again(drained: DrainFigures, lab_api: ApiClient) -> None:
    result = kajitori("uncordon", DRAINED)
    assert (result.returncode, result.stdout) == (0, f"node/{DRAINED} uncordoned\n"), result.stderr
    assert not lab_api.request("GET", f"/api/v1/nodes/{DRAINED}")["spec"].get("unschedulable")
    spread_over_nodes(lab_api, list(NODES))
    assert DRAINED in nginx_by_node(lab_api)

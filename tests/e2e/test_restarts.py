"""Restarting the daemons on the real lab loses nothing: `systemctl restart` of
kajitori-master, then of kajitori-agent and kajitori-proxy on both nodes, leaves every
object with its uid and resourceVersion, every pod container with its ID and
restartCount, and the nginx Service answering from the host through both nodes."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kajitori.client import ApiClient
from lab.failover import http_get, node_ready, wait_until
from tests.e2e.conftest import NODES
from tests.e2e.lab_access import machine_sh, node_containers, settle, wait_nginx_ready

pytestmark = pytest.mark.e2e

# Kinds whose objects only users and controllers change: a restart must leave them as
# they were. (Nodes, Leases and Events change with every heartbeat and are left out.)
STABLE = [
    "/api/v1/pods", "/api/v1/services", "/api/v1/endpoints", "/api/v1/namespaces", "/api/v1/configmaps",
    "/api/v1/secrets", "/apis/apps/v1/deployments", "/apis/apps/v1/replicasets",
]
# One relist period of the agent (10 s) and more: long enough for a wrong write to land.
OBSERVE_S = 12.0


def objects(api: ApiClient) -> dict[str, tuple[str, str]]:
    found = {}
    for path in STABLE:
        for item in api.request("GET", path)["items"]:
            meta = item["metadata"]
            found[f"{path}/{meta.get('namespace', '')}/{meta['name']}"] = (meta["uid"], meta["resourceVersion"])
    return found


def containers() -> dict[str, tuple[str, str]]:
    """Every running pod container on the nodes: id -> (name, restart-count label)."""
    found = {}
    for machine in NODES:
        for c in node_containers(machine):
            if c["State"]["Running"]:
                found[c["Id"]] = (c["Name"], c["Config"]["Labels"].get("io.kajitori.container.restart-count", ""))
    return found


def restart(machine: str, *units: str) -> None:
    code, out = machine_sh(machine, f"systemctl restart {' '.join(units)}")
    assert code == 0, out


def agent_listens(machine: str) -> bool:
    return machine_sh(machine, "ss -ltn | grep -q ':10250 '")[0] == 0


def all_answer() -> bool:
    return all(http_get(address, 30080, "/hostname", timeout_s=5.0)[0] == 200 for address in NODES.values())


def _snapshot(api: ApiClient) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]], list[dict[str, Any]]]:
    return objects(api), containers(), wait_nginx_ready(api)


def at_rest(api: ApiClient) -> bool:
    """No object of the stable kinds changed over a few seconds."""
    first = objects(api)
    settle(3.0)
    return objects(api) == first


@pytest.fixture
def calm_lab(lab: Path, lab_api: ApiClient) -> ApiClient:
    wait_nginx_ready(lab_api)
    wait_until("every node Ready", lambda: all(node_ready(lab_api, n) for n in NODES), timeout_s=60)
    # The last status writes of the spreading land before the snapshot: however late they
    # come on a loaded machine (a fixed 3 s sleep assumed they came within it).
    wait_until("the lab at rest (no object changing for 3 s)", lambda: at_rest(lab_api), timeout_s=120)
    return lab_api


def _assert_nothing_changed(api: ApiClient, before: dict[str, tuple[str, str]], ids_before: dict[str, tuple[str, str]]) -> None:
    after = objects(api)
    lost = sorted(set(before) - set(after))
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    assert not lost, f"objects lost: {lost}"
    assert not changed, f"objects rewritten: {changed}"
    assert containers() == ids_before
    for pod in wait_nginx_ready(api):
        assert all(s["restartCount"] == 0 for s in pod["status"]["containerStatuses"])


def test_restarting_the_master_loses_nothing(calm_lab: ApiClient) -> None:
    before, ids_before, _ = _snapshot(calm_lab)
    restart("master", "kajitori-master")
    wait_until("the master answers", lambda: bool(calm_lab.request("GET", "/api/v1/namespaces/default")), timeout_s=60)
    settle(OBSERVE_S)
    _assert_nothing_changed(calm_lab, before, ids_before)
    assert all_answer()


def test_restarting_agents_and_proxies_loses_nothing(calm_lab: ApiClient) -> None:
    before, ids_before, _ = _snapshot(calm_lab)
    # One daemon at a time, as an operator (and ansible/roles/node) does: the agent must
    # be heartbeating again within the 6 s grace, and four Pythons starting at once on
    # this 2-core host can take longer than that (see the report of issue 6).
    for machine in NODES:
        restart(machine, "kajitori-agent")
        wait_until(f"{machine}'s agent listens", partial(agent_listens, machine), timeout_s=60)
    for machine in NODES:
        restart(machine, "kajitori-proxy")
    wait_until("every node Ready", lambda: all(node_ready(calm_lab, n) for n in NODES), timeout_s=60)
    settle(OBSERVE_S)
    _assert_nothing_changed(calm_lab, before, ids_before)
    assert all_answer()

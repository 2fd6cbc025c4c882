"""Fixtures of the end-to-end tests: the three-machine lab (`make lab`), a client for
its master, and SSH to its machines. The lab is brought up once per session if it
is not up already, and left running (make lab-down removes it)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kajitori import config
from kajitori.client import ApiClient, ApiError
from lab.failover import spread_over_nodes

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / ".lab"
ADMIN_KUBECONFIG = LAB_DIR / "admin.kubeconfig"
VAGRANT_KEY = Path("~/.vagrant.d/insecure_private_key").expanduser()
NODES = {"node1": "192.168.56.11", "node2": "192.168.56.12"}


# The user's day in order: what `make lab` gave first, losing a node last (it moves pods).
MODULE_ORDER = [
    "test_lab",
    "test_services",
    "test_explain",
    "test_restarts",
    "test_node_join",
    "test_hairpin",
    "test_job",
    "test_cronjob",
    "test_daemonset",
    "test_statefulset",
    "test_streams",
    "test_in_cluster_client",
    "test_load_balancer",
    "test_ingress",
    "test_web_view",
    "test_autoscaling",
    "test_drain",
    "test_failover",
    "test_ha_masters",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Called with every collected test, not only this folder's: others keep their place, first.
    def rank(item: pytest.Item) -> int:
        if Path(item.path).parent != Path(__file__).parent:
            return -1
        return MODULE_ORDER.index(item.path.stem) if item.path.stem in MODULE_ORDER else len(MODULE_ORDER)

    # sort is stable: the order inside each module stays as written.
    items.sort(key=rank)


def _list_nodes() -> list[dict[str, Any]] | None:
    """The lab's nodes, or None while its master does not answer."""
    if not ADMIN_KUBECONFIG.exists():
        return None
    try:
        with ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=3.0) as api:
            return api.request("GET", "/api/v1/nodes")["items"]  # type: ignore[no-any-return]
    except ApiError:
        return None


def _lab_ready() -> bool:
    nodes = _list_nodes()
    if nodes is None:
        return False
    ready = {
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
    }
    return set(NODES) <= ready


def _bring_up() -> None:
    subprocess.run(["bash", str(ROOT / "scripts/lab/up.sh")], check=True, cwd=ROOT, timeout=1500)


@pytest.fixture(scope="session")
def lab_master() -> Path:
    """A lab whose master answers (its nodes may not be Ready): enough to test SSH joins' errors."""
    if _list_nodes() is None:
        _bring_up()
    return LAB_DIR


@pytest.fixture(scope="session")
def lab() -> Path:
    """The running lab (brought up with scripts/lab/up.sh when needed), nginx spread over
    both nodes again (a failover earlier leaves them all on one: nothing rebalances on
    its own); its .lab/ folder."""
    if not _lab_ready():
        _bring_up()
    with ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0) as api:
        spread_over_nodes(api, list(NODES))
    return LAB_DIR


@pytest.fixture(scope="session")
def lab_api(lab: Path) -> Iterator[ApiClient]:
    client = ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0)
    yield client
    client.close()


@pytest.fixture(scope="session")
def lab_admin_kubeconfig(lab_master: Path) -> Path:
    return ADMIN_KUBECONFIG

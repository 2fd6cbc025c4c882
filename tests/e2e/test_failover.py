"""The user's day, step 3, on the real lab, while a bounded client loops on node2's
NodePort (0.1 s apart, each request a new connection ending within 5 s):

- `kajitori node reboot node1` (a real `systemctl reboot` in the machine). A node
  container is back in about 2 s, well inside the 6 s grace, so the master rightly
  never sees it NotReady: its agent restarts the pods in place. The Service keeps
  answering and no stale container stays.
- node1 lost the way a VM's reboot loses it for longer (its machine stopped as
  `vagrant halt` does — `docker stop`, systemd shuts down — and `vagrant up` once its
  pods have moved): NotReady within 10 s, replacement pods Running on node2
  within 20 s, >= 95 % of the client's requests answered and none waiting over 5 s;
  node1 comes back Ready and its dockerd keeps no container of a pod no longer bound
  to it.
- During that loss, a `type: LoadBalancer` Service for nginx whose address node1 holds
  (its name is chosen so that the L2 election picks node1) moves to node2, and a second
  bounded client on `http://<address>/` gets answers again; once node1 is back, exactly
  one node holds the address.

The figures are printed (bench/failover records them in bench/results)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from kajitori.client import ApiClient, NotFoundError
from lab.failover import (
    BoundedClient,
    FailoverFigures,
    RebootFigures,
    measure_node_loss,
    measure_reboot,
    spread_over_nodes,
)
from net.l2_election import elect
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES, ROOT
from tests.e2e.lab_access import address_holders, stale_containers, wait_for_value, wait_nginx_ready

pytestmark = pytest.mark.e2e

LOST, SURVIVOR = "node1", "node2"


def reboot(machine: str) -> None:
    """`kajitori node reboot` as a user types it; returns once the reboot is under way."""
    subprocess.run(
        [str(ROOT / ".venv/bin/kajitori"), "node", "reboot", machine, "--no-wait", "--kubeconfig", str(ADMIN_KUBECONFIG)],
        check=True, cwd=ROOT, timeout=30, capture_output=True,
    )


def vagrant(*args: str) -> None:
    subprocess.run(["vagrant", *args], check=True, cwd=ROOT, timeout=180, capture_output=True)


def _print(request: pytest.FixtureRequest, title: str, lines: list[str], figures: dict[str, Any]) -> None:
    # Past pytest's capture: the figures belong in every run's log.
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\n{title}:", *lines, json.dumps(figures, indent=1), sep="\n  ")


@pytest.fixture(scope="module")
def quick_reboot(lab: Path, lab_api: ApiClient, request: pytest.FixtureRequest) -> RebootFigures:
    wait_nginx_ready(lab_api)
    lines: list[str] = []
    figures = measure_reboot(
        lab_api, node=LOST, reboot=lambda: reboot(LOST),
        client=BoundedClient(NODES[SURVIVOR], 30080, duration_s=20.0, interval_s=0.1, timeout_s=5.0),
        progress=lines.append,
    )
    _print(request, f"{LOST} rebooted (systemctl reboot)", lines, figures.as_dict())
    return figures


def lb_service_name_held_by(node: str) -> str:
    """A Service name whose address the L2 election gives to `node` while both nodes are up."""
    return next(n for n in (f"nginx-lb-{i}" for i in range(100)) if elect(f"default/{n}", list(NODES)) == node)


LB_NAME = lb_service_name_held_by(LOST)


def _external_ip(api: ApiClient) -> str | None:
    svc = api.request("GET", f"/api/v1/namespaces/default/services/{LB_NAME}")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return str(ingress[0]["ip"]) if ingress and ingress[0].get("ip") else None


def _delete_lb(api: ApiClient) -> None:
    try:
        api.request("DELETE", f"/api/v1/namespaces/default/services/{LB_NAME}")
    except NotFoundError:
        pass


@dataclass
class AddressMove:
    """The load-balancer address during the node loss (seconds from the take-down)."""

    address: str
    held_before: list[str]
    started: float = 0.0  # monotonic time of the take-down
    on_survivor_s: float | None = None
    client: BoundedClient | None = None
    held_after: list[str] | None = None

    def answered_after_move(self) -> int:
        """Requests of the address's client answered after the survivor took the address."""
        if self.client is None or self.on_survivor_s is None:
            return 0
        moved_at = self.started + self.on_survivor_s
        return sum(1 for r in self.client.requests if r.ok and r.started >= moved_at)

    def longest_outage_s(self) -> float:
        """The longest time from a failed request of the address's client to the next answered one."""
        longest, failing_since = 0.0, None
        for r in self.client.requests if self.client else []:
            if not r.ok and failing_since is None:
                failing_since = r.started
            elif r.ok and failing_since is not None:
                longest, failing_since = max(longest, r.started - failing_since), None
        return longest


@pytest.fixture(scope="module")
def lb_address(quick_reboot: RebootFigures, lab_api: ApiClient) -> Iterator[AddressMove]:
    """A LoadBalancer Service for nginx whose address node1 holds."""
    _delete_lb(lab_api)
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": LB_NAME, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "nginx"}, "ports": [{"port": 80, "targetPort": 80}]},
    }  # fmt: skip
    lab_api.request("POST", "/api/v1/namespaces/default/services", body=service)
    try:
        ip = wait_for_value("an external address", lambda: _external_ip(lab_api), timeout_s=30)
        wait_for_value(f"{ip} held by {LOST} only", lambda: address_holders(ip, list(NODES)) == [LOST], timeout_s=30)
        yield AddressMove(address=ip, held_before=address_holders(ip, list(NODES)))
    finally:
        _delete_lb(lab_api)


@pytest.fixture(scope="module")
def node_loss(
    quick_reboot: RebootFigures, lb_address: AddressMove, lab_api: ApiClient, request: pytest.FixtureRequest
) -> Iterator[FailoverFigures]:
    """node1 down until its pods have moved (halted, then up again); the pods spread over both nodes afterwards."""
    spread_over_nodes(lab_api, list(NODES))
    lines: list[str] = []
    done = threading.Event()

    def watch_address() -> None:
        # Only the survivor can be asked while node1 is down.
        while not done.is_set():
            if address_holders(lb_address.address, [SURVIVOR]):
                lb_address.on_survivor_s = time.monotonic() - lb_address.started
                lines.append(f"{lb_address.address}: held by {SURVIVOR} after {lb_address.on_survivor_s:.1f} s")
                return
            done.wait(0.2)

    def take_down() -> None:
        lb_address.started = time.monotonic()
        lb_address.client = BoundedClient(lb_address.address, 80, duration_s=45.0, interval_s=0.2, timeout_s=3.0).start()
        threading.Thread(target=watch_address, name="lb-address-watch", daemon=True).start()
        # What `vagrant halt` does on the docker provider, without Vagrant's start-up in the timing.
        docker.from_env().containers.get(f"kajitori-{LOST}").stop(timeout=10)

    try:
        figures = measure_node_loss(
            lab_api,
            node=LOST,
            take_down=take_down,
            bring_up=lambda: vagrant("up", LOST, "--no-provision"),
            count_stale=lambda: len(stale_containers(lab_api, LOST)),
            client=BoundedClient(NODES[SURVIVOR], 30080, duration_s=45.0, interval_s=0.1, timeout_s=5.0),
            progress=lines.append,
        )
        done.set()
        if lb_address.client is not None:
            lb_address.client.join()
        # node1 is Ready again: whichever node the election gives the address to, one holds it.
        def one_holder() -> list[str] | None:
            found = address_holders(lb_address.address, list(NODES))
            return found if len(found) == 1 else None

        lb_address.held_after = wait_for_value("one holder of the address", one_holder, timeout_s=30)
        lb_figures = {
            "address": lb_address.address, "held_before": lb_address.held_before, "on_survivor_s": lb_address.on_survivor_s,
            "answered_after_move": lb_address.answered_after_move(), "longest_outage_s": round(lb_address.longest_outage_s(), 1),
            "held_after": lb_address.held_after, "client": lb_address.client.summary().__dict__ if lb_address.client else None,
        }  # fmt: skip
        _print(request, f"{LOST} lost (machine stopped, then vagrant up)", lines, {**figures.as_dict(), "load_balancer": lb_figures})
        yield figures
    finally:
        done.set()
        # Also when the measurement failed: later tests expect nginx on both nodes again.
        spread_over_nodes(lab_api, list(NODES))


def test_a_quick_reboot_restarts_the_pods_and_the_service_keeps_answering(quick_reboot: RebootFigures, lab_api: ApiClient) -> None:
    assert quick_reboot.pods_on_node_before >= 1
    assert quick_reboot.pods_back_s is not None
    assert quick_reboot.client.success_rate >= 0.95, quick_reboot.client
    assert quick_reboot.client.max_seconds <= 5.5, quick_reboot.client
    assert stale_containers(lab_api, LOST) == []


def test_node1_ran_nginx_before(node_loss: FailoverFigures) -> None:
    assert node_loss.pods_on_node_before >= 1


def test_node1_is_not_ready_within_10_s(node_loss: FailoverFigures) -> None:
    assert node_loss.not_ready_s is not None and node_loss.not_ready_s <= 10.0


def test_replacements_run_on_node2_within_20_s(node_loss: FailoverFigures) -> None:
    assert node_loss.replacements_running_s is not None and node_loss.replacements_running_s <= 20.0


def test_the_service_keeps_answering(node_loss: FailoverFigures) -> None:
    summary = node_loss.client
    assert summary.requests >= 50
    assert summary.success_rate >= 0.95, summary
    assert summary.max_seconds <= 5.5, summary  # the client's own deadline, plus scheduling slack


def test_node1_comes_back_ready_without_stale_containers(node_loss: FailoverFigures, lab_api: ApiClient) -> None:
    assert node_loss.ready_again_s is not None
    assert node_loss.stale_containers == 0
    assert stale_containers(lab_api, LOST) == []


def test_the_load_balancer_address_moves_to_node2_and_answers_again(node_loss: FailoverFigures, lb_address: AddressMove) -> None:
    assert lb_address.held_before == [LOST]
    assert lb_address.on_survivor_s is not None, "node2 never took the address"
    assert lb_address.answered_after_move() >= 5, lb_address.client.summary() if lb_address.client else None
    assert lb_address.held_after is not None and len(lb_address.held_after) == 1

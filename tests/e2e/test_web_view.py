"""The web view on the lab, in Debian's headless chromium: the three nginx pods of
examples/nginx.yaml drawn on two machines; one deleted with kubectl and its replacement
drawn (the time from the API announcing it to the page drawing it is measured and
printed, not asserted tight); the pod, node, nginx Service and events pages. With
`kajitori explain`'s agent endpoint on the master, the Service page's counters are
checked to grow after ten requests through the NodePort; without it, its note.
KAJITORI_SCREENSHOTS=DIR saves a PNG of each page there (docs/images/ holds the README's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kajitori import config
from kajitori.api.registry import by_name
from kajitori.client import ApiClient
from lab.failover import app_pods, wait_until
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES
from tests.support.browser import chromium_page, first_seen_ms, pod_selector, sign_in

pytestmark = pytest.mark.e2e

SELECTOR = "app=nginx"
NODE_PORT = 30080
SHOTS = os.environ.get("KAJITORI_SCREENSHOTS")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    env = {**os.environ, "KUBECONFIG": str(ADMIN_KUBECONFIG)}
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, env=env, check=True)


def drawn_pods(page: Any) -> dict[str, str]:
    """Every pod chip the picture shows: "ns/name" -> the machine box it is in."""
    return dict(page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.machine .pod[data-pod]')]"
        ".map(p => [p.dataset.pod, p.closest('.machine').dataset.node]))"
    ))  # fmt: skip


class AddedWatch:
    """When this process hears of each new nginx pod through the API's watch (wall clock, this machine's)."""

    def __init__(self, api: ApiClient, resource_version: str) -> None:
        self.heard: dict[str, float] = {}
        self._api, self._rv = api, resource_version
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for event in self._api.watch_raw(by_name("pods"), "default", resource_version=self._rv, label_selector=SELECTOR, timeout_seconds=180):
            if event["type"] == "ADDED":
                self.heard.setdefault(event["object"]["metadata"]["name"], time.time())


@pytest.fixture
def page(lab: Path) -> Iterator[Any]:
    with chromium_page(width=1200, height=720) as browser_page:
        yield browser_page


def test_the_web_view_follows_nginx_on_the_lab(lab: Path, lab_api: ApiClient, page: Any) -> None:
    kubeconfig = config.load(str(ADMIN_KUBECONFIG))
    server = kubeconfig.server.rstrip("/")
    sign_in(page, server, str(kubeconfig.token), timeout_s=60)

    # The three nginx pods, each in its machine's box, on both machines.
    def all_drawn() -> bool:
        running = app_pods(lab_api, "default", SELECTOR)
        drawn = drawn_pods(page)
        return len(running) == 3 and all(drawn.get(f"default/{p['metadata']['name']}") == p["spec"]["nodeName"] for p in running)

    wait_until("the three nginx pods drawn in their machines", all_drawn, timeout_s=60)
    machines = {drawn_pods(page)[f"default/{p['metadata']['name']}"] for p in app_pods(lab_api, "default", SELECTOR)}
    assert machines == set(NODES), machines
    page.wait_for_selector('svg.links path[data-link^="default/nginx "]', state="attached")
    shot(page, "ui-cluster")

    # Delete one with kubectl: its replacement appears.
    listed = lab_api.request("GET", "/api/v1/namespaces/default/pods", params={"labelSelector": SELECTOR})
    before = {p["metadata"]["name"] for p in listed["items"]}
    watch = AddedWatch(lab_api, listed["metadata"]["resourceVersion"])
    victim = sorted(p["metadata"]["name"] for p in app_pods(lab_api, "default", SELECTOR))[0]
    deleted_at = time.time()
    kubectl("delete", "pod", victim, "--wait=false")

    def replacement() -> str | None:
        new = [key.split("/", 1)[1] for key in drawn_pods(page) if key.startswith("default/nginx-") and key.split("/", 1)[1] not in before]
        return new[0] if new else None

    wait_until("the replacement pod drawn", lambda: replacement() is not None, timeout_s=120)
    name = replacement()
    assert name is not None
    seen = first_seen_ms(page, "default", name)
    assert seen is not None
    wait_until("the API's watch to have announced it too", lambda: name in watch.heard, timeout_s=30)
    print(
        f"\nweb view: replacement {name} drawn {seen / 1000 - watch.heard[name]:.3f} s after the API announced it "
        f"(negative: the page heard first), {seen / 1000 - deleted_at:.3f} s after kubectl delete started"
    )

    # The pod page: containers, events, the log tail.
    page.wait_for_selector(f'{pod_selector("default", name)}[data-phase="Running"]', timeout=120_000)
    page.click(pod_selector("default", name))
    page.wait_for_selector("text=nginx:1.22")
    page.wait_for_selector('td:text-is("Scheduled")', timeout=30_000)  # the scheduler's event
    page.wait_for_selector("button[data-action=delete]", timeout=30_000)  # the admin may delete it
    # The log tail follows: requests through the NodePort until one reaches this pod and shows.
    node_of_pod = lab_api.request("GET", f"/api/v1/namespaces/default/pods/{name}")["spec"]["nodeName"]

    def logged() -> bool:
        httpx.get(f"http://{NODES[node_of_pod]}:{NODE_PORT}/web-view-e2e", timeout=10)
        return "GET /web-view-e2e" in (page.text_content("pre.log") or "")

    wait_until("a request in the pod page's log tail", logged, timeout_s=60, poll_s=0.5)
    shot(page, "ui-pod")

    node = sorted(NODES)[0]
    page.goto(f"{server}/ui/#/node/{node}")
    page.wait_for_selector("text=Pod CIDR")
    page.wait_for_selector('a[href^="#/pod/default/nginx-"]')
    shot(page, "ui-node")

    page.goto(f"{server}/ui/#/service/default/nginx")
    page.wait_for_selector('[data-endpoint-pod^="default/nginx-"]')
    explain = f"{server}/api/v1/nodes/{node}/proxy/explain/service/default/nginx"
    answer = httpx.get(explain, headers={"Authorization": f"Bearer {kubeconfig.token}"}, verify=False, timeout=10)
    if answer.status_code == 200:
        counted = f'[data-explain-node="{node}"] table.rules tbody tr td:nth-child(3)'
        page.wait_for_selector(counted, timeout=30_000)

        def packets() -> int:
            return int(page.evaluate(f"() => [...document.querySelectorAll('{counted}')].reduce((s, td) => s + Number(td.textContent), 0)"))

        start = packets()
        for _ in range(10):
            assert httpx.get(f"http://{NODES[node]}:{NODE_PORT}/", timeout=10).status_code == 200
        wait_until("the Service page's counters to grow by the ten requests", lambda: packets() >= start + 10, timeout_s=30)
    else:
        page.wait_for_selector(f'[data-explain-missing="{node}"]', timeout=30_000)
    shot(page, "ui-service")

    page.goto(f"{server}/ui/#/events")
    page.wait_for_selector("table.events tbody tr")
    shot(page, "ui-events")

"""Measuring a node's failover on the lab: what the e2e test asserts and bench/failover prints.

`measure_node_loss` takes a node away (the caller's `take_down`, e.g. `kajitori node
reboot`) while a `BoundedClient` loops on a Service's NodePort of a surviving node,
and watches the API: when the node leaves Ready, when the app's pods are all Running
again on other nodes, when the node is Ready again, and how many containers of pods no
longer bound to it its dockerd still holds (the caller's `count_stale`). Every wait
is bounded; times are seconds since `take_down` was called.

`measure_reboot` is the quick case: a machine back within the heartbeat grace is
never NotReady, and its agent restarts the pods in place; it times until every pod
that ran there is Ready again (in place or elsewhere).

`spread_over_nodes` puts a Deployment's pods back on every node afterwards (nothing
rebalances on its own, as in Kubernetes): it deletes one pod at a time from the most
crowded node and lets the scheduler's spreading place the replacement.

The client sends only to the address it is given (the lab bridge); each request is a
new connection (the proxy balances connections) bounded by one deadline in total.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kajitori.client import ServerUnavailable

POLL_S = 0.2
# What a poll of the master meets while it restarts: look again.
UNANSWERED = (OSError, ServerUnavailable)


@dataclass
class Request:
    started: float  # monotonic
    seconds: float
    ok: bool
    answer: str  # the body (nginx's /hostname: the pod name) or the error


@dataclass
class ClientSummary:
    requests: int
    succeeded: int
    success_rate: float
    max_seconds: float
    failures: list[str] = field(default_factory=list)
    answered_by: list[str] = field(default_factory=list)


def http_get(host: str, port: int, path: str, *, timeout_s: float) -> tuple[int, str]:
    """One GET on a new connection; the whole exchange ends within `timeout_s` (TimeoutError)."""
    deadline = time.monotonic() + timeout_s

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {timeout_s:g} s")
        return left

    with socket.create_connection((host, port), timeout=remaining()) as sock:
        sock.settimeout(remaining())
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            sock.settimeout(remaining())
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP answer: {status_line!r}")
    return int(parts[1]), body.decode(errors="replace").strip()


class BoundedClient:
    """GETs http://host:port/path every `interval_s` for `duration_s`, then stops by itself."""

    def __init__(self, host: str, port: int, path: str = "/hostname", *, duration_s: float,
                 interval_s: float = 0.1, timeout_s: float = 5.0) -> None:
        self.host, self.port, self.path = host, port, path
        self.duration_s, self.interval_s, self.timeout_s = duration_s, interval_s, timeout_s
        self.requests: list[Request] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bounded-client", daemon=True)

    def start(self) -> BoundedClient:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        # The loop ends by itself after duration_s, plus at most one request in flight.
        self._thread.join(self.duration_s + self.timeout_s + 5)

    def _run(self) -> None:
        end = time.monotonic() + self.duration_s
        while time.monotonic() < end and not self._stop.is_set():
            started = time.monotonic()
            try:
                status, body = http_get(self.host, self.port, self.path, timeout_s=self.timeout_s)
                ok, answer = status == 200, body if status == 200 else f"HTTP {status}"
            except OSError as exc:  # refused, unreachable, reset, timed out
                ok, answer = False, f"{type(exc).__name__}: {exc}"
            self.requests.append(Request(started, time.monotonic() - started, ok, answer))
            self._stop.wait(self.interval_s)

    def summary(self) -> ClientSummary:
        done = list(self.requests)
        good = [r for r in done if r.ok]
        return ClientSummary(
            requests=len(done),
            succeeded=len(good),
            success_rate=len(good) / len(done) if done else 0.0,
            max_seconds=max((r.seconds for r in done), default=0.0),
            failures=sorted({r.answer for r in done if not r.ok}),
            answered_by=sorted({r.answer for r in good}),
        )


# -- the API side --------------------------------------------------------------


def node_ready(api: Any, name: str) -> bool:
    node = api.request("GET", f"/api/v1/nodes/{name}")
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions") or [])


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def app_pods(api: Any, namespace: str, selector: str) -> list[dict[str, Any]]:
    """The selected pods that are Running and not being deleted."""
    items = api.request("GET", f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})["items"]
    return [p for p in items if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def wait_until(what: str, check: Callable[[], bool], *, timeout_s: float, poll_s: float = POLL_S) -> float:
    """Seconds until `check()` held; TimeoutError naming `what` after `timeout_s`."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except UNANSWERED:
            pass  # the master restarting: look again
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        time.sleep(poll_s)


@dataclass
class FailoverFigures:
    node: str
    replicas: int
    pods_on_node_before: int
    not_ready_s: float | None
    replacements_running_s: float | None
    replacements_ready_s: float | None
    ready_again_s: float | None
    stale_containers: int | None
    client: ClientSummary

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def measure_node_loss(
    api: Any,
    *,
    node: str,
    take_down: Callable[[], object],
    bring_up: Callable[[], object] | None,
    count_stale: Callable[[], int],
    client: BoundedClient,
    namespace: str = "default",
    selector: str = "app=nginx",
    replicas: int = 3,
    timeout_s: float = 120.0,
    progress: Callable[[str], None] = print,
) -> FailoverFigures:
    """Loses `node` while `client` runs; see the module docstring for what is timed.

    `bring_up` (e.g. `vagrant up`) runs once the replacements are Ready, as a machine
    whose reboot outlasts the failover comes back; None: the node returns by itself.
    """
    before = [p for p in app_pods(api, namespace, selector) if p["spec"].get("nodeName") == node]
    client.start()
    time.sleep(2.0)  # a few calm requests first: the baseline every later failure is judged against
    # Times count from the moment the take-down starts: conservative by however long it takes.
    t0 = time.monotonic()
    take_down()
    progress(f"{node}: taken down in {time.monotonic() - t0:.1f} s")
    seen: dict[str, float] = {}

    def elsewhere(need_ready: bool) -> bool:
        pods = [p for p in app_pods(api, namespace, selector) if p["spec"].get("nodeName") != node]
        return len([p for p in pods if pod_ready(p) or not need_ready]) >= replicas

    def note(name: str, what: str) -> None:
        seen[name] = time.monotonic() - t0
        progress(f"{what} after {seen[name]:.1f} s")

    deadline = t0 + timeout_s
    while time.monotonic() < deadline and len(seen) < 3:
        try:
            ready = node_ready(api, node)
            if "not_ready" not in seen and not ready:
                note("not_ready", f"{node}: NotReady")
            if "running" not in seen and elsewhere(need_ready=False):
                note("running", "replacements Running on other nodes")
            if "ready" not in seen and elsewhere(need_ready=True):
                note("ready", "replacements Ready")
            if bring_up is None and ready and "not_ready" in seen:
                break  # back before its pods moved: nothing more to wait for
        except UNANSWERED:
            pass
        time.sleep(POLL_S)
    if bring_up is not None:
        bring_up()
        progress(f"{node}: brought up after {time.monotonic() - t0:.1f} s")
    back: float | None = None
    try:
        wait_until(f"{node} Ready again", lambda: node_ready(api, node), timeout_s=max(1.0, deadline - time.monotonic()))
        back = time.monotonic() - t0
        progress(f"{node}: Ready again after {back:.1f} s")
    except TimeoutError as exc:
        progress(str(exc))
    stale: int | None = None
    if back is not None:
        # The agent removes containers of pods gone from its node at start and every relist.
        try:
            wait_until(f"no stale containers on {node}", lambda: count_stale() == 0, timeout_s=30.0, poll_s=1.0)
        except TimeoutError as exc:
            progress(str(exc))
        stale = count_stale()
        progress(f"{node}: {stale} stale containers")
    client.join()
    return FailoverFigures(
        node=node,
        replicas=replicas,
        pods_on_node_before=len(before),
        not_ready_s=seen.get("not_ready"),
        replacements_running_s=seen.get("running"),
        replacements_ready_s=seen.get("ready"),
        ready_again_s=back,
        stale_containers=stale,
        client=client.summary(),
    )


@dataclass
class RebootFigures:
    node: str
    went_not_ready: bool
    pods_on_node_before: int
    pods_back_s: float | None  # until every pod that ran there is Ready again: restarted in place or replaced
    ready_again_s: float | None
    client: ClientSummary

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def container_ids(pod: dict[str, Any]) -> set[str]:
    return {s.get("containerID") or "" for s in pod.get("status", {}).get("containerStatuses") or []}


def measure_reboot(
    api: Any,
    *,
    node: str,
    reboot: Callable[[], object],
    client: BoundedClient,
    namespace: str = "default",
    selector: str = "app=nginx",
    replicas: int = 3,
    timeout_s: float = 90.0,
    progress: Callable[[str], None] = print,
) -> RebootFigures:
    """Reboots `node` while `client` runs, and waits until its pods run again (in place or elsewhere)."""
    before = {p["metadata"]["uid"]: container_ids(p) for p in app_pods(api, namespace, selector)
              if p["spec"].get("nodeName") == node}
    client.start()
    time.sleep(2.0)
    t0 = time.monotonic()
    reboot()
    progress(f"{node}: reboot under way")
    went_not_ready = False
    pods_back: float | None = None
    ready_again: float | None = None

    def pods_are_back() -> bool:
        ready = [p for p in app_pods(api, namespace, selector) if pod_ready(p)]
        # A pod of the node counts once a new container of it runs: the API's status
        # from before the reboot says Ready until the agent writes again.
        stale = [p for p in ready if p["metadata"]["uid"] in before and container_ids(p) == before[p["metadata"]["uid"]]]
        return len(ready) >= replicas and not stale

    deadline = t0 + timeout_s
    while time.monotonic() < deadline and (pods_back is None or ready_again is None):
        try:
            ready = node_ready(api, node)
            went_not_ready = went_not_ready or not ready
            if ready_again is None and ready and time.monotonic() - t0 > 1.0:
                ready_again = time.monotonic() - t0
            if pods_back is None and pods_are_back():
                pods_back = time.monotonic() - t0
                progress(f"{node}'s pods Ready again after {pods_back:.1f} s")
        except UNANSWERED:
            pass
        time.sleep(POLL_S)
    client.join()
    return RebootFigures(node=node, went_not_ready=went_not_ready, pods_on_node_before=len(before),
                         pods_back_s=pods_back, ready_again_s=ready_again, client=client.summary())


def spread_over_nodes(api: Any, nodes: list[str], *, namespace: str = "default", selector: str = "app=nginx",
                      replicas: int = 3, timeout_s: float = 90.0) -> None:
    """Deletes pods from crowded nodes until every node runs one (or replicas are Ready on all nodes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        pods = app_pods(api, namespace, selector)
        ready = [p for p in pods if pod_ready(p)]
        by_node: dict[str, list[dict[str, Any]]] = {n: [] for n in nodes}
        for pod in ready:
            by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
        if len(ready) >= replicas and all(by_node[n] for n in nodes):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods {selector} not spread over {nodes} within {timeout_s:g} s: "
                               f"{ {n: len(p) for n, p in by_node.items()} }")
        if len(ready) >= replicas and all(node_ready(api, n) for n in nodes):
            crowded = max(by_node.values(), key=len)
            victim = crowded[0]["metadata"]["name"]
            api.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{victim}")

            def replaced(gone: str = victim) -> bool:
                ready_now = [p for p in app_pods(api, namespace, selector) if pod_ready(p)]
                return len(ready_now) >= replicas and gone not in {p["metadata"]["name"] for p in ready_now}

            # Wait for the replacement before looking again.
            wait_until(f"{selector} back to {replicas} Ready", replaced, timeout_s=max(1.0, deadline - time.monotonic()))
        else:
            time.sleep(0.5)

"""The user's day, step 5, on the three-master lab (`make lab MASTERS=3`): halt a master, watch nothing happen.

master1..3 each run an etcd member and a full master on etcd; keepalived gives the API
address 192.168.56.10 (the admin kubeconfig's server) to one whose API server answers.
While `kubectl get nodes` loops through the admin kubeconfig and a bounded client loops on
node2's NodePort 30080 (examples/nginx.yaml):

- the master holding the API address is halted as `vagrant halt` does (`docker stop` of its
  machine, systemd shuts down) for at least 30 s: kubectl never goes more than 5 s without
  an answer; a Deployment created during the outage gets Running pods; the NodePort keeps
  serving; the leader Leases it held move to another master (the time is printed). Started
  again, the master serves the API again on its own address, including the Deployment made
  while it was away (its etcd member caught up), and is back in the `kubernetes` Endpoints.
- two masters halted: etcd has no quorum; the last master still holds the address and
  refuses a write with a 503 ServiceUnavailable Status naming the storage; the running pods
  keep serving. Both started again, writes are accepted once more.

On the one-master lab (plain `make lab`, CI's e2e run) the module is skipped: it needs three
masters to halt. Every machine this module stops it starts again, whatever happens.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import docker
import pytest

from kajitori import config
from kajitori.client import ApiClient, ApiError, NotFoundError
from lab.failover import BoundedClient
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES, ROOT
from tests.e2e.lab_access import address_holders, wait_for_value

pytestmark = pytest.mark.e2e

MASTERS = {"master1": "192.168.56.21", "master2": "192.168.56.22", "master3": "192.168.56.23"}
API_ADDRESS = "192.168.56.10"
LEASES = ("kube-controller-manager", "kube-scheduler")
OUTAGE_S = 30.0
MAX_API_GAP_S = 5.0
NAMESPACE = "default"
DEPLOYMENT = "ha-during-outage"
FIGURES = ROOT / ".lab" / "ha-masters-figures.json"


def lab_masters() -> list[str]:
    """The lab's master machines (containers of any state), by their machine label."""
    found = docker.from_env().containers.list(all=True, filters={"label": "io.kajitori.lab=1"})
    return sorted(c.labels.get("io.kajitori.lab.machine", "") for c in found if c.labels.get("io.kajitori.lab.machine", "") in MASTERS)


@pytest.fixture(scope="module")
def ha_lab(request: pytest.FixtureRequest) -> Path:
    if len(lab_masters()) < len(MASTERS):
        pytest.skip("the running lab has one master (make lab); this module halts masters of `make lab MASTERS=3`")
    return request.getfixturevalue("lab")  # type: ignore[no-any-return]


@pytest.fixture
def api(ha_lab: Path) -> Iterator[ApiClient]:
    client = ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0)
    yield client
    client.close()


def halt(machine: str) -> None:
    """`vagrant halt` with the docker provider: `docker stop` (systemd shuts the machine down)."""
    docker.from_env().containers.get(f"kajitori-{machine}").stop(timeout=30)


def start(machine: str) -> None:
    container = docker.from_env().containers.get(f"kajitori-{machine}")
    container.reload()
    if container.status != "running":
        container.start()


@pytest.fixture
def restart_halted() -> Iterator[list[str]]:
    """Machines a test halts; each is started again at the end, whatever happened."""
    halted: list[str] = []
    yield halted
    for machine in halted:
        start(machine)


def kubectl(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(ADMIN_KUBECONFIG), *args],
        capture_output=True, text=True, timeout=timeout_s, check=False, env={**os.environ, "KUBECONFIG": ""},
    )  # fmt: skip


@dataclass
class KubectlProbe:
    """`kubectl get nodes` in a loop (each bounded by --request-timeout); when each one answered."""

    answered: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> KubectlProbe:
        self._thread = threading.Thread(target=self._run, name="kubectl-probe", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + 600  # stops by itself even if a test forgets it
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                done = kubectl("get", "nodes", "-o", "name", "--request-timeout=3s", timeout_s=10)
                ok = done.returncode == 0 and "node/" in done.stdout
                detail = done.stderr.strip()[-200:]
            except subprocess.TimeoutExpired:
                ok, detail = False, "kubectl did not end in 10 s"
            if ok:
                self.answered.append(time.monotonic())
            else:
                self.failures.append(detail)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(20)

    def longest_gap(self, since: float, until: float) -> float:
        """The longest time in [since, until] without an answer."""
        marks = [since, *(t for t in self.answered if since < t < until), until]
        return max(b - a for a, b in itertools.pairwise(marks))


def holder_of(api: ApiClient, lease: str) -> str:
    try:
        spec = api.request("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease}").get("spec") or {}
    except ApiError:
        return ""
    return str(spec.get("holderIdentity") or "")


def address_holder() -> str:
    holders = address_holders(API_ADDRESS, [m for m in MASTERS if m in running_masters()])
    assert len(holders) == 1, f"the API address {API_ADDRESS} is on {holders or 'no master'}"
    return holders[0]


def running_masters() -> list[str]:
    client = docker.from_env()
    return [m for m in MASTERS if client.containers.get(f"kajitori-{m}").status == "running"]


def master_serves(machine: str, path: str) -> bool:
    """The master's own API server (not the shared address) answers `path` with 200."""
    cfg = config.load(str(ADMIN_KUBECONFIG))
    try:
        with ApiClient(dataclasses.replace(cfg, server=f"https://{MASTERS[machine]}:6443"), timeout=3.0) as own:
            own.request("GET", path)
    except (ApiError, OSError):
        return False
    return True


def endpoint_ips(api: ApiClient) -> set[str]:
    try:
        subsets = api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes").get("subsets") or []
    except ApiError:
        return set()
    return {a["ip"] for s in subsets for a in s.get("addresses") or []}


def running_pods(api: ApiClient, app: str) -> list[str]:
    try:
        pods = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": f"app={app}"})["items"]
    except ApiError:
        return []
    return [p["metadata"]["name"] for p in pods if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def create_deployment(api: ApiClient) -> bool:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "labels": {"app": DEPLOYMENT}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": DEPLOYMENT}},
            "template": {
                "metadata": {"labels": {"app": DEPLOYMENT}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.22", "ports": [{"containerPort": 80}]}]},
            },
        },
    }
    try:
        api.request("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", body=body)
    except ApiError as exc:
        return exc.code == 409  # an earlier try that timed out on its way back did create it
    return True


def _seconds(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def pod_timeline(api: ApiClient) -> list[dict[str, float | None]]:
    """Per pod of the Deployment, seconds after the Deployment's creation: made, scheduled, Ready."""
    deployment = api.request("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}")
    origin = _seconds(deployment["metadata"]["creationTimestamp"]) or 0.0
    pods = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": f"app={DEPLOYMENT}"})["items"]
    timeline = []
    for pod in pods:
        when = {c["type"]: _seconds(c.get("lastTransitionTime")) for c in pod.get("status", {}).get("conditions") or []}
        marks = {"created": _seconds(pod["metadata"]["creationTimestamp"]), "scheduled": when.get("PodScheduled"), "ready": when.get("Ready")}
        timeline.append({k: round(v - origin, 1) if v is not None else None for k, v in marks.items()})
    return timeline


def delete_deployment(api: ApiClient) -> None:
    try:
        api.request("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}", params={"propagationPolicy": "Foreground"})
    except NotFoundError:
        pass


def all_three_back(api: ApiClient) -> None:
    wait_for_value("three masters in the kubernetes Endpoints", lambda: endpoint_ips(api) >= set(MASTERS.values()), timeout_s=180)


def record(name: str, figures: dict[str, object]) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    known[name] = figures
    FIGURES.write_text(json.dumps(known, indent=2))
    print(f"\n{name}: {json.dumps(figures)}")


def test_one_master_halted_nothing_happens(api: ApiClient, restart_halted: list[str]) -> None:
    all_three_back(api)
    delete_deployment(api)
    wait_for_value("no pods of an earlier run", lambda: not running_pods(api, DEPLOYMENT) or None, timeout_s=60)
    victim = address_holder()
    held = [lease for lease in LEASES if holder_of(api, lease).startswith(f"{victim}_")]
    probe = KubectlProbe().start()
    web = BoundedClient(NODES["node2"], 30080, duration_s=OUTAGE_S + 150, interval_s=0.2).start()
    try:
        wait_for_value("kubectl answers before the halt", lambda: probe.answered or None, timeout_s=30)
        halted_at = time.monotonic()
        restart_halted.append(victim)
        halt(victim)
        stopped_in = time.monotonic() - halted_at

        # Each lease it led moves to another master.
        handovers: dict[str, float] = {}
        for lease in held:

            def led_elsewhere(lease: str = lease) -> bool | str:
                return (h := holder_of(api, lease)) and not h.startswith(f"{victim}_")

            wait_for_value(f"{lease} led by another master", led_elsewhere, timeout_s=60)
            handovers[lease] = round(time.monotonic() - halted_at, 1)
        wait_for_value("the Deployment created during the outage", lambda: create_deployment(api), timeout_s=30)
        created_at = time.monotonic()
        wait_for_value("2 Running pods of the new Deployment", lambda: len(running_pods(api, DEPLOYMENT)) >= 2 or None, timeout_s=90)
        running_after = time.monotonic() - created_at
        timeline = pod_timeline(api)
        new_holder = address_holder()
        # The outage lasts at least OUTAGE_S, as a VM's reboot does.
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - halted_at)))
        outage_end = time.monotonic()
        gap = probe.longest_gap(halted_at, outage_end)

        start(victim)
        back = wait_for_value(f"{victim}'s own API server serving the Deployment made while it was down",
                              lambda: master_serves(victim, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}"),
                              timeout_s=180)  # fmt: skip
        assert back
        back_in = time.monotonic() - outage_end
        all_three_back(api)
        restart_halted.remove(victim)
        total_gap = probe.longest_gap(halted_at, time.monotonic())
    finally:
        probe.stop()
        web.stop()
        web.join()
    summary = web.summary()
    record("one master halted", {
        "halted": victim, "machine_stop_s": round(stopped_in, 1), "api_address_now_on": new_holder,
        "longest_kubectl_gap_s": round(gap, 2), "longest_kubectl_gap_incl_return_s": round(total_gap, 2),
        "kubectl_failures": len(probe.failures), "lease_handover_s": handovers,
        "deployment_running_after_s": round(running_after, 1), "pods_made_scheduled_ready_s": timeline,
        "master_serving_again_after_start_s": round(back_in, 1),
        "nodeport_success_rate": round(summary.success_rate, 4), "nodeport_longest_request_s": round(summary.max_seconds, 2),
    })  # fmt: skip
    assert new_holder != victim
    assert gap <= MAX_API_GAP_S, f"kubectl went {gap:.1f} s without an answer; failures: {probe.failures[-3:]}"
    assert total_gap <= MAX_API_GAP_S, f"kubectl went {total_gap:.1f} s without an answer around the return; failures: {probe.failures[-3:]}"
    assert summary.success_rate >= 0.95 and summary.max_seconds < 5.0, summary
    delete_deployment(api)


def test_two_masters_halted_writes_refused_pods_keep_serving(api: ApiClient, restart_halted: list[str]) -> None:
    all_three_back(api)
    holder = address_holder()
    # The holder and one more go: the address must move to the last one.
    victims = [holder, next(m for m in MASTERS if m != holder)]
    survivor = next(m for m in MASTERS if m not in victims)
    web = BoundedClient(NODES["node2"], 30080, duration_s=240, interval_s=0.2).start()
    try:
        halted_at = time.monotonic()
        for machine in victims:
            restart_halted.append(machine)
            halt(machine)
        wait_for_value(f"the API address on {survivor}", lambda: address_holders(API_ADDRESS, [survivor]) or None, timeout_s=30)
        tries: list[str] = []

        def refused_write() -> subprocess.CompletedProcess[str] | None:
            began = time.monotonic()
            done = kubectl("create", "configmap", "ha-no-quorum", "--request-timeout=30s", timeout_s=60)
            tries.append(f"after {time.monotonic() - began:.1f} s: rc={done.returncode} {done.stdout.strip()} {done.stderr.strip()[-300:]}")
            return done if done.returncode != 0 and "storage unavailable" in done.stderr else None

        try:
            refused = wait_for_value("a write refused with a Status", refused_write, timeout_s=120)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; kubectl said: {tries[-3:]}") from None
        refused_after = time.monotonic() - halted_at
        write_answered_in = float(tries[-1].split()[1])
        # The Status behind kubectl's words: 503 ServiceUnavailable, naming etcd.
        with pytest.raises(ApiError) as raw:
            api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", body={"metadata": {"name": "ha-no-quorum-raw"}})
        status = raw.value
        read = kubectl("get", "nodes", "-o", "name", "--request-timeout=20s", timeout_s=30)
        settle_until = halted_at + OUTAGE_S
        time.sleep(max(0.0, settle_until - time.monotonic()))
        for machine in victims:
            start(machine)
        wait_for_value("writes accepted again", lambda: kubectl("create", "configmap", "ha-quorum-back", "--request-timeout=20s", timeout_s=30).returncode == 0, timeout_s=180)
        resumed_after = time.monotonic() - settle_until
        all_three_back(api)
        restart_halted.clear()
    finally:
        web.stop()
        web.join()
        for name in ("ha-no-quorum", "ha-no-quorum-raw", "ha-quorum-back"):
            kubectl("delete", "configmap", name, "--ignore-not-found", timeout_s=60)
    summary = web.summary()
    record("two masters halted", {
        "halted": victims, "survivor": survivor, "write_refused_after_s": round(refused_after, 1),
        "refusal": refused.stderr.strip()[-300:], "refused_write_answered_in_s": write_answered_in,
        "tries": len(tries), "read_during_no_quorum": read.returncode == 0,
        "writes_resumed_after_start_s": round(resumed_after, 1),
        "nodeport_success_rate": round(summary.success_rate, 4), "nodeport_longest_request_s": round(summary.max_seconds, 2),
    })  # fmt: skip
    assert (status.code, status.reason) == (503, "ServiceUnavailable") and "etcd is unavailable" in status.message, status.status
    assert "storage unavailable: etcd is unavailable" in refused.stderr, refused.stderr
    assert summary.success_rate >= 0.95 and summary.max_seconds < 5.0, summary

"""The user's day, step 5, on the three-master lab (`make lab MASTERS=3`): halt a master, watch nothing happen.

master1..3 each run an etcd member and a full master on etcd; keepalived gives the API
address 192.168.56.10 (the admin kubeconfig's server) to one whose API server answers.

- Each master in turn is halted as `vagrant halt` does (`docker stop` of its machine,
  systemd shuts down) for at least 30 s and started again. The first turn halts, on
  purpose, the master leading kube-scheduler (and kube-controller-manager, when it leads
  both); each later turn the not yet halted master leading the most, so that over the
  three turns the leader of each Lease is halted. `lab.master_halt.measure_halt` watches
  each turn from outside: kubectl through the admin kubeconfig in a loop never goes more
  than 5 s without an answer; a pod on node1 resolving
  `kubernetes.default.svc.cluster.local` every 0.2 s never goes more than 5 s without an
  answer; the Leases the halted master led are taken by another master within 6 s; a
  writer creating ConfigMaps through the API address loses none that was acknowledged
  (201), neither through the address nor on the returned master's own API server; the
  NodePort of examples/nginx.yaml on node2 keeps serving. A Deployment created during the
  outage gets Running pods. Started again, the master's etcd member answers a quorum read
  (`etcdctl endpoint health` on it) with all three members started, and the master's own
  API server serves what was written while it was away (the writer's last write, the
  Deployment) and is back in the `kubernetes` Endpoints.
- Two masters halted: etcd has no quorum; the last master still holds the address and
  refuses a write with a 503 ServiceUnavailable Status naming the storage; the running pods
  keep serving. Both started again, writes are accepted once more.

Every figure is printed and kept in .lab/ha-masters-figures.json. On the one-master lab
(plain `make lab`, CI's e2e run) the module is skipped: it needs three masters to halt.
Every machine this module stops it starts again, whatever happens.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kajitori import config
from kajitori.client import ApiClient, ApiError, NotFoundError
from lab.failover import BoundedClient
from lab.master_halt import (
    LEASES,
    MASTERS,
    DnsProbe,
    address_holders,
    all_masters_back,
    endpoint_ips,
    halt,
    lab_masters,
    lease_holder,
    master_serves,
    measure_halt,
    start,
    wait_for,
)
from lab.master_halt import kubectl as kubectl_with
from tests.e2e.conftest import ADMIN_KUBECONFIG, NODES, ROOT
from tests.e2e.lab_access import wait_for_value

pytestmark = pytest.mark.e2e

OUTAGE_S = 30.0
MAX_API_GAP_S = 5.0
MAX_DNS_GAP_S = 5.0
MAX_LEASE_HANDOVER_S = 6.0
NAMESPACE = "default"
FIGURES = ROOT / ".lab" / "ha-masters-figures.json"
# The masters halted by the turns so far, in order, and the Leases each one led when halted.
TURNS: dict[str, list[str]] = {}


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


@pytest.fixture(scope="module")
def dns_probe(ha_lab: Path) -> Iterator[DnsProbe]:
    """One pod on node1 resolving a Service name every 0.2 s for the whole module (bounded: 20 min)."""
    with ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0) as client:
        probe = DnsProbe(client, node="node1", duration_s=1200)
        try:
            yield probe.start()
        finally:
            probe.delete()


@pytest.fixture
def restart_halted() -> Iterator[list[str]]:
    """Machines a test halts; each is started again at the end, whatever happened."""
    halted: list[str] = []
    yield halted
    for machine in halted:
        start(machine)


def kubectl(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return kubectl_with(ADMIN_KUBECONFIG, *args, timeout_s=timeout_s)


def address_holder() -> str:
    holders = address_holders(list(MASTERS))
    assert len(holders) == 1, f"the API address is on {holders or 'no master'}"
    return holders[0]


def running_pods(api: ApiClient, app: str) -> list[str]:
    try:
        pods = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": f"app={app}"})["items"]
    except ApiError:
        return []
    return [p["metadata"]["name"] for p in pods if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def create_deployment(api: ApiClient, name: str) -> bool:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
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


def pod_timeline(api: ApiClient, name: str) -> list[dict[str, float | None]]:
    """Per pod of the Deployment, seconds after the Deployment's creation: made, scheduled, Ready."""
    deployment = api.request("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}")
    origin = _seconds(deployment["metadata"]["creationTimestamp"]) or 0.0
    pods = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": f"app={name}"})["items"]
    timeline = []
    for pod in pods:
        when = {c["type"]: _seconds(c.get("lastTransitionTime")) for c in pod.get("status", {}).get("conditions") or []}
        marks = {"created": _seconds(pod["metadata"]["creationTimestamp"]), "scheduled": when.get("PodScheduled"), "ready": when.get("Ready")}
        timeline.append({k: round(v - origin, 1) if v is not None else None for k, v in marks.items()})
    return timeline


def delete_deployment(api: ApiClient, name: str) -> None:
    try:
        api.request("DELETE", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}", params={"propagationPolicy": "Foreground"})
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


def next_victim(api: ApiClient) -> tuple[str, dict[str, str]]:
    """The master this turn halts: of those not halted yet, the one leading the most Leases
    (kube-scheduler first); and who leads each Lease now."""
    leaders = {lease: lease_holder(api, lease)[0] for lease in LEASES}
    left = [m for m in MASTERS if m not in TURNS] or list(MASTERS)  # run alone with -k: any
    return max(left, key=lambda m: (sum(leaders[lease] == m for lease in LEASES), leaders["kube-scheduler"] == m)), leaders


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_each_master_halted_in_turn_nothing_happens(turn: int, api: ApiClient, dns_probe: DnsProbe) -> None:
    all_masters_back(api, timeout_s=180)
    victim, leaders = next_victim(api)
    assert all(leaders.values()), f"a leader Lease has no holder before the halt: {leaders}"
    if not TURNS:
        assert victim == leaders["kube-scheduler"], (victim, leaders)
    deployment = f"ha-during-outage-{turn}"
    delete_deployment(api, deployment)
    wait_for_value("no pods of an earlier run", lambda: not running_pods(api, deployment) or None, timeout_s=60)

    def during() -> dict[str, Any]:
        """A Deployment made while the master is away gets Running pods."""
        wait_for("the Deployment created during the outage", lambda: create_deployment(api, deployment), timeout_s=30)
        created_at = time.time()
        wait_for("2 Running pods of the new Deployment", lambda: len(running_pods(api, deployment)) >= 2, timeout_s=90)
        return {"deployment_running_after_s": round(time.time() - created_at, 1), "pods_made_scheduled_ready_s": pod_timeline(api, deployment)}

    TURNS[victim] = [lease for lease in LEASES if leaders[lease] == victim]
    cfg = config.load(str(ADMIN_KUBECONFIG))
    try:
        figures = measure_halt(api, ADMIN_KUBECONFIG, victim, dns_probe, outage_s=OUTAGE_S, during=during)
        serves_deployment = wait_for(f"{victim}'s own API server serving the Deployment made while it was away",
                                     lambda: master_serves(cfg, victim, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{deployment}"),
                                     timeout_s=60)  # fmt: skip
    finally:
        delete_deployment(api, deployment)
    TURNS[victim] = figures.held_leases  # as measure_halt read them, a moment after next_victim
    record(f"master halted, turn {turn}", figures.as_dict())

    assert figures.api_address_now_on and victim not in figures.api_address_now_on
    for lease in figures.held_leases:
        took = figures.lease_handover_s[lease]
        assert took is not None and took <= MAX_LEASE_HANDOVER_S, f"{lease} moved after {took} s: {figures.lease_handover_s}"
    assert figures.api_gap_s <= MAX_API_GAP_S, f"kubectl went {figures.api_gap_s} s without an answer"
    assert figures.api_gap_incl_return_s <= MAX_API_GAP_S, f"kubectl went {figures.api_gap_incl_return_s} s without an answer around the return"
    assert figures.dns["dns_gap_s"] <= MAX_DNS_GAP_S, f"cluster DNS failed for {figures.dns['dns_gap_s']} s in a pod: {figures.dns}"
    assert figures.writes_acked >= 20 and figures.writes_lost == 0 and figures.writes_lost_on_returned == 0, figures.lost_names
    assert figures.nodeport["success_rate"] >= 0.95 and figures.nodeport["longest_request_s"] < 5.0, figures.nodeport
    assert figures.etcd_started_members == sorted(MASTERS), figures.etcd_started_members
    assert serves_deployment
    if len(TURNS) == len(MASTERS):
        # Over the three turns, the leader of each Lease was halted at least once.
        assert {lease for held in TURNS.values() for lease in held} == set(LEASES), TURNS


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
        wait_for_value(f"the API address on {survivor}", lambda: address_holders([survivor]) or None, timeout_s=30)
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

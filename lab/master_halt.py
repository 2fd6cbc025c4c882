"""Measuring a master's halt on the three-master lab (`make lab MASTERS=3`): what
tests/e2e/test_ha_masters.py asserts and bench/ha_lab prints.

`measure_halt` halts one master machine as `vagrant halt` does with the docker provider
(`docker stop`: systemd shuts the machine down) for an outage of at least `outage_s`,
starts it again, and watches meanwhile, from outside the masters:

- the API, as a user sees it: `kubectl get nodes` through the admin kubeconfig (the API
  address 192.168.56.10) in a loop; the figure is the longest time without an answer;
- cluster DNS, as a pod sees it: a `DnsProbe` pod resolves a Service name every 0.2 s
  (each lookup one try of at most 1 s) and prints a timestamped ok/fail line, read from
  its log; the figure is the longest time between two answered lookups;
- the leader Leases (kube-scheduler, kube-controller-manager): when each one the halted
  master held is held by another master, counted from the halt command;
- writes: a `Writer` creates ConfigMaps through the API address one after another and
  keeps every name acknowledged with 201; afterwards each acknowledged one must exist
  (lost = 0), through the API address and through the returned master's own API server.
  A try without an answer (timeout, reset) is counted apart: it may or may not exist;
- a NodePort (node2:30080, examples/nginx.yaml) with `lab.failover.BoundedClient`;
- the return: when the master's own API server answers again, when its etcd member is
  healthy again (`etcdctl endpoint health` on the machine: a quorum read through it) and a
  started member of the cluster, and when it is back in the `kubernetes` Endpoints.

Every wait is bounded; the machine is started again whatever happens. Times are wall-clock
seconds (the lab's machines are containers of this host: one clock for the pods' log lines,
the Leases and this process). Traffic goes only to the lab bridge (192.168.56.0/24).
"""

from __future__ import annotations

import functools
import itertools
import os
import shlex
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
from docker.errors import APIError as DockerError

from kajitori import config
from kajitori.client import ApiClient, ApiError, NotFoundError
from kajitori.clock import parse_time
from lab.failover import BoundedClient, ClientSummary

MASTERS = {"master1": "192.168.56.21", "master2": "192.168.56.22", "master3": "192.168.56.23"}
API_ADDRESS = "192.168.56.10"
API_PORT = 6443
LEASES = ("kube-scheduler", "kube-controller-manager")
NODEPORT = ("192.168.56.12", 30080)  # node2, examples/nginx.yaml
MACHINE_LABEL = "io.kajitori.lab.machine"
WRITER_LABEL = "e2e.kajitori.io/ha-writer"
DNS_NAME = "kubernetes.default.svc.cluster.local"
TOOLS_IMAGE = "kajitori/tools:1"
# The lab's etcd client certificate on each master (ansible/roles/master: kajitori_data_dir/pki).
ETCDCTL = (
    "ETCDCTL_API=3 etcdctl --command-timeout=5s --endpoints=https://127.0.0.1:2379"
    " --cacert=/var/lib/kajitori/pki/etcd-ca.crt --cert=/var/lib/kajitori/pki/etcd-client.crt"
    " --key=/var/lib/kajitori/pki/etcd-client.key"
)


# -- the machines ---------------------------------------------------------------


def lab_masters() -> list[str]:
    """The lab's master machines (containers in any state), by their machine label."""
    found = docker.from_env().containers.list(all=True, filters={"label": "io.kajitori.lab=1"})
    return sorted(m for c in found if (m := c.labels.get(MACHINE_LABEL, "")) in MASTERS)


def running_masters() -> list[str]:
    client = docker.from_env()
    return [m for m in MASTERS if client.containers.get(f"kajitori-{m}").status == "running"]


def halt(machine: str) -> None:
    """`vagrant halt` with the docker provider: `docker stop` (systemd shuts the machine down)."""
    docker.from_env().containers.get(f"kajitori-{machine}").stop(timeout=30)


def start(machine: str) -> None:
    container = docker.from_env().containers.get(f"kajitori-{machine}")
    container.reload()
    if container.status != "running":
        container.start()


def machine_sh(machine: str, command: str, *, timeout_s: float = 20.0) -> tuple[int, str]:
    """Runs `command` with bash as root on a lab machine (docker exec); (exit code, output)."""
    container = docker.from_env().containers.get(f"kajitori-{machine}")
    code, output = container.exec_run(["bash", "-c", f"timeout {timeout_s:g} bash -c {shlex.quote(command)}"])
    return int(code), output.decode(errors="replace")


def address_holders(machines: list[str]) -> list[str]:
    """Which of the running `machines` carry the API address on an interface (keepalived's virtual IP)."""
    up = running_masters()
    return [m for m in machines if m in up and f" {API_ADDRESS}/32 " in machine_sh(m, "ip -o -4 addr show")[1]]


def etcd_member_healthy(machine: str) -> bool:
    """The machine's own etcd member answers a quorum read (it is in the cluster and caught up)."""
    try:
        code, out = machine_sh(machine, f"{ETCDCTL} endpoint health")
    except DockerError:  # the machine is not running (yet)
        return False
    return code == 0 and "is healthy" in out


def etcd_started_members(machine: str) -> list[str]:
    """Names of the members `etcdctl member list` (asked on `machine`) shows as started."""
    code, out = machine_sh(machine, f"{ETCDCTL} member list")
    if code != 0:
        return []
    rows = [[part.strip() for part in line.split(",")] for line in out.splitlines() if line.count(",") >= 4]
    return sorted(row[2] for row in rows if row[1] == "started")


# -- the API --------------------------------------------------------------------


def own_server(cfg: config.ClientConfig, machine: str) -> config.ClientConfig:
    """The same credentials, aimed at the machine's own API server instead of the shared address."""
    import dataclasses

    return dataclasses.replace(cfg, server=f"https://{MASTERS[machine]}:{API_PORT}")


def master_serves(cfg: config.ClientConfig, machine: str, path: str) -> bool:
    """The master's own API server answers `path` with 200."""
    try:
        with ApiClient(own_server(cfg, machine), timeout=3.0) as own:
            own.request("GET", path)
    except (ApiError, OSError):
        return False
    return True


def lease_holder(api: ApiClient, lease: str) -> tuple[str, float | None]:
    """The master (machine name) holding a leader Lease of kube-system ("" for none, or
    unanswered), and when it acquired it (the Lease's acquireTime, epoch seconds)."""
    try:
        spec = api.request("GET", f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease}").get("spec") or {}
    except ApiError:
        return "", None
    # client-go's identity, as the masters use it: "<host name>_<uuid>".
    return str(spec.get("holderIdentity") or "").split("_", 1)[0], parse_time(spec.get("acquireTime"))


def endpoint_ips(api: ApiClient) -> set[str]:
    try:
        subsets = api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes").get("subsets") or []
    except ApiError:
        return set()
    return {a["ip"] for s in subsets for a in s.get("addresses") or []}


def wait_for(what: str, check: Callable[[], Any], *, timeout_s: float, poll_s: float = 0.25) -> Any:
    """`check()`'s first truthy answer (an unanswered API counts as not yet); TimeoutError naming `what`."""
    give_up = time.monotonic() + timeout_s
    while True:
        try:
            if result := check():
                return result
        except (ApiError, OSError, httpx.HTTPError):
            pass
        if time.monotonic() > give_up:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        time.sleep(poll_s)


def all_masters_back(api: ApiClient, *, timeout_s: float) -> None:
    """Every master in the `kubernetes` Endpoints and every etcd member healthy."""
    wait_for("three masters in the kubernetes Endpoints", lambda: endpoint_ips(api) >= set(MASTERS.values()), timeout_s=timeout_s)
    for machine in MASTERS:
        wait_for(f"{machine}'s etcd member healthy", functools.partial(etcd_member_healthy, machine), timeout_s=timeout_s)


# -- the probes -----------------------------------------------------------------


def kubectl(kubeconfig: Path, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True, text=True, timeout=timeout_s, check=False, env={**os.environ, "KUBECONFIG": ""},
    )  # fmt: skip


def longest_gap(marks: list[float], since: float, until: float) -> float:
    """The longest time in [since, until] between two of `marks` (or an end of the window)."""
    inside = sorted(t for t in marks if since < t < until)
    return max(b - a for a, b in itertools.pairwise([since, *inside, until]))


@dataclass
class KubectlProbe:
    """`kubectl get nodes` in a loop (each bounded by --request-timeout); when each one answered."""

    kubeconfig: Path
    duration_s: float = 600.0  # stops by itself even if its caller does not
    answered: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> KubectlProbe:
        self._thread = threading.Thread(target=self._run, name="kubectl-probe", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                done = kubectl(self.kubeconfig, "get", "nodes", "-o", "name", "--request-timeout=3s", timeout_s=10)
                ok = done.returncode == 0 and "node/" in done.stdout
                detail = done.stderr.strip()[-200:]
            except subprocess.TimeoutExpired:
                ok, detail = False, "kubectl did not end in 10 s"
            if ok:
                self.answered.append(time.time())
            else:
                self.failures.append(detail)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(20)

    def longest_gap(self, since: float, until: float) -> float:
        return longest_gap(self.answered, since, until)


class Writer:
    """Creates ConfigMaps through one API address, one after another (no retries: every try
    has a name of its own), and sorts the tries: acknowledged (201), refused (any other
    answer), unanswered (timeout, reset: it may or may not have been written)."""

    def __init__(self, cfg: config.ClientConfig, *, interval_s: float = 0.1, timeout_s: float = 5.0,
                 duration_s: float = 600.0) -> None:  # fmt: skip
        self.run_id = uuid.uuid4().hex[:8]
        self.interval_s, self.duration_s = interval_s, duration_s
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if cfg.token:
            headers["Authorization"] = f"Bearer {cfg.token}"
        self._http = httpx.Client(base_url=cfg.server, verify=cfg.ssl_context(), headers=headers, timeout=timeout_s)
        self.acked: dict[str, float] = {}  # name -> when acknowledged
        self.refused: dict[str, str] = {}  # name -> the answer
        self.unanswered: dict[str, str] = {}  # name -> the error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def _run(self) -> None:
        end = time.monotonic() + self.duration_s
        for n in itertools.count(1):
            if self._stop.is_set() or time.monotonic() > end:
                return
            name = f"ha-writer-{self.run_id}-{n}"
            body = {"metadata": {"name": name, "labels": {WRITER_LABEL: self.run_id}}, "data": {"n": str(n)}}
            try:
                answer = self._http.post("/api/v1/namespaces/default/configmaps", json=body)
                if answer.status_code == 201:
                    self.acked[name] = time.time()
                else:
                    self.refused[name] = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                self.unanswered[name] = f"{type(exc).__name__}: {exc}"
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self._http.close()

    def stored(self, cfg: config.ClientConfig) -> set[str]:
        """The names of this writer's ConfigMaps that the server of `cfg` lists."""
        with ApiClient(cfg, timeout=10.0) as api:
            items = api.request("GET", "/api/v1/namespaces/default/configmaps", params={"labelSelector": f"{WRITER_LABEL}={self.run_id}"})["items"]
        return {item["metadata"]["name"] for item in items}

    def lost(self, cfg: config.ClientConfig, *, timeout_s: float = 30.0) -> list[str]:
        """Acknowledged writes the server of `cfg` does not list. A server's cache may trail
        its store by a moment: a write missing for `timeout_s` is taken as lost."""
        missing: list[str] = list(self.acked)

        def none_missing() -> bool:
            nonlocal missing
            stored = self.stored(cfg)
            missing = sorted(set(self.acked) - stored)
            return not missing

        try:
            wait_for("every acknowledged write listed", none_missing, timeout_s=timeout_s, poll_s=1.0)
        except TimeoutError:
            pass
        return missing

    def delete_all(self, cfg: config.ClientConfig) -> None:
        with ApiClient(cfg, timeout=30.0) as api:
            api.request("DELETE", "/api/v1/namespaces/default/configmaps", params={"labelSelector": f"{WRITER_LABEL}={self.run_id}"})

    def longest_gap(self, since: float, until: float) -> float:
        """The longest time in [since, until] without an acknowledged write."""
        return longest_gap(list(self.acked.copy().values()), since, until)


class LeaseTracker:
    """Reads the leader Leases every `interval_s` through the API address and through each
    master's own API server (a halted one just stops answering), and keeps each change of
    holder any of them showed: when it was first seen, the new holder, and the Lease's
    acquireTime (when the new holder took it). Asking every master too keeps the time seen
    close to the hand-over while the API address itself is moving."""

    def __init__(self, cfg: config.ClientConfig, *, interval_s: float = 0.25, duration_s: float = 600.0) -> None:
        self.interval_s, self.duration_s = interval_s, duration_s
        self._clients = {"address": ApiClient(cfg, timeout=2.0)}
        self._clients.update({m: ApiClient(own_server(cfg, m), timeout=1.0) for m in MASTERS})
        self._lock = threading.Lock()
        self.changes: dict[str, list[tuple[float, str, float | None]]] = {lease: [] for lease in LEASES}
        self._last: dict[tuple[str, str], str] = {}  # (source, lease) -> the holder it showed last
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(source,), name=f"lease-tracker-{source}", daemon=True)
                         for source in self._clients]  # fmt: skip

    def start(self) -> LeaseTracker:
        for lease in LEASES:  # the holders before anything happens, as the address answers
            seen = time.time()
            holder, acquired = lease_holder(self._clients["address"], lease)
            self.changes[lease].append((seen, holder, acquired))
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, source: str) -> None:
        end = time.monotonic() + self.duration_s
        while not self._stop.is_set() and time.monotonic() < end:
            for lease in LEASES:
                holder, acquired = lease_holder(self._clients[source], lease)
                seen = time.time()
                with self._lock:
                    if holder and holder != self._last.get((source, lease)):
                        self._last[source, lease] = holder
                        self.changes[lease].append((seen, holder, acquired))
            self._stop.wait(self.interval_s)

    def holder(self, lease: str) -> str:
        return self.changes[lease][0][1]

    def moved(self, lease: str, away_from: str, since: float) -> tuple[float, float] | None:
        """(taken, seen): when another master than `away_from` took the Lease after `since`
        (its acquireTime; when seen, if it has none) and when it was first seen held so."""
        with self._lock:
            found = sorted((seen, acquired) for seen, holder, acquired in self.changes[lease]
                           if seen >= since and holder and holder != away_from)  # fmt: skip
        if not found:
            return None
        seen, acquired = found[0]
        return (acquired if acquired is not None and since <= acquired <= seen else seen), seen

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for client in self._clients.values():
            client.close()


class DnsProbe:
    """A pod on `node` that resolves `DNS_NAME` through the cluster DNS every `interval_s`, one
    try of at most 1 s each (dig +time=1 +tries=1), and prints "<epoch seconds> ok|fail" per
    lookup; bounded by `duration_s`. Its log is read through the API (`pods/log`)."""

    def __init__(self, api: ApiClient, *, node: str = "node1", duration_s: float = 900.0, interval_s: float = 0.2,
                 namespace: str = "default") -> None:  # fmt: skip
        self.api, self.node, self.namespace = api, node, namespace
        self.duration_s, self.interval_s = duration_s, interval_s
        self.name = f"ha-dns-probe-{uuid.uuid4().hex[:6]}"

    def script(self) -> str:
        lookup = f"dig +short +time=1 +tries=1 {DNS_NAME} A 2>/dev/null | grep -Eq '^[0-9]+([.][0-9]+){{3}}$'"
        return (
            f"end=$(( $(date +%s) + {int(self.duration_s)} )); "
            f'while [ "$(date +%s)" -lt "$end" ]; do t=$(date +%s.%N); '
            f'if {lookup}; then echo "$t ok"; else echo "$t fail"; fi; sleep {self.interval_s:g}; done'
        )

    def start(self, *, timeout_s: float = 120.0) -> DnsProbe:
        self.api.request("POST", f"/api/v1/namespaces/{self.namespace}/pods", body={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": self.name, "labels": {"app": "ha-dns-probe"}},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": self.node},
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "dig", "image": TOOLS_IMAGE, "command": ["bash", "-c", self.script()]}],
            },
        })  # fmt: skip
        wait_for(f"{self.name} resolving {DNS_NAME}", lambda: any(ok for _, ok in self.lookups()), timeout_s=timeout_s, poll_s=1.0)
        return self

    def lookups(self) -> list[tuple[float, bool]]:
        """(when the lookup began, answered) per lookup so far."""
        text = self.api.request("GET", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/log")
        found = []
        for line in str(text or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] in ("ok", "fail"):
                try:
                    found.append((float(parts[0]), parts[1] == "ok"))
                except ValueError:
                    continue
        return found

    def figures(self, since: float, until: float) -> dict[str, Any]:
        """Over [since, until]: the longest time between two answered lookups, and the counts."""

        def reached_until() -> list[tuple[float, bool]] | None:
            got = self.lookups()
            return got if got and got[-1][0] >= until - 2 else None

        done: list[tuple[float, bool]] = wait_for("the DNS probe's log reaching the window's end", reached_until, timeout_s=30, poll_s=1.0)
        inside = [(t, ok) for t, ok in done if since <= t <= until]
        end = min(until, max(t for t, _ in done))
        runs = [len(list(group)) for ok, group in itertools.groupby(ok for _, ok in inside) if not ok]
        return {
            "dns_gap_s": round(longest_gap([t for t, ok in inside if ok], since, end), 2),
            "dns_lookups": len(inside),
            "dns_failed": sum(1 for _, ok in inside if not ok),
            "dns_longest_failed_run": max(runs, default=0),
        }

    def delete(self) -> None:
        try:
            self.api.request("DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}")
        except NotFoundError:
            pass


# -- one halt -------------------------------------------------------------------


@dataclass
class HaltFigures:
    """What one halt showed; times in seconds from the halt command unless said."""

    halted: str
    held_leases: list[str]
    held_api_address: bool
    outage_s: float
    machine_stop_s: float
    api_address_now_on: str
    lease_handover_s: dict[str, float | None]  # until another master was seen holding it (polls every 0.25 s)
    lease_acquired_s: dict[str, float | None]  # until another master took it, by the Lease's acquireTime
    api_gap_s: float  # the longest time without an answer to kubectl while the master was away
    api_gap_incl_return_s: float  # the same, up to a few seconds after it served again
    kubectl_failures: int
    dns: dict[str, Any]
    writes_acked: int
    writes_lost: int  # acknowledged, yet not listed through the API address
    writes_lost_on_returned: int  # acknowledged, yet not listed by the returned master's own API server
    writes_refused: int
    writes_unanswered: int
    writes_unanswered_stored: int  # of those, how many were written all the same (fine)
    longest_write_gap_s: float
    serving_again_s: float  # from the machine's start until its own API server answered
    etcd_rejoined_s: float  # from the machine's start until its member answered a quorum read
    etcd_started_members: list[str]
    nodeport: dict[str, Any]
    during: dict[str, Any] = field(default_factory=dict)  # what the caller's own check during the outage measured
    lost_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_halt(
    api: ApiClient,
    kubeconfig: Path,
    victim: str,
    dns: DnsProbe,
    *,
    outage_s: float = 30.0,
    during: Callable[[], dict[str, Any]] | None = None,
    limit_s: float = 180.0,
    after_return_s: float = 3.0,
    progress: Callable[[str], None] = print,
) -> HaltFigures:
    """Halts `victim` for at least `outage_s`, starts it again and measures (see the module
    docstring). `during()` runs once the Leases moved, inside the outage (e.g. a Deployment
    made and its pods Running); what it returns is kept in `HaltFigures.during`."""
    cfg = config.load(str(kubeconfig))
    all_masters_back(api, timeout_s=limit_s)
    holder_before = address_holders(list(MASTERS))
    run_s = outage_s + 3 * limit_s
    tracker = LeaseTracker(cfg, duration_s=run_s).start()
    held = [lease for lease in LEASES if tracker.holder(lease) == victim]
    probe = KubectlProbe(kubeconfig, duration_s=run_s).start()
    writer = Writer(cfg, duration_s=run_s).start()
    web = BoundedClient(*NODEPORT, duration_s=run_s, interval_s=0.2).start()
    halted = False
    try:
        wait_for("kubectl and the writer answered before the halt", lambda: probe.answered and len(writer.acked) >= 3, timeout_s=60)
        progress(f"halting {victim} (leads {held or 'nothing'}; API address on {holder_before})")
        halted_at = time.time()
        halted = True
        halt(victim)
        stopped_in = time.time() - halted_at
        handover: dict[str, float | None] = {}
        acquired: dict[str, float | None] = {}
        for lease in held:
            try:
                taken, seen = wait_for(f"{lease} held by another master", functools.partial(tracker.moved, lease, victim, halted_at),
                                       timeout_s=60, poll_s=0.1)  # fmt: skip
                acquired[lease], handover[lease] = round(taken - halted_at, 2), round(seen - halted_at, 2)
            except TimeoutError:
                handover[lease] = acquired[lease] = None
        extra = during() if during is not None else {}
        now_on = wait_for("the API address on a running master", lambda: address_holders([m for m in MASTERS if m != victim]),
                          timeout_s=30)  # fmt: skip
        time.sleep(max(0.0, halted_at + outage_s - time.time()))
        outage_end = time.time()
        progress(f"starting {victim} after {outage_end - halted_at:.0f} s")
        start(victim)
        halted = False
        # Its own API server serves the writes made while it was away.
        acked = writer.acked.copy()  # one C-level copy: the writer thread adds meanwhile
        last_write = max((n for n, t in acked.items() if t <= outage_end), key=lambda n: acked[n])
        wait_for(f"{victim}'s own API server serving a write made while it was away",
                 lambda: master_serves(cfg, victim, f"/api/v1/namespaces/default/configmaps/{last_write}"), timeout_s=limit_s)  # fmt: skip
        serving_again = time.time() - outage_end
        wait_for(f"{victim}'s etcd member healthy", lambda: etcd_member_healthy(victim), timeout_s=limit_s)
        etcd_back = time.time() - outage_end
        # Asked on the returned machine: every member started (one read may meet a member still settling).
        members = wait_for("every etcd member started, as the returned machine sees it",
                           lambda: (got := etcd_started_members(victim)) == sorted(MASTERS) and got, timeout_s=30)  # fmt: skip
        wait_for(f"{victim} back in the kubernetes Endpoints", lambda: MASTERS[victim] in endpoint_ips(api), timeout_s=limit_s)
        time.sleep(after_return_s)
        until = time.time()
    finally:
        if halted:
            start(victim)
        probe.stop()
        writer.stop()
        tracker.stop()
        web.stop()
        web.join()
    try:
        lost = writer.lost(cfg)
        lost_on_returned = writer.lost(own_server(cfg, victim))
        stored = writer.stored(cfg)
    finally:
        writer.delete_all(cfg)
    summary: ClientSummary = web.summary()
    return HaltFigures(
        halted=victim,
        held_leases=held,
        held_api_address=holder_before == [victim],
        outage_s=round(outage_end - halted_at, 1),
        machine_stop_s=round(stopped_in, 1),
        api_address_now_on=",".join(now_on),
        lease_handover_s=handover,
        lease_acquired_s=acquired,
        api_gap_s=round(probe.longest_gap(halted_at, outage_end), 2),
        api_gap_incl_return_s=round(probe.longest_gap(halted_at, until), 2),
        kubectl_failures=len(probe.failures),
        dns=dns.figures(halted_at, until),
        writes_acked=len(writer.acked),
        writes_lost=len(lost),
        writes_lost_on_returned=len(lost_on_returned),
        writes_refused=len(writer.refused),
        writes_unanswered=len(writer.unanswered),
        writes_unanswered_stored=len(set(writer.unanswered) & stored),
        longest_write_gap_s=round(writer.longest_gap(halted_at, until), 2),
        serving_again_s=round(serving_again, 1),
        etcd_rejoined_s=round(etcd_back, 1),
        etcd_started_members=members,
        nodeport={"requests": summary.requests, "success_rate": round(summary.success_rate, 4),
                  "longest_request_s": round(summary.max_seconds, 2), "failures": summary.failures[:3]},
        during=extra,
        lost_names=(lost + lost_on_returned)[:10],
    )

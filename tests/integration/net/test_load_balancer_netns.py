"""LoadBalancer Services end to end in network namespaces: a real master allocates, real proxies announce.

The lab of netns_lab.py: the master (all controllers but node-lifecycle, so the hand-made
Nodes stay Ready) listens on node1's 192.168.56.101; node2 and node3 each run a proxy and
one backend pod (n2-a 10.244.2.2, n3-a 10.244.3.2, hand-made Endpoints with their
nodeName); the client (192.168.56.100) reaches the Service only through its external IP.
Checked: the controller writes 192.168.56.200 into the status; exactly one node puts it on
its eth0 and both DNAT it (Cluster: both backends, the source masqueraded; Local: the
holder's own backend, the client's address kept); when the holder's proxy is killed and
its link goes down (the machine gone), the other node takes the address and the client,
told by gratuitous ARP, is answered again within 10 s; a deleted Service frees the address
(the next Service gets it) and `proxy --cleanup` removes it from the interface.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from net.l2_election import elect
from tests.integration.net.netns_lab import (
    BACKENDS,
    NODE_IPS,
    POD_CIDRS,
    PYTHON,
    REPO,
    NetnsLab,
    build_lab,
    sh,
)
from tests.support.node_identity import proxy_kubeconfig

pytestmark = pytest.mark.integration
PORT = 16444
LB_IP = "192.168.56.200"
NODES = ("n2", "n3")
POOL = "192.168.56.200-192.168.56.201"
_READYZ = "import httpx, ssl; httpx.get('https://127.0.0.1:{port}/readyz', verify=ssl.create_default_context(cafile='{ca}')).raise_for_status()"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NetnsLab, Path]]:
    if os.geteuid() != 0 or not shutil.which("iptables-legacy"):
        pytest.skip("needs root and iptables-legacy")
    lab = NetnsLab(prefix=f"kl{os.getpid() % 100000}")
    data = tmp_path_factory.mktemp("lb-master")
    try:
        build_lab(lab)
        for short in NODES:
            lab.exec(short, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                     "net.ipv4.conf.eth0.send_redirects=0")  # fmt: skip
        for name in ("n2-a", "n3-a"):
            short, ip = BACKENDS[name]
            lab.backend(short, name, f"{ip}:8080/tcp")
        lab.processes.append(_spawn(lab, "n1", "master", "--data-dir", str(data), "--listen", f"0.0.0.0:{PORT}",
                                    "--advertise-address", NODE_IPS["n1"], "--disable", "node-lifecycle",
                                    "--load-balancer-pool", POOL))  # fmt: skip
        deadline = time.monotonic() + 30
        ready = f"{_READYZ.format(port=PORT, ca=data / 'pki' / 'ca.crt')}"
        while not ((data / "admin.kubeconfig").exists() and lab.exec("n1", PYTHON, "-c", ready, check=False).returncode == 0):
            assert time.monotonic() < deadline, "master did not start"
            time.sleep(0.2)
        yield lab, data
    finally:
        for proc in lab.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for short in [*NODE_IPS, "br"]:
            sh("ip", "netns", "del", lab.ns(short), check=False)


def _spawn(lab: NetnsLab, short: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.ns(short), PYTHON, "-m", "cli", *args],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _api(lab: NetnsLab, data: Path, code: str) -> str:
    prelude = (
        "import json\nfrom kajitori.client import ApiClient\nfrom kajitori.api.registry import by_name\n"
        f"c = ApiClient.from_kubeconfig({str(data / 'admin.kubeconfig')!r})\n"
    )
    return lab.exec("n1", PYTHON, "-c", prelude + code).stdout


def _until(check: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached in {timeout} s")


def _holders(lab: NetnsLab) -> list[str]:
    return [s for s in NODES if f"{LB_IP}/32" in lab.exec(s, "ip", "-4", "addr", "show", "label", "eth0:ktlb", check=False).stdout]


def _answers(lab: NetnsLab, count: int) -> list[str]:
    return lab.probe("c", "tcp", LB_IP, 80, count)


def _ingress(lab: NetnsLab, data: Path, name: str) -> list[str]:
    out = _api(lab, data, f"print(json.dumps(c.get_raw(by_name('services'), {name!r}, 'default').get('status', {{}})))")
    return [i.get("ip") for i in (json.loads(out).get("loadBalancer") or {}).get("ingress") or []]


def _service(name: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}  # fmt: skip


def test_load_balancer_address_is_allocated_announced_dnated_and_moves(lab: tuple[NetnsLab, Path]) -> None:
    netns, data = lab
    kubeconfig = str(proxy_kubeconfig(data))  # system:kube-proxy, as the lab's proxies run
    nodes = [{"metadata": {"name": s}, "spec": {"podCIDR": POD_CIDRS[s]},
              "status": {"addresses": [{"type": "InternalIP", "address": NODE_IPS[s]}],
                         "conditions": [{"type": "Ready", "status": "True"}]}} for s in NODES]  # fmt: skip
    endpoints = {"metadata": {"name": "web", "namespace": "default"},
                 "subsets": [{"addresses": [{"ip": BACKENDS[n][1], "nodeName": BACKENDS[n][0]} for n in ("n2-a", "n3-a")],
                              "ports": [{"name": "http", "port": 8080}]}]}  # fmt: skip
    _api(netns, data, f"""
for n in {json.dumps(nodes)}:
    created = c.create_raw(by_name('nodes'), n)
    created['status'] = n['status']
    c.update_raw(by_name('nodes'), created, subresource='status')
c.create_raw(by_name('endpoints'), {json.dumps(endpoints)})
c.create_raw(by_name('services'), {json.dumps(_service("web"))})
""")
    _until(lambda: _ingress(netns, data, "web") == [LB_IP], what="the controller's allocation")
    proxies = {s: _spawn(netns, s, "proxy", "--kubeconfig", kubeconfig, "--node-name", s, "--check-period", "1",
                         "--load-balancer-pool", POOL) for s in NODES}  # fmt: skip
    netns.processes.extend(proxies.values())

    # Exactly the elected node holds it. (The first proxy up is alone for a moment and holds it
    # until the other's Lease appears: the hand-over is part of the start, so wait for its end.)
    holder = elect("default/web", set(NODES))
    assert holder is not None
    _until(lambda: _holders(netns) == [holder], what=f"{holder} alone announcing")

    # Through it the client reaches both backends (Cluster), and the other node's backend sees
    # the holder's address, masqueraded. (The holder's own "pod" is an address of the node
    # namespace itself here, so its packets are delivered without passing POSTROUTING.) Until
    # the holder's gratuitous ARP reached the client, a stale neighbour entry may still send it
    # to the node that held the address first, which DNATs it too: wait for the hand-over.
    def cluster_policy_through_holder() -> bool:
        answers = [r.split() for r in _answers(netns, 20) if " " in r]
        remote = [source for backend, source in answers if backend != f"{holder}-a"]
        return {backend for backend, _ in answers} == {"n2-a", "n3-a"} and set(remote) == {NODE_IPS[holder]}

    _until(cluster_policy_through_holder, what="both backends through the holder, masqueraded")
    assert _holders(netns) == [holder]

    # Local: the holder's own backend only, and it sees the client's address.
    patch = {"spec": {"externalTrafficPolicy": "Local"}}
    _api(netns, data, f"c.patch_raw(by_name('services'), 'web', {json.dumps(patch)}, 'default')")
    local = f"{holder}-a {NODE_IPS['c']}"
    _until(lambda: set(_answers(netns, 10)) == {local}, what="Local policy")

    # The holder goes away (proxy killed, link down): the other node answers within 10 s.
    other = next(s for s in NODES if s != holder)
    proxies[holder].send_signal(signal.SIGKILL)
    proxies[holder].wait()
    netns.exec(holder, "ip", "link", "set", "eth0", "down")
    gap = _until(lambda: _answers(netns, 1) == [f"{other}-a {NODE_IPS['c']}"], timeout=15, what="fail-over")
    print(f"\nfail-over: the client was answered by {other} {gap:.1f} s after {holder} went away")
    assert gap < 10
    assert _holders(netns) == [other] or holder in _holders(netns)  # the dead one's stale address is unreachable

    # Delete frees the address: the next Service gets it, and the holder gives it up meanwhile.
    _api(netns, data, "c.delete_raw(by_name('services'), 'web', 'default')")
    _until(lambda: other not in _holders(netns), what="address given up")
    _api(netns, data, f"c.create_raw(by_name('services'), {json.dumps(_service('next'))})")
    _until(lambda: _ingress(netns, data, "next") == [LB_IP], what="freed address handed out again")

    # --cleanup removes it from the interface (a killed proxy leaves it behind).
    netns.exec(holder, "ip", "link", "set", "eth0", "up")
    for proc in proxies.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    for s in NODES:
        assert netns.exec(s, PYTHON, "-m", "cli", "proxy", "--cleanup", "--node-name", s).returncode == 0
    assert _holders(netns) == []
    assert "KT-" not in netns.exec(other, "iptables-legacy-save").stdout

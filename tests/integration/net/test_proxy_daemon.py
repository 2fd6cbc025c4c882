"""`kajitori proxy` against a real master: API objects in, working ClusterIP/NodePort rules out.

A lab of its own (namespaces prefixed differently from the engine tests' lab): the master
and the proxy daemon both run inside node1's namespace, the test writes Nodes, a Service
and its Endpoints through the API there, and a client outside the cluster connects
through node1's NodePort and the ClusterIP to backends on node2 and node3. Then the
proxy is killed (rules stay), restarted (no gap), and `--cleanup` removes its chains.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = pytest.mark.integration
PORT = 16443


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NetnsLab, Path]]:
    if os.geteuid() != 0 or not shutil.which("iptables-legacy"):
        pytest.skip("needs root and iptables-legacy")
    lab = NetnsLab(prefix=f"kp{os.getpid() % 100000}")
    data = tmp_path_factory.mktemp("proxy-master")
    try:
        build_lab(lab)
        for name, (short, ip) in BACKENDS.items():
            lab.backend(short, name, f"{ip}:8080/tcp")
        master = _spawn(lab, "n1", "master", "--data-dir", str(data), "--listen", f"127.0.0.1:{PORT}", "--no-controllers")
        lab.processes.append(master)
        _wait_api(lab, data)
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
    """Run client code inside node1 (where the master listens on loopback)."""
    prelude = (
        "from kajitori.client import ApiClient\n"
        "from kajitori.api.registry import by_name\n"
        f"c = ApiClient.from_kubeconfig({str(data / 'admin.kubeconfig')!r})\n"
    )
    return lab.exec("n1", PYTHON, "-c", prelude + code).stdout


# The master serves HTTPS with its own CA (written to pki/ before it listens).
_READYZ = "import httpx, ssl; httpx.get('https://127.0.0.1:{port}/readyz', verify=ssl.create_default_context(cafile='{ca}')).raise_for_status()"


def _wait_api(lab: NetnsLab, data: Path) -> None:
    # A deadline, not a count of tries: each try is a Python process, slow on a loaded machine.
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while time.monotonic() < deadline:
        if (data / "admin.kubeconfig").exists() and lab.exec("n1", PYTHON, "-c", _READYZ.format(port=PORT, ca=data / "pki" / "ca.crt"), check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"master in node1 did not start in {PROCESS_TIMEOUT_S}s")


def _objects(lab: NetnsLab, data: Path) -> None:
    nodes = [
        {"metadata": {"name": short}, "spec": {"podCIDR": POD_CIDRS[short]}, "status": {"addresses": [{"type": "InternalIP", "address": NODE_IPS[short]}]}}
        for short in ("n1", "n2", "n3")
    ]
    service = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]},
    }
    endpoints = {
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": ip} for _, ip in BACKENDS.values()], "ports": [{"name": "http", "port": 8080}]}],
    }
    _api(lab, data, f"""
for n in {json.dumps(nodes)}:
    c.create_raw(by_name('nodes'), n)
c.create_raw(by_name('services'), {json.dumps(service)})
c.create_raw(by_name('endpoints'), {json.dumps(endpoints)})
""")


def _names(replies: list[str]) -> set[str]:
    return {r.split()[0] for r in replies if r and not r.startswith(("refused", "timeout", "error"))}


def _until(check: object, timeout: float = PROCESS_TIMEOUT_S) -> None:
    """Poll ``check`` (a limit that includes a proxy process starting on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def test_proxy_daemon_programs_services_from_the_api(lab: tuple[NetnsLab, Path]) -> None:
    netns, data = lab
    kubeconfig = str(proxy_kubeconfig(data))  # system:kube-proxy, as the lab's proxies run
    _objects(netns, data)
    proxy = _spawn(netns, "n1", "proxy", "--kubeconfig", kubeconfig, "--node-name", "n1", "--check-period", "1")
    netns.processes.append(proxy)

    def nodeport_reaches_all() -> bool:
        return _names(netns.probe("c", "tcp", NODE_IPS["n1"], 30080, 30)) == set(BACKENDS)

    _until(nodeport_reaches_all)
    assert _names(netns.probe("c", "tcp", "10.96.0.20", 80, 30)) == set(BACKENDS)
    routes = netns.exec("n1", "ip", "route", "show", "proto", "44").stdout
    assert "10.244.2.0/24 via 192.168.56.102" in routes and "10.244.3.0/24 via 192.168.56.103" in routes

    # An endpoint change through the API reaches the rules.
    only_a = {"subsets": [{"addresses": [{"ip": BACKENDS["n2-a"][1]}], "ports": [{"name": "http", "port": 8080}]}]}
    _api(netns, data, f"c.patch_raw(by_name('endpoints'), 'web', {json.dumps(only_a)}, 'default')")
    _until(lambda: _names(netns.probe("c", "tcp", NODE_IPS["n1"], 30080, 10)) == {"n2-a"})

    # kill -9 of the proxy leaves the rules working; a restart rewrites them without a gap.
    proxy.send_signal(signal.SIGKILL)
    proxy.wait()
    assert _names(netns.probe("c", "tcp", "10.96.0.20", 80, 5)) == {"n2-a"}
    again = _spawn(netns, "n1", "proxy", "--kubeconfig", kubeconfig, "--node-name", "n1", "--check-period", "1")
    netns.processes.append(again)
    for _ in range(10):
        assert _names(netns.probe("c", "tcp", "10.96.0.20", 80, 2)) == {"n2-a"}
        time.sleep(0.2)

    # No endpoints: refused at once, not a hang.
    _api(netns, data, "c.patch_raw(by_name('endpoints'), 'web', {'subsets': None}, 'default')")
    _until(lambda: netns.probe("c", "tcp", "10.96.0.20", 80, 1) == ["refused"])

    again.terminate()
    again.wait(PROCESS_TIMEOUT_S)
    cleanup = netns.exec("n1", PYTHON, "-m", "cli", "proxy", "--cleanup", "--node-name", "n1")
    assert cleanup.returncode == 0
    save = netns.exec("n1", "iptables-legacy-save").stdout
    assert "KT-" not in save
    assert netns.exec("n1", "ip", "route", "show", "proto", "44").stdout.strip() == ""

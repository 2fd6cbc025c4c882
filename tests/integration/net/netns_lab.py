"""A lab of network namespaces for the net/ integration tests.

    kt<id>-br   bridge br0 joining everyone (no address of its own)
    kt<id>-n1   192.168.56.101  "node1": runs the proxy (ip_forward on)
    kt<id>-n2   192.168.56.102  "node2": pods 10.244.2.2, 10.244.2.3 on bridge kt0 (10.244.2.1/24)
    kt<id>-n3   192.168.56.103  "node3": pods 10.244.3.2, 10.244.3.53 on kt0 (10.244.3.1/24)
    kt<id>-c    192.168.56.100  a client outside the cluster (and the "node" of the route tests)

Addresses exist only inside these namespaces; no interface of the host is touched and no
packet leaves them. Every namespace and process made here is removed in `finally`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
REPO = HERE.parents[2]
PYTHON = sys.executable

NODE_IPS = {"n1": "192.168.56.101", "n2": "192.168.56.102", "n3": "192.168.56.103", "c": "192.168.56.100"}
PODS = {"n2": ["10.244.2.2", "10.244.2.3"], "n3": ["10.244.3.2", "10.244.3.53"]}
BACKENDS = {"n2-a": ("n2", "10.244.2.2"), "n2-b": ("n2", "10.244.2.3"), "n3-a": ("n3", "10.244.3.2")}
DNS_POD = ("n3", "10.244.3.53")
POD_CIDRS = {"n1": "10.244.1.0/24", "n2": "10.244.2.0/24", "n3": "10.244.3.0/24"}
ANSWER_TIMEOUT_S = 20.0
"""How long a probe waits for an answer: the backends are Python processes, slow to answer on a
loaded machine (with 2 s a late answer read as "timeout"). Returns at once when one comes."""
NO_ANSWER_TIMEOUT_S = 2.0
"""For a probe whose packets are dropped: nothing answers, so any wait gives the same result."""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc


class Driver:
    """A net_driver.py process inside one namespace."""

    def __init__(self, netns: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, PYTHON, str(HERE / "net_driver.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.read() == "ready"

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("net_driver exited")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def __call__(self, op: str, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class NetnsLab:
    prefix: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)

    def ns(self, short: str) -> str:
        return f"{self.prefix}-{short}"

    def exec(self, short: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(short), *args, check=check)

    def driver(self, short: str) -> Driver:
        driver = Driver(self.ns(short))
        self.drivers.append(driver)
        return driver

    def backend(self, short: str, name: str, *binds: str) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(short), PYTHON, str(HERE / "backend_server.py"), name, *binds],
            stdout=subprocess.PIPE, text=True,
        )
        self.processes.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def probe(self, short: str, proto: str, host: str, port: int, count: int = 1, source: str = "", *,
              timeout: float = ANSWER_TIMEOUT_S) -> list[str]:  # fmt: skip
        """``count`` tries from namespace ``short``; a try that should get no answer passes a short ``timeout``."""
        args = [PYTHON, str(HERE / "probe.py"), str(timeout), proto, host, str(port), str(count)]
        out = self.exec(short, *args, *([source] if source else [])).stdout
        return list(json.loads(out))

    def dns(self, short: str, server: str, name: str, qtype: str = "A", transport: str = "udp") -> dict[str, Any]:
        out = self.exec(short, PYTHON, str(HERE / "dns_probe.py"), server, "53", name, qtype, transport).stdout
        return dict(json.loads(out))

    def iptables_save(self, short: str) -> str:
        """iptables-save of nat and filter without comment lines and counters, for comparisons."""
        for table in ("nat", "filter"):  # a table never used in a namespace is not listed at all
            self.exec(short, "iptables-legacy", "-t", table, "-S")
        text = self.exec(short, "iptables-legacy-save").stdout
        return "\n".join(
            line.split(" [")[0] if line.startswith(":") else line
            for line in text.splitlines()
            if not line.startswith("#")
        )


def build_lab(lab: NetnsLab) -> None:
    br = lab.ns("br")
    sh("ip", "netns", "add", br)
    sh("ip", "-n", br, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", br, "link", "set", "br0", "up")
    for short, ip in NODE_IPS.items():
        ns = lab.ns(short)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", br, "link", "add", f"p-{short}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", br, "link", "set", f"p-{short}", "master", "br0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        if short in PODS:
            sh("ip", "-n", ns, "link", "add", "kt0", "type", "bridge")
            sh("ip", "-n", ns, "link", "set", "kt0", "up")
            sh("ip", "-n", ns, "addr", "add", POD_CIDRS[short].replace(".0/24", ".1/24"), "dev", "kt0")
            for pod in PODS[short]:
                sh("ip", "-n", ns, "addr", "add", f"{pod}/32", "dev", "kt0")
    # node1 forwards service traffic; its own connections to ClusterIPs need a route to leave by
    # (a real node has a default route), and the client sends service traffic to node1.
    lab.exec("n1", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # The client and the backends share node1's one link, so node1 would answer forwarded packets
    # with ICMP redirects, which use up the per-host ICMP allowance (1/s) that REJECT's port
    # unreachable needs; and several UDP refusals a second to one client are this test's normal.
    lab.exec("n1", "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0",
             "net.ipv4.icmp_ratelimit=0")
    sh("ip", "-n", lab.ns("n1"), "route", "add", "10.96.0.0/12", "dev", "eth0")
    sh("ip", "-n", lab.ns("c"), "route", "add", "10.96.0.0/12", "via", NODE_IPS["n1"])



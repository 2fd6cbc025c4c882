"""bench/streams: what the master -> agent -> docker path costs an exec and a port-forward.

A real master (API server only) and a real `kajitori agent` on this machine's dockerd run
one busybox pod. Exec round trip: `kubectl exec POD -- true` (kubectl 1.33, WebSocket v5)
against `docker exec CONTAINER true` on the node itself, p50/p99 of N runs each, and their
ratio. Port-forward throughput: 100 MB read from `nc` in the pod through `kubectl
port-forward` (SPDY in a WebSocket, then the agent link, then the pod's namespace) against
direct connections from the node, to the pod IP and to 127.0.0.1 inside the pod's network
namespace (the forward's own last hop), in MB/s, and the ratios. Prints the
figures with the load average and writes bench/results/streams.json; never asserts.

    .venv/bin/python bench/streams/run.py [--runs 20] [--megabytes 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from agent.pod_netns import connect_in_netns
from bench.common import summary_ms, write_result
from kajitori.api.core import Pod
from tests.integration.agent.agent_process import (
    AgentProcess,
    make_pod,
    node_containers,
    remove_node_objects,
    remove_test_network,
    shell,
    wait_for,
)
from tests.support.master_process import MasterProcess, free_port
from tests.support.processes import stop_process

NODE = "bench-streams-node"
NETWORK = "kajitori-bench-streams"
PORT = 9000
KUBECTL = str(Path(os.path.realpath(subprocess.run(["sh", "-c", "command -v kubectl"], capture_output=True, text=True).stdout.strip())).parent / "kubectl.1.33")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def read_mb_per_s(port: int, host: str, total: int, *, netns_pid: int = 0) -> float:
    connected = connect_in_netns(netns_pid, port) if netns_pid else socket.create_connection((host, port), timeout=60)
    with connected as sock:
        got, started = 0, time.perf_counter()
        while got < total:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        elapsed = time.perf_counter() - started
    return got / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    total = args.megabytes * 1_000_000
    docker_api = docker.APIClient(version="1.41")
    work = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    master = MasterProcess(work / "master").start()
    agent = AgentProcess(master, NODE, work / "agent", network=NETWORK).start()
    forward: subprocess.Popen[str] | None = None
    try:
        api = master.client()
        serve = f"trap 'exit 0' TERM; while true; do head -c {total} /dev/zero | nc -l -p {PORT}; done & wait"
        api.create(make_pod("bench", NODE, [shell("main", serve)]))
        wait_for("the pod running", lambda: api.get(Pod, "bench", "default").status.phase == "Running")
        uid = api.get(Pod, "bench", "default").metadata.uid
        main_id = next(c["Id"] for c in node_containers(docker_api, NODE, uid) if "pause" not in c["Image"])
        env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(work)}
        timed([KUBECTL, "exec", "bench", "--", "true"], env)  # warm kubectl's discovery cache
        through = [timed([KUBECTL, "exec", "bench", "--", "true"], env) for _ in range(args.runs)]
        direct = [timed(["docker", "exec", main_id, "true"], env) for _ in range(args.runs)]
        exec_figures: dict[str, Any] = {"kubectl_exec": summary_ms(through), "docker_exec": summary_ms(direct), "load": load_average()}
        exec_figures["p50_ratio"] = exec_figures["kubectl_exec"]["p50_ms"] / exec_figures["docker_exec"]["p50_ms"]
        print(
            f"exec round trip ({args.runs} runs): kubectl exec p50 {exec_figures['kubectl_exec']['p50_ms']:.0f} ms "
            f"p99 {exec_figures['kubectl_exec']['p99_ms']:.0f} ms; docker exec p50 {exec_figures['docker_exec']['p50_ms']:.0f} ms "
            f"p99 {exec_figures['docker_exec']['p99_ms']:.0f} ms; ratio {exec_figures['p50_ratio']:.2f}; load {exec_figures['load']}"
        )
        pod_ip = api.get(Pod, "bench", "default").status.podIP or ""

        def listening() -> bool:
            return subprocess.run(["docker", "exec", main_id, "sh", "-c", f"netstat -ltn | grep -q :{PORT}"]).returncode == 0

        # Direct, forwarded, direct again: the pod's nc restarts between runs, and the machine is shared.
        wait_for("nc listening", listening)
        straight_runs = [read_mb_per_s(PORT, pod_ip, total)]
        local = free_port()
        forward = subprocess.Popen([KUBECTL, "port-forward", "pod/bench", f"{local}:{PORT}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert forward.stdout is not None and forward.stdout.readline().startswith("Forwarding from")
        wait_for("nc listening again", listening)
        forwarded = read_mb_per_s(local, "127.0.0.1", total)
        wait_for("nc listening again", listening)
        straight_runs.append(read_mb_per_s(PORT, pod_ip, total))
        straight = max(straight_runs)
        # The forward's own last hop: 127.0.0.1 inside the pod's namespace, as the agent connects.
        sandbox = next(c["Id"] for c in node_containers(docker_api, NODE, uid) if "pause" in c["Image"])
        wait_for("nc listening again", listening)
        in_netns = read_mb_per_s(PORT, "", total, netns_pid=int(docker_api.inspect_container(sandbox)["State"]["Pid"]))
        pf: dict[str, Any] = {
            "port_forward_mb_s": forwarded, "direct_pod_ip_mb_s": straight, "direct_in_netns_mb_s": in_netns,
            "ratio_to_pod_ip": forwarded / straight, "ratio_to_netns": forwarded / in_netns, "megabytes": args.megabytes, "load": load_average(),
        }  # fmt: skip
        print(
            f"port-forward {args.megabytes} MB: {forwarded:.0f} MB/s through kubectl; direct from the node {straight:.0f} MB/s to the pod IP "
            f"(ratio {pf['ratio_to_pod_ip']:.2f}), {in_netns:.0f} MB/s to 127.0.0.1 in the pod's namespace (ratio {pf['ratio_to_netns']:.2f}); load {pf['load']}"
        )
        write_result("streams", {"exec": exec_figures, "port_forward": pf})
    finally:
        stop_process(forward)  # type: ignore[arg-type]
        agent.stop()
        master.stop()
        remove_node_objects(docker_api, NODE)
        remove_test_network(docker_api, NETWORK)
        docker_api.close()


if __name__ == "__main__":
    main()

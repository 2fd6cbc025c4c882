"""Benchmark of an agent restart: the time from `kajitori agent`'s process start to its first Lease renewal.

The master marks a node NotReady when its Lease is older than the grace period (6 s in the
lab), so a restarted agent must renew within it even on a loaded machine. A real
`kajitori master` (no controllers) runs on a loopback port; then, ``--runs`` times per
path, an agent (``--runtime fake``, node ``bench-restart``) is started, the Lease is polled
until its renewTime is later than the process start, and the agent is stopped (SIGTERM).

Two paths, each the `kajitori` console script of its tree:
  old  ``--old-tree``'s ``from cli.main import app; app()`` (every command module, then the
       agent built in full before its first renewal); ``git archive 166feba | tar -x -C DIR``
  new  this tree's ``cli.daemon_entry.main`` (the lean path and the early renewal)

With ``--stress`` and Debian's ``stress-ng`` on PATH, the runs are repeated with
``stress-ng --cpu N --timeout 60`` keeping the cores busy (ended by its pid after the runs).
Prints the figures and writes bench/results/agent_restart.json. No figure is asserted.

    .venv/bin/python bench/agent_restart/run.py [--runs 5] [--old-tree DIR] [--stress]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import summary_ms, write_result  # noqa: E402
from kajitori.api.coordination import Lease  # noqa: E402
from kajitori.client import ApiClient, NotFoundError  # noqa: E402
from tests.support.master_process import MasterProcess  # noqa: E402
from tests.support.node_identity import node_kubeconfig  # noqa: E402

NODE = "bench-restart"
ENTRY = {
    "old": "import sys; sys.argv[0] = 'kajitori'; from cli.main import app; sys.exit(app())",
    "new": "import sys; sys.argv[0] = 'kajitori'; from cli.daemon_entry import main; sys.exit(main())",
}


def renew_time(api: ApiClient) -> float | None:
    try:
        lease = api.get(Lease, NODE, "kube-node-lease")
    except NotFoundError:
        return None
    when = lease.spec.renewTime if lease.spec else None
    return datetime.fromisoformat(str(when).replace("Z", "+00:00")).timestamp() if when else None


def one_restart(api: ApiClient, master: MasterProcess, tree: Path, path: str, work: Path) -> float:
    """Seconds from the agent process's start to the first Lease renewal it made."""
    cmd = [
        sys.executable, "-c", ENTRY[path], "agent", "--kubeconfig", str(work / "node.kubeconfig"),
        "--node-name", NODE, "--node-ip", "127.0.0.1", "--runtime", "fake", "--port", "0",
        "--pods-root", str(work / "pods"), "--cert-dir", str(work / "pki"), "--volumes-root", str(work / "volumes"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree)}
    log = (work / f"agent-{path}.log").open("ab")
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = started + 60
        while time.time() < deadline:
            renewed = renew_time(api)
            if renewed is not None and renewed >= started:
                return renewed - started
            if proc.poll() is not None:
                raise RuntimeError(f"agent ({path}) exited with {proc.returncode}; see {work}/agent-{path}.log")
            time.sleep(0.01)
        raise RuntimeError(f"agent ({path}) did not renew its Lease in 60 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(api: ApiClient, master: MasterProcess, trees: dict[str, Path], runs: int, work: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"load_1min_before": round(os.getloadavg()[0], 2)}
    for path, tree in trees.items():
        times = [one_restart(api, master, tree, path, work) for _ in range(runs)]
        figures[path] = summary_ms(times)
        print(f"  {path}: start → first renewal p50 {figures[path]['p50_ms']:.0f} ms, max {figures[path]['max_ms']:.0f} ms (n={runs})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--old-tree", type=Path, help="a checkout of the tree before the change (old path skipped without it)")
    parser.add_argument("--stress", action="store_true", help="repeat with stress-ng --cpu <cpus> --timeout 60")
    args = parser.parse_args()
    trees = {"new": REPO} if args.old_tree is None else {"old": args.old_tree.resolve(), "new": REPO}
    figures: dict[str, Any] = {"runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="bench-agent-restart-") as tmp:
        work = Path(tmp)
        master = MasterProcess(work / "master", extra_args=["--no-controllers"]).start()
        try:
            # The node's own certificate, as a joined node has (node bench-restart, system:nodes).
            node_kubeconfig(master.data_dir, NODE, work / "node.kubeconfig", master.url)
            api = master.client()
            print("idle (whatever else runs on the machine):")
            figures["idle"] = measure(api, master, trees, args.runs, work)
            stress_ng = shutil.which("stress-ng")
            if args.stress and stress_ng is None:
                print("stress-ng is not installed: no loaded runs")
            elif args.stress and stress_ng is not None:
                cpus = os.cpu_count() or 1
                stress = subprocess.Popen([stress_ng, "--cpu", str(cpus), "--timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(2)
                    print(f"with stress-ng --cpu {cpus}:")
                    figures["stress"] = measure(api, master, trees, args.runs, work)
                finally:
                    stress.terminate()
                    stress.wait()
        finally:
            master.stop()
    write_result("agent_restart", figures)


if __name__ == "__main__":
    main()

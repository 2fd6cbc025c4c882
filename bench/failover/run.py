"""Benchmark of failover on the real lab: how fast a lost node's pods run elsewhere, and
how much of a Service's traffic is lost meanwhile.

Needs the lab (`make lab`); without it, says so and exits 0 (it is no figure of this
machine's code alone). While a bounded client loops on node2's NodePort (0.1 s apart,
each request a new connection ending within 5 s; only to the lab bridge):

1. node1 rebooted (`kajitori node reboot node1`, a real `systemctl reboot`): a node
   container is back within the heartbeat grace, so its pods restart in place;
2. node1 lost (its machine stopped as `vagrant halt` does, `vagrant up` once its pods
   moved): node loss -> NotReady, -> replacements Running / Ready, node back Ready.

Prints the figures next to Kubernetes' defaults and Docker Swarm's and writes
bench/results/failover.json. The nginx pods are spread over both nodes again after.

    .venv/bin/python bench/failover/run.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.common import write_result  # noqa: E402
from kajitori import config  # noqa: E402
from kajitori.client import ApiClient, ApiError  # noqa: E402
from lab.failover import (  # noqa: E402
    BoundedClient,
    measure_node_loss,
    measure_reboot,
    node_ready,
    spread_over_nodes,
)

ADMIN_KUBECONFIG = REPO / ".lab" / "admin.kubeconfig"
NODES = {"node1": "192.168.56.11", "node2": "192.168.56.12"}
LOST, SURVIVOR = "node1", "node2"
# What the others take by default, for the printout (documented figures, not measured here).
KUBERNETES_EVICTION_S = 40 + 300 + 10  # node-monitor-grace-period + default tolerationSeconds + a sync: ~5 min 50 s
SWARM_NODE_DOWN_S = 15  # dispatcher heartbeat period 5 s x grace multiplier 3


def stale_containers(api: ApiClient, machine: str) -> int:
    """Containers of Kajitori's pods in the machine's dockerd whose pod is no longer bound to it."""
    import docker

    bound = {p["metadata"]["uid"] for p in
             api.request("GET", "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={machine}"})["items"]}
    node = docker.from_env().containers.get(f"kajitori-{machine}")
    code, out = node.exec_run(["docker", "ps", "-a", "--filter", "label=io.kajitori.managed",
                               "--format", '{{.Label "io.kajitori.pod.uid"}}'])
    if code != 0:
        raise RuntimeError(out.decode(errors="replace"))
    return sum(1 for uid in out.decode().split() if uid not in bound)


def main() -> int:
    try:
        api = ApiClient(config.load(str(ADMIN_KUBECONFIG)), timeout=10.0)
        up = all(node_ready(api, n) for n in NODES)
    except (config.ConfigError, ApiError, OSError):
        up = False
    if not up:
        print("bench/failover: the lab is not up (run `make lab`); skipped")
        return 0
    import docker

    spread_over_nodes(api, list(NODES))
    print(f"== reboot of {LOST} (kajitori node reboot) while a client loops on {SURVIVOR}:30080")
    reboot = measure_reboot(
        api, node=LOST,
        reboot=lambda: subprocess.run([str(REPO / ".venv/bin/kajitori"), "node", "reboot", LOST, "--no-wait",
                                       "--kubeconfig", str(ADMIN_KUBECONFIG)], check=True, capture_output=True, timeout=30),
        client=BoundedClient(NODES[SURVIVOR], 30080, duration_s=20.0),
        progress=lambda line: print(f"   {line}"),
    )
    spread_over_nodes(api, list(NODES))
    print(f"== loss of {LOST} (machine stopped, back with vagrant up once its pods moved)")
    loss = measure_node_loss(
        api, node=LOST,
        take_down=lambda: docker.from_env().containers.get(f"kajitori-{LOST}").stop(timeout=10),
        bring_up=lambda: subprocess.run(["vagrant", "up", LOST, "--no-provision"], cwd=REPO, check=True,
                                        capture_output=True, timeout=180),
        count_stale=lambda: stale_containers(api, LOST),
        client=BoundedClient(NODES[SURVIVOR], 30080, duration_s=45.0),
        progress=lambda line: print(f"   {line}"),
    )
    spread_over_nodes(api, list(NODES))

    def secs(value: float | None) -> str:
        return "never" if value is None else f"{value:5.1f} s"

    rc, lc = reboot.client, loss.client
    print()
    print(f"{'':44}{'Kajitori':>12}{'Kubernetes*':>14}{'Swarm*':>10}")
    print(f"{'node loss -> NotReady':44}{secs(loss.not_ready_s):>12}{'~40 s':>14}{'~15 s':>10}")
    print(f"{'node loss -> replacements Running':44}{secs(loss.replacements_running_s):>12}{'~5 min 50 s':>14}{'~15 s+':>10}")
    print(f"{'node loss -> replacements Ready':44}{secs(loss.replacements_ready_s):>12}")
    print(f"{'Service answered during the loss':44}{lc.success_rate * 100:>10.1f} %   ({lc.succeeded}/{lc.requests}, slowest {lc.max_seconds:.2f} s)")
    print(f"{'node back Ready / stale containers left':44}{secs(loss.ready_again_s):>12} / {loss.stale_containers}")
    print(f"{'quick reboot: NotReady seen':44}{reboot.went_not_ready!s:>12}")
    print(f"{'quick reboot: its pods Ready again':44}{secs(reboot.pods_back_s):>12}")
    print(f"{'Service answered during the reboot':44}{rc.success_rate * 100:>10.1f} %   ({rc.succeeded}/{rc.requests}, slowest {rc.max_seconds:.2f} s)")
    print("* documented defaults: Kubernetes node-monitor-grace-period 40 s + NoExecute toleration 300 s;"
          " Docker Swarm marks a node down after 3 missed 5 s heartbeats")
    figures: dict[str, Any] = {
        "node_loss": loss.as_dict(),
        "quick_reboot": reboot.as_dict(),
        "reference": {"kubernetes_default_eviction_s": KUBERNETES_EVICTION_S, "swarm_node_down_s": SWARM_NODE_DOWN_S},
    }
    write_result("failover", figures)
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Drives Kajitori's network code inside a test namespace over JSON lines on stdin/stdout.

Started as `ip netns exec NS python net_driver.py`; every request is one JSON object
{"op": ..., ...} and gets one line {"ok": true, "result": ...} or {"ok": false, "error": ...}.
All iptables work happens in this one thread, as in the proxy daemon; reading rules back with
python-iptables (`agent_explain`) happens in the agent's explain endpoint (agent.server, plain
HTTP on this namespace's loopback; no master behind it, so it takes the one static token
"node-token" instead of asking a master about a caller's), on its ChainReader's own thread.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from typing import Any

import httpx

from agent.explain import Explainer
from agent.fake_runtime import FakeRuntime
from agent.server import AgentServer, TokenChecker
from net.dns import ClusterDNSServer, ServiceNameTable
from net.iptables_counters import ChainReader
from net.iptables_proxy import Proxier
from net.pod_network import PodNetworkRules
from net.routes import PodRouteSync


class Driver:
    def __init__(self) -> None:
        self.proxier = Proxier()
        self.routes: PodRouteSync | None = None
        self.dns_table = ServiceNameTable()
        self.dns: ClusterDNSServer | None = None
        self.services: dict[tuple[str, str], Any] = {}
        self.agent: AgentServer | None = None

    def agent_server(self) -> AgentServer:
        """The agent's HTTP server with only its explain answers wired (the fake runtime has no pods)."""
        if self.agent is None:
            runtime = FakeRuntime()
            explainer = Explainer(
                node_name="n1", runtime=runtime, pod_uid=lambda ns, name: None,
                service=lambda ns, name: self.services.get((ns, name)), chains=ChainReader(),
            )  # fmt: skip
            self.agent = AgentServer(
                runtime, lambda ns, name: None, TokenChecker("node-token", "http://127.0.0.1:9"),
                host="127.0.0.1", port=0, node_name="n1", node_label="io.kajitori.node", explainer=explainer,
            )  # fmt: skip
            self.agent.start()
        return self.agent

    def handle(self, req: dict[str, Any]) -> Any:
        op = req["op"]
        p = self.proxier
        if op == "update_service":
            meta = req["obj"]["metadata"]
            self.services[(meta["namespace"], meta["name"])] = req["obj"]
            p.update_service(req["obj"])
            self.dns_table.update_service(req["obj"])
        elif op == "delete_service":
            p.delete_service(req["key"])
            self.dns_table.delete_service(req["key"])
        elif op == "update_endpoints":
            p.update_endpoints(req["obj"])
        elif op == "delete_endpoints":
            p.delete_endpoints(req["key"])
        elif op == "sync":
            result = p.sync()
            return asdict(result) if result else None
        elif op == "ensure_base_rules":
            return p.ensure_base_rules()
        elif op == "agent_explain":
            answer = httpx.get(
                f"http://127.0.0.1:{self.agent_server().port}/explain/{req['path']}",
                headers={"Authorization": f"Bearer {req.get('token', 'node-token')}"}, timeout=30,
            )  # fmt: skip
            return {"code": answer.status_code, "body": answer.json()}
        elif op == "cleanup":
            p.cleanup()
        elif op == "routes":
            if self.routes is None:
                self.routes = PodRouteSync(req["own_node"])
            for node in req.get("nodes", []):
                self.routes.update_node(node)
            for name in req.get("deleted", []):
                self.routes.delete_node(name)
            changes = self.routes.sync()
            return {"replaced": changes.replaced, "deleted": changes.deleted}
        elif op == "routes_cleanup":
            if self.routes is not None:
                self.routes.cleanup()
        elif op == "pod_rules":
            PodNetworkRules(req["pod_cidr"], bridge=req.get("bridge", "kt0")).ensure()
        elif op == "pod_rules_cleanup":
            PodNetworkRules(req["pod_cidr"], bridge=req.get("bridge", "kt0")).cleanup()
        elif op == "dns_start":
            for svc in req.get("services", []):
                self.dns_table.update_service(svc)
            self.dns = ClusterDNSServer(self.dns_table, address=req["address"], port=req.get("port", 53))
            self.dns.start()
        else:
            raise ValueError(f"unknown op {op}")
        return None


def main() -> None:
    driver = Driver()
    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    for line in sys.stdin:
        try:
            reply = {"ok": True, "result": driver.handle(json.loads(line))}
        except Exception as exc:
            reply = {"ok": False, "error": f"{exc}\n{traceback.format_exc()}"}
        print(json.dumps(reply), flush=True)
    if driver.dns is not None:
        driver.dns.stop()
    if driver.agent is not None:
        driver.agent.stop()


if __name__ == "__main__":
    main()

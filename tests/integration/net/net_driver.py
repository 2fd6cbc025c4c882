"""Drives Kajitori's network code inside a test namespace over JSON lines on stdin/stdout.

Started as `ip netns exec NS python net_driver.py`; every request is one JSON object
{"op": ..., ...} and gets one line {"ok": true, "result": ...} or {"ok": false, "error": ...}.
All iptables work happens in this one thread, as in the proxy daemon; reading rules back with
python-iptables (`explain_service`) happens on the ChainReader's own thread, as in the agent.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from typing import Any

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
        self.chains = ChainReader()

    def handle(self, req: dict[str, Any]) -> Any:
        op = req["op"]
        p = self.proxier
        if op == "update_service":
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
        elif op == "explain_service":
            return [chain.to_dict() for chain in self.chains.service_chains(req["obj"])]
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


if __name__ == "__main__":
    main()

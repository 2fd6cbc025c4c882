"""The API server's side of LoadBalancer Services: NodePorts like a NodePort Service, status through /status."""

from __future__ import annotations

from pathlib import Path

from tests.unit.master.inprocess import api_server

SERVICES = "/api/v1/namespaces/default/services"


def test_a_load_balancer_service_gets_node_ports_and_its_status_is_kept_by_spec_updates(tmp_path: Path) -> None:
    with api_server(tmp_path) as (http, _store):
        body = {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.168.56.210",
                "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 443}]}}  # fmt: skip
        created = http.post(SERVICES, json=body)
        assert created.status_code == 201, created.text
        spec = created.json()["spec"]
        assert all(30000 <= p["nodePort"] <= 32767 for p in spec["ports"])
        assert spec["externalTrafficPolicy"] == "Cluster" and spec["loadBalancerIP"] == "192.168.56.210"
        svc = created.json()
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.56.210"}]}}
        r = http.put(f"{SERVICES}/lb/status", json=svc)
        assert r.status_code == 200, r.text
        assert r.json()["status"]["loadBalancer"]["ingress"] == [{"ip": "192.168.56.210"}]
        # A spec update (kubectl apply) leaves the status as it is.
        again = r.json()
        again["spec"]["selector"] = {"app": "x"}
        again.pop("status")
        r = http.put(f"{SERVICES}/lb", json=again)
        assert r.status_code == 200, r.text
        assert r.json()["status"]["loadBalancer"]["ingress"] == [{"ip": "192.168.56.210"}]

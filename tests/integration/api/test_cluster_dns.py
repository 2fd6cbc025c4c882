"""Cluster DNS served by the master: Service names resolve, others do not, kube-dns exists."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from kajitori.api import Endpoints, Service
from tests.support.master_process import MasterProcess, free_port

pytestmark = pytest.mark.integration


def ask(port: int, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    reply = DNSRecord.question(name, qtype).send("127.0.0.1", port, tcp=tcp, timeout=2)
    return DNSRecord.parse(reply)


def test_master_serves_cluster_dns(tmp_path: Path) -> None:
    port = free_port()
    master = MasterProcess(tmp_path / "m", extra_args=["--no-controllers", "--dns-listen", f"127.0.0.1:{port}"]).start()
    try:
        client = master.client()
        dns = client.get(Service, "kube-dns", "kube-system")
        assert dns.spec.clusterIP == "10.96.0.10"
        eps = client.get(Endpoints, "kube-dns", "kube-system")
        assert eps.subsets and eps.subsets[0].addresses and eps.subsets[0].addresses[0].ip == "127.0.0.1"
        web = client.create(
            Service.model_validate({"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"name": "http", "port": 80}]}})
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                reply = ask(port, "web.default.svc.cluster.local")
            except OSError:  # the DNS add-on starts just after the API answers
                assert time.monotonic() < deadline, "cluster DNS never answered"
                time.sleep(0.2)
                continue
            if reply.rr or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [str(r.rdata) for r in reply.rr] == [web.spec.clusterIP]
        tcp = ask(port, "kubernetes.default.svc.cluster.local", tcp=True)
        assert [str(r.rdata) for r in tcp.rr] == ["10.96.0.1"]
        srv = ask(port, "_http._tcp.web.default.svc.cluster.local", "SRV")
        assert srv.rr and srv.rr[0].rtype == QTYPE.SRV and srv.rr[0].rdata.port == 80
        assert ask(port, "nope.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
        assert ask(port, "example.com").header.rcode in (RCODE.REFUSED, RCODE.NXDOMAIN)
        # A headless Service: its ready endpoints, and each by its hostname (the Endpoints object
        # is written by hand here: this master runs no controllers).
        client.create(Service.model_validate({"metadata": {"name": "nginx", "namespace": "default"},
                                              "spec": {"clusterIP": "None", "ports": [{"name": "web", "port": 80}]}}))  # fmt: skip
        client.create(Endpoints.model_validate({
            "metadata": {"name": "nginx", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "10.244.1.4", "hostname": "web-0"}, {"ip": "10.244.2.4", "hostname": "web-1"}],
                         "ports": [{"name": "web", "port": 80}]}],
        }))  # fmt: skip
        deadline = time.monotonic() + 10
        while not (pod_a := ask(port, "web-0.nginx.default.svc.cluster.local")).rr:
            assert time.monotonic() < deadline, "web-0.nginx never resolved"
            time.sleep(0.1)
        assert [str(r.rdata) for r in pod_a.rr] == ["10.244.1.4"]
        assert sorted(str(r.rdata) for r in ask(port, "nginx.default.svc.cluster.local").rr) == ["10.244.1.4", "10.244.2.4"]
        client.delete(Service, "web", "default")
        deadline = time.monotonic() + 10
        while ask(port, "web.default.svc.cluster.local").header.rcode != RCODE.NXDOMAIN:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        master.stop()

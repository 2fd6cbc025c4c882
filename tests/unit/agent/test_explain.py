"""The agent's explain answers (agent.explain) over the fake runtime and recorded kernel state."""

from __future__ import annotations

from typing import Any

import pytest

from agent.explain import Explainer, ExplainError
from agent.fake_runtime import FakeRuntime
from agent.runtime import ContainerConfig, ContainerId, Mount, PodRef, PodUID, PullPolicy, SandboxConfig
from kajitori.version import PAUSE_IMAGE, __version__
from net.iptables_counters import ChainView, RuleView
from net.link_view import PodLink, RouteView

SERVICE = {"metadata": {"namespace": "default", "name": "web"}, "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 80}]}}
CHAIN = ChainView("KT-SVC-X", (RuleView("-A KT-SVC-X -j KT-SEP-Y", "KT-SEP-Y", 4, 240),))


class Chains:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[dict[str, Any]] = []

    def service_chains(self, service: dict[str, Any]) -> list[ChainView]:
        if self.fail:
            raise OSError("can't initialize iptables table `nat': Permission denied")
        self.asked.append(service)
        return [CHAIN]


class Inspector:
    """Docker's inspect, recorded: what the agent reads names, netns paths and mounts from."""

    def inspect_raw(self, container_id: ContainerId) -> dict[str, Any]:
        return {
            "Name": f"/k8s_{container_id}",
            "Config": {"Image": PAUSE_IMAGE},
            "State": {"Pid": 4242},
            "NetworkSettings": {"SandboxKey": "/var/run/docker/netns/abc123"},
            "Mounts": [{"Source": "/var/lib/kajitori/pods/u1/volumes/data", "Destination": "/data", "RW": False}],
        }


def explainer(runtime: FakeRuntime, *, chains: Chains | None = None) -> Explainer:
    pods = {("default", "web-1"): "u1"}
    return Explainer(
        node_name="node1",
        runtime=runtime,
        pod_uid=lambda ns, name: pods.get((ns, name)),
        service=lambda ns, name: SERVICE if (ns, name) == ("default", "web") else None,
        chains=chains or Chains(),
        inspector=Inspector(),
        routes=lambda: [RouteView("10.244.1.0/24", "", "kt0", "kernel"), RouteView("10.244.2.0/24", "192.168.56.12", "eth1", "kajitori")],
        link=lambda path: PodLink("eth0", "veth1a2b3c", "kt0") if path == "/var/run/docker/netns/abc123" else None,
        pod_cidr=lambda: "10.244.1.0/24",
    )


def running_pod(runtime: FakeRuntime) -> None:
    pod = PodRef("default", "web-1", PodUID("u1"))
    sandbox = runtime.run_sandbox(SandboxConfig(pod=pod, network="kt0"))
    runtime.ensure_image("nginx:1.22", PullPolicy.IF_NOT_PRESENT)
    cid = runtime.create_container(sandbox.id, ContainerConfig(name="nginx", image="nginx:1.22", mounts=(Mount("/h", "/data", True),)))
    runtime.start_container(cid)


def test_a_service_answer_is_its_chains_with_the_files_that_made_them() -> None:
    chains = Chains()
    answer = explainer(FakeRuntime(images=[PAUSE_IMAGE]), chains=chains).explain(["service", "default", "web"])
    assert answer == {
        "node": "node1",
        "source": "net/iptables_rules.py",
        "writer": "net/iptables_proxy.py",
        "chains": [{"name": "KT-SVC-X", "rules": [{"rule": "-A KT-SVC-X -j KT-SEP-Y", "target": "KT-SEP-Y", "packets": 4, "bytes": 240}]}],
    }
    assert chains.asked == [SERVICE]


def test_a_pod_answer_names_its_sandbox_netns_veth_bridge_and_containers() -> None:
    runtime = FakeRuntime(images=[PAUSE_IMAGE])
    running_pod(runtime)
    answer = explainer(runtime).explain(["pod", "default", "web-1"])
    sandbox = runtime.list_sandboxes(PodUID("u1"))[0]
    assert answer["sandbox"] == {
        "id": sandbox.id, "name": f"k8s_{sandbox.id}", "image": PAUSE_IMAGE, "state": "running", "pid": 4242,
        "netns": "/var/run/docker/netns/abc123", "network": "kt0", "source": "agent/docker_runtime.py",
    }  # fmt: skip
    assert answer["network"] == {
        "podIP": sandbox.ip, "interface": "eth0", "hostVeth": "veth1a2b3c", "bridge": "kt0",
        "source": "net/pod_network.py", "reader": "net/link_view.py",
    }  # fmt: skip
    [container] = answer["containers"]
    assert (container["name"], container["image"], container["state"], container["restarts"]) == ("nginx", "nginx:1.22", "running", 0)
    assert container["mounts"] == [{"source": "/var/lib/kajitori/pods/u1/volumes/data", "destination": "/data", "readOnly": True}]


def test_a_node_answer_has_its_pod_routes_and_versions() -> None:
    answer = explainer(FakeRuntime(images=[PAUSE_IMAGE])).explain(["node"])
    assert answer["podCIDR"] == "10.244.1.0/24" and answer["versions"]["agent"] == __version__
    assert answer["routes"][1] == {"destination": "10.244.2.0/24", "gateway": "192.168.56.12", "device": "eth1", "protocol": "kajitori"}


@pytest.mark.parametrize(
    ("parts", "code", "words"),
    [
        pytest.param(["service", "default", "absent"], 404, 'services "absent" not found', id="no-service"),
        pytest.param(["pod", "default", "elsewhere"], 404, 'pod "elsewhere" is not bound to node node1', id="pod-not-here"),
        pytest.param(["deployment", "default", "web"], 404, "explain serves service/NAMESPACE/NAME", id="unknown-kind"),
        pytest.param(["service", "default"], 404, "explain serves", id="short-path"),
    ],
)
def test_what_cannot_be_explained_is_a_status_not_a_traceback(parts: list[str], code: int, words: str) -> None:
    with pytest.raises(ExplainError) as refused:
        explainer(FakeRuntime(images=[PAUSE_IMAGE])).explain(parts)
    assert refused.value.code == code and words in str(refused.value)


def test_a_nat_table_that_cannot_be_read_is_a_500_naming_python_iptables() -> None:
    with pytest.raises(ExplainError) as failed:
        explainer(FakeRuntime(images=[PAUSE_IMAGE]), chains=Chains(fail=True)).explain(["service", "default", "web"])
    assert failed.value.code == 500 and "python-iptables" in str(failed.value) and "Permission denied" in str(failed.value)

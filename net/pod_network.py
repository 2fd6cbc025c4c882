"""The node's pod network: a Docker bridge network with the node's podCIDR, and its iptables rules.

`ensure_pod_network` makes sure the Docker network `kajitori-pods` (bridge device `kt0`, label
`io.kajitori.network=pods`) exists with the node's podCIDR. It is reused as it is across
restarts; a network with another CIDR is replaced only when no container is attached to it
(otherwise `PodNetworkError`: the node must be drained first). Docker's own masquerading is
switched off for it (`enable_ip_masquerade=false`), since Docker would masquerade every packet
leaving the bridge, including pod-to-pod traffic to other nodes, which must keep the pod's
source address.

`ensure_bridge_netfilter` makes bridged pod traffic visible to iptables (service traffic
between two pods on the same node needs it). `PodNetworkRules` writes the rules that replace
Docker's masquerade, in chains of its own:
  filter FORWARD -> KT-POD-FORWARD: accept traffic from and to the cluster CIDR (Docker sets
         FORWARD's policy to DROP, and only accepts traffic of its own bridges' subnets)
  nat POSTROUTING -> KT-POD-POSTROUTING: pod traffic to the cluster CIDR keeps its source;
         pod traffic to anything else that leaves through another device is MASQUERADEd.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.types

from net.iptables_runner import (
    Iptables,
    JumpRule,
    LegacyIptables,
    ensure_jumps,
    remove_jumps,
    restore_deleting_chains,
)

POD_NETWORK_NAME = "kajitori-pods"
POD_BRIDGE = "kt0"
POD_NETWORK_LABEL = ("io.kajitori.network", "pods")
POD_FORWARD_CHAIN = "KT-POD-FORWARD"
POD_POSTROUTING_CHAIN = "KT-POD-POSTROUTING"


BRIDGE_NF_SYSCTL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


class PodNetworkError(RuntimeError):
    """The pod network cannot be made as asked (e.g. its CIDR changed while pods use it)."""


def _gateway(pod_cidr: str) -> str:
    return str(next(ipaddress.ip_network(pod_cidr).hosts()))


def _subnet_of(network: Any) -> str | None:
    configs = ((network.attrs.get("IPAM") or {}).get("Config")) or []
    return configs[0].get("Subnet") if configs else None


def ensure_pod_network(
    docker_client: Any, pod_cidr: str, *, name: str = POD_NETWORK_NAME, bridge: str = POD_BRIDGE
) -> Any:
    """The Docker network for pods with `pod_cidr`, created or reused; returns the SDK Network."""
    pod_cidr = str(ipaddress.ip_network(pod_cidr))
    key, value = POD_NETWORK_LABEL
    for network in docker_client.networks.list(names=[name], filters={"label": f"{key}={value}"}):
        if network.name != name:  # `names` matches by prefix
            continue
        if _subnet_of(network) == pod_cidr:
            return network
        network.reload()
        if network.attrs.get("Containers"):
            raise PodNetworkError(
                f"network {name} has subnet {_subnet_of(network)}, node wants {pod_cidr}, "
                "and containers still use it"
            )
        network.remove()
    try:
        return docker_client.networks.create(
            name,
            driver="bridge",
            ipam=docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=pod_cidr, gateway=_gateway(pod_cidr))]
            ),
            options={
                "com.docker.network.bridge.name": bridge,
                "com.docker.network.bridge.enable_ip_masquerade": "false",
            },
            labels={key: value},
            check_duplicate=True,
        )
    except Exception as exc:  # docker.errors.APIError and friends
        raise PodNetworkError(f"creating network {name} ({pod_cidr})") from exc


def ensure_bridge_netfilter(sysctl: Path = BRIDGE_NF_SYSCTL) -> bool:
    """Let iptables see packets bridged on kt0; True when it is (now) on.

    Without it, a pod calling a ClusterIP whose chosen endpoint sits on the same bridge gets its
    reply straight over the bridge, un-NATed, and the connection fails. (Docker switches this on
    too for its bridges; it is per network namespace on current kernels.) False when the
    br_netfilter module is not loaded, which the caller should report.
    """
    if not sysctl.exists():
        return False
    if sysctl.read_text().strip() != "1":
        sysctl.write_text("1\n")
    return True


@dataclass(frozen=True)
class PodNetworkRules:
    """Forwarding and masquerading of the node's pod traffic (see the module docstring)."""

    pod_cidr: str
    cluster_cidr: str = "10.244.0.0/16"
    bridge: str = POD_BRIDGE

    def jumps(self) -> list[JumpRule]:
        return [
            JumpRule("filter", "FORWARD",
                     ("-m", "comment", "--comment", "kajitori pod forwarding", "-j", POD_FORWARD_CHAIN)),
            JumpRule("nat", "POSTROUTING",
                     ("-m", "comment", "--comment", "kajitori pod masquerade", "-j", POD_POSTROUTING_CHAIN)),
        ]

    def restore_text(self) -> str:
        fwd, post = POD_FORWARD_CHAIN, POD_POSTROUTING_CHAIN
        return "\n".join([
            "*filter",
            f":{fwd} - [0:0]",
            f"-A {fwd} -s {self.cluster_cidr} -j ACCEPT",
            f"-A {fwd} -d {self.cluster_cidr} -j ACCEPT",
            "COMMIT",
            "*nat",
            f":{post} - [0:0]",
            f"-A {post} -s {self.pod_cidr} -d {self.cluster_cidr} -j RETURN",
            f"-A {post} -s {self.pod_cidr} ! -o {self.bridge} -j MASQUERADE",
            "COMMIT",
            "",
        ])

    def ensure(self, ipt: Iptables | None = None) -> None:
        """Write the chains (atomically, flushing old contents) and hang them in; idempotent."""
        ipt = ipt or LegacyIptables()
        ipt.restore(self.restore_text())
        ensure_jumps(ipt, self.jumps())

    def cleanup(self, ipt: Iptables | None = None) -> None:
        """Remove exactly these jumps and chains."""
        ipt = ipt or LegacyIptables()
        remove_jumps(ipt, self.jumps())
        restore_deleting_chains(ipt, {"filter": [POD_FORWARD_CHAIN], "nat": [POD_POSTROUTING_CHAIN]})

"""Pure generation of the service proxy's iptables rules (kube-proxy's iptables mode layout).

Nothing here touches the kernel: functions turn `ServicePort`s and `Endpoint`s into lines of
`iptables-restore` text, so the layout can be read and unit-tested on its own.

Chains (all ours, prefix `KT-`; Docker's chains are never named):

    nat  PREROUTING, OUTPUT -> KT-SERVICES
           -d CIP -p P --dport N -> KT-SVC-<h>        (one per service port with endpoints)
           -d LBIP -p P --dport N -> KT-EXT-<h>      (a LoadBalancer's address, on every node)
           last: -m addrtype --dst-type LOCAL -> KT-NODEPORTS
         KT-EXT-<h>:    Cluster: -> KT-MARK-MASQ, -> KT-SVC-<h> (all endpoints, source masqueraded)
                        Local: pods (clusterCIDR) and the node itself -> KT-SVC-<h> (the node
                        masqueraded); everyone else -> KT-SVL-<h>: only this node's endpoints,
                        no masquerade, so the backend sees the client's address
         KT-NODEPORTS:  -p P --dport NP -> KT-MARK-MASQ, then -> KT-SVC-<h>
         KT-SVC-<h>:    ! -s clusterCIDR -> KT-MARK-MASQ (off-cluster clients must come back here;
                        no -d/--dport: KT-SVC is entered only from KT-SERVICES, which matched them,
                        and from KT-NODEPORTS, which has marked the packet already)
                        [ClientIP affinity: -m recent --rcheck per endpoint -> KT-SEP-<e>]
                        -m statistic --mode random --probability 1/(n-i) -> KT-SEP-<e> ...
         KT-SEP-<e>:    -s EP -> KT-MARK-MASQ (hairpin), DNAT --to-destination EP
         KT-MARK-MASQ:  MARK --or-mark <mark>
         POSTROUTING -> KT-POSTROUTING: marked traffic is un-marked and MASQUERADEd
    filter INPUT, OUTPUT, FORWARD (ctstate NEW) -> KT-SERVICES:
                        DROP to 127.0.0.0/8 from elsewhere unless DNATed (see LOCALHOST_GUARD)
                        REJECT for ClusterIPs and NodePorts of service ports without endpoints
                        REJECT for anything to a load-balancer IP still addressed to it here
                        (not DNATed: no endpoints, no local endpoint under Local, another port)
                        (icmp-port-unreachable, tcp-reset for TCP: a fast refusal, not a hang)
           FORWARD -> KT-FORWARD: accept marked traffic and the cluster CIDR's flows, because
                        Docker sets FORWARD's policy to DROP.

Chain names hash the service port like kube-proxy does (base32 of sha256, 16 characters), so
they are stable across restarts and across nodes.

Size matters more than looks: the legacy backend copies the whole table out of the kernel and
back in on every restore, however small the batch, and the kernel's cost grows with the number
of entries (rules, plus a head and a foot per chain) and of matches in them. A profile of one
endpoint change with 1,000 services x 3 endpoints (13,000 rules, 4,000 chains, 4 MB of table)
spent ~90% of its time in the kernel's table read and replace, in proportion to entries and
matches. So no rule in nat carries `-m comment` (256 bytes and one more match each; find a
service's KT-SVC chain by its ClusterIP in KT-SERVICES, as the chain names are hashes), no rule
carries a match that cannot change its verdict, and `-p tcp --dport` relies on the implicit
tcp/udp match instead of a second explicit `-m tcp`. Only filter's REJECTs, written when a
service loses or gains all its endpoints, keep a comment naming the service port.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from net.iptables_runner import JumpRule, save_line
from net.service_model import Endpoint, ServicePort, ServicePortName

SERVICES_CHAIN = "KT-SERVICES"
NODEPORTS_CHAIN = "KT-NODEPORTS"
MARK_MASQ_CHAIN = "KT-MARK-MASQ"
POSTROUTING_CHAIN = "KT-POSTROUTING"
FORWARD_CHAIN = "KT-FORWARD"
SERVICE_CHAIN_PREFIX = "KT-SVC-"
ENDPOINT_CHAIN_PREFIX = "KT-SEP-"
EXTERNAL_CHAIN_PREFIX = "KT-EXT-"
LOCAL_CHAIN_PREFIX = "KT-SVL-"
OWN_CHAIN_PREFIXES = (SERVICE_CHAIN_PREFIX, ENDPOINT_CHAIN_PREFIX, EXTERNAL_CHAIN_PREFIX, LOCAL_CHAIN_PREFIX)
"""Per-service chains: all ours, written and deleted by the proxy alone."""

NAT_BASE_CHAINS = (SERVICES_CHAIN, NODEPORTS_CHAIN, MARK_MASQ_CHAIN, POSTROUTING_CHAIN)
FILTER_BASE_CHAINS = (SERVICES_CHAIN, FORWARD_CHAIN)

NODEPORTS_COMMENT = "kajitori service nodeports; NOTE: this must be the last rule in this chain"


@dataclass(frozen=True)
class ProxyRuleConfig:
    """Cluster-wide values the rules depend on."""

    cluster_cidr: str = "10.244.0.0/16"
    """Pod addresses; traffic from elsewhere to a ClusterIP is masqueraded so replies return."""
    masq_mark: str = "0x4000"
    """Packet mark bit meaning "masquerade me in POSTROUTING"; Docker uses no marks."""


def _hash16(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


# Hashing is most of a partial sync's Python time, and names never change: remember them.
@functools.lru_cache(maxsize=1 << 16)
def service_chain(name: ServicePortName, protocol: str) -> str:
    """KT-SVC-<hash> of a service port, like kube-proxy's servicePortChainName."""
    return SERVICE_CHAIN_PREFIX + _hash16(str(name) + protocol.lower())


@functools.lru_cache(maxsize=1 << 16)
def external_chain(name: ServicePortName, protocol: str) -> str:
    """KT-EXT-<hash>: where traffic to a load-balancer IP enters (kube-proxy's KUBE-EXT-)."""
    return EXTERNAL_CHAIN_PREFIX + _hash16(str(name) + protocol.lower())


@functools.lru_cache(maxsize=1 << 16)
def local_chain(name: ServicePortName, protocol: str) -> str:
    """KT-SVL-<hash>: this node's endpoints only (kube-proxy's KUBE-SVL-)."""
    return LOCAL_CHAIN_PREFIX + _hash16(str(name) + protocol.lower())


@functools.lru_cache(maxsize=1 << 16)
def endpoint_chain(name: ServicePortName, protocol: str, endpoint: Endpoint) -> str:
    """KT-SEP-<hash> of one endpoint of a service port, like kube-proxy's servicePortEndpointChainName."""
    return ENDPOINT_CHAIN_PREFIX + _hash16(str(name) + protocol.lower() + str(endpoint))


def probability(remaining: int) -> str:
    """`--probability` for the rule that picks one of `remaining` endpoints evenly."""
    return f"{1.0 / remaining:0.10f}"


def proxy_jumps() -> list[JumpRule]:
    """The jump rules in built-in chains that hang the proxy's chains into the packet path."""
    portals = ("-m", "comment", "--comment", "kajitori service portals", "-j", SERVICES_CHAIN)
    new_portals = ("-m", "conntrack", "--ctstate", "NEW", *portals)
    return [
        JumpRule("nat", "PREROUTING", portals),
        JumpRule("nat", "OUTPUT", portals),
        JumpRule(
            "nat",
            "POSTROUTING",
            ("-m", "comment", "--comment", "kajitori postrouting rules", "-j", POSTROUTING_CHAIN),
        ),
        JumpRule("filter", "INPUT", new_portals),
        JumpRule("filter", "OUTPUT", new_portals),
        JumpRule("filter", "FORWARD", new_portals),
        JumpRule(
            "filter", "FORWARD", ("-m", "comment", "--comment", "kajitori forwarding rules", "-j", FORWARD_CHAIN)
        ),
    ]


def nodeports_jump_spec() -> tuple[str, ...]:
    """The last rule of nat KT-SERVICES; its presence is the canary of the periodic check."""
    return ("-m", "comment", "--comment", NODEPORTS_COMMENT, "-m", "addrtype", "--dst-type", "LOCAL",
            "-j", NODEPORTS_CHAIN)


def _proto(sp: ServicePort) -> str:
    return sp.protocol.lower()


def _comment(sp: ServicePort, what: str = "") -> str:
    text = f"{sp.name} {what}".strip()
    return f'-m comment --comment "{text}"'


def service_port_chains(
    sp: ServicePort, endpoints: Sequence[Endpoint], config: ProxyRuleConfig, *, node: str = ""
) -> dict[str, list[str]]:
    """nat chains of one service port that has endpoints: its KT-SVC chain and one KT-SEP per endpoint,
    and for a load-balancer IP its KT-EXT chain (and KT-SVL under Local; `node` says which are local).

    Returns chain name -> `-A` lines, KT-SVC first.
    """
    proto = _proto(sp)
    svc = service_chain(sp.name, sp.protocol)
    svc_rules = [f"-A {svc} ! -s {config.cluster_cidr} -j {MARK_MASQ_CHAIN}"]
    chains: dict[str, list[str]] = {svc: svc_rules}
    sep_names = [endpoint_chain(sp.name, sp.protocol, ep) for ep in endpoints]
    if sp.affinity_timeout:
        for sep in sep_names:
            svc_rules.append(
                f"-A {svc} -m recent --name {sep} --rcheck --seconds {sp.affinity_timeout} "
                f"--reap -j {sep}"
            )
    count = len(endpoints)
    for i, (ep, sep) in enumerate(zip(endpoints, sep_names, strict=True)):
        pick = "" if i == count - 1 else f" -m statistic --mode random --probability {probability(count - i)}"
        svc_rules.append(f"-A {svc}{pick} -j {sep}")
        affinity = f" -m recent --name {sep} --set" if sp.affinity_timeout else ""
        chains[sep] = [
            f"-A {sep} -s {ep.ip}/32 -j {MARK_MASQ_CHAIN}",
            f"-A {sep} -p {proto}{affinity} -j DNAT --to-destination {ep}",
        ]
    if sp.load_balancer_ips:
        chains.update(_external_chains(sp, endpoints, sep_names, config, node))
    return chains


def _external_chains(
    sp: ServicePort, endpoints: Sequence[Endpoint], sep_names: list[str], config: ProxyRuleConfig, node: str
) -> dict[str, list[str]]:
    svc = service_chain(sp.name, sp.protocol)
    ext = external_chain(sp.name, sp.protocol)
    if not sp.external_local:
        return {ext: [f"-A {ext} -j {MARK_MASQ_CHAIN}", f"-A {ext} -j {svc}"]}
    svl = local_chain(sp.name, sp.protocol)
    local = [sep for ep, sep in zip(endpoints, sep_names, strict=True) if ep.node and ep.node == node]
    rules = [
        # Pods and the node itself reach every endpoint, as a ClusterIP does (kube-proxy too).
        f"-A {ext} -s {config.cluster_cidr} -j {svc}",
        f"-A {ext} -m addrtype --src-type LOCAL -j {MARK_MASQ_CHAIN}",
        f"-A {ext} -m addrtype --src-type LOCAL -j {svc}",
    ]
    chains = {ext: rules}
    if local:
        rules.append(f"-A {ext} -j {svl}")
        # No masquerade: the backend sees the client, and answers through this node's conntrack.
        chains[svl] = [
            f"-A {svl}{'' if i == len(local) - 1 else f' -m statistic --mode random --probability {probability(len(local) - i)}'} -j {sep}"
            for i, sep in enumerate(local)
        ]
    # Without a local endpoint the packet stays addressed to the LB IP; filter REJECTs it.
    return chains


@functools.lru_cache(maxsize=1 << 16)
def _services_rule(sp: ServicePort) -> str:
    return (
        f"-A {SERVICES_CHAIN} -d {sp.cluster_ip}/32 -p {_proto(sp)} --dport {sp.port} "
        f"-j {service_chain(sp.name, sp.protocol)}"
    )


@functools.lru_cache(maxsize=1 << 16)
def _external_rules(sp: ServicePort) -> tuple[str, ...]:
    ext = external_chain(sp.name, sp.protocol)
    return tuple(
        f"-A {SERVICES_CHAIN} -d {ip}/32 -p {_proto(sp)} --dport {sp.port} -j {ext}" for ip in sp.load_balancer_ips
    )


def services_chain_rules(ports: Iterable[ServicePort]) -> list[str]:
    """nat KT-SERVICES: one jump per ClusterIP and load-balancer IP of a service port with endpoints,
    then the NodePorts hook last."""
    rules: list[str] = []
    for sp in ports:
        rules.append(_services_rule(sp))
        rules.extend(_external_rules(sp))
    rules.append(save_line(SERVICES_CHAIN, nodeports_jump_spec()))
    return rules


@functools.lru_cache(maxsize=1 << 16)
def _nodeport_rules(sp: ServicePort) -> tuple[str, str]:
    match = f"-p {_proto(sp)} --dport {sp.node_port}"
    return (
        f"-A {NODEPORTS_CHAIN} {match} -j {MARK_MASQ_CHAIN}",
        f"-A {NODEPORTS_CHAIN} {match} -j {service_chain(sp.name, sp.protocol)}",
    )


def nodeports_chain_rules(ports: Iterable[ServicePort]) -> list[str]:
    """nat KT-NODEPORTS: NodePort traffic is always masqueraded (the backend may sit on another node)."""
    rules: list[str] = []
    for sp in ports:
        if sp.node_port:
            rules.extend(_nodeport_rules(sp))
    return rules


def mark_masq_rules(config: ProxyRuleConfig) -> list[str]:
    return [f"-A {MARK_MASQ_CHAIN} -j MARK --or-mark {config.masq_mark}"]


def postrouting_rules(config: ProxyRuleConfig) -> list[str]:
    mark = f"{config.masq_mark}/{config.masq_mark}"
    return [
        f"-A {POSTROUTING_CHAIN} -m mark ! --mark {mark} -j RETURN",
        # Clear the bit so a packet re-entering the stack is not masqueraded twice.
        f"-A {POSTROUTING_CHAIN} -j MARK --xor-mark {config.masq_mark}",
        f'-A {POSTROUTING_CHAIN} -m comment --comment "kajitori service traffic requiring SNAT" '
        f"-j MASQUERADE --random-fully",
    ]


# NodePorts answer on 127.0.0.1 of a node (as in kube-proxy), which needs the node's
# net.ipv4.conf.all.route_localnet=1 (set by Ansible's common role on nodes). That setting
# also lets packets from other machines to 127.0.0.0/8 in: drop those unless the proxy
# DNATed them, as kube-proxy's KUBE-FIREWALL does (CVE-2020-8558).
LOCALHOST_GUARD = (
    f'-A {SERVICES_CHAIN} -m comment --comment "kajitori: only local sources may reach 127.0.0.0/8" '
    "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
)


def reject_rules(ports: Iterable[ServicePort], load_balancer_ips: Iterable[str] = ()) -> list[str]:
    """filter KT-SERVICES: the localhost guard, then refuse ClusterIPs and NodePorts of service ports without
    endpoints, and every new connection to a load-balancer IP that no DNAT took (one pair of rules per IP:
    the node's own ports are never exposed on it, whoever holds it)."""
    rules = [LOCALHOST_GUARD]
    for ip in sorted(set(load_balancer_ips)):
        comment = f'-m comment --comment "load-balancer IP {ip}: no (local) endpoint for this port"'
        rules.append(f"-A {SERVICES_CHAIN} {comment} -d {ip}/32 -p tcp -j REJECT --reject-with tcp-reset")
        rules.append(f"-A {SERVICES_CHAIN} {comment} -d {ip}/32 -j REJECT --reject-with icmp-port-unreachable")
    for sp in ports:
        proto = _proto(sp)
        reject = "tcp-reset" if proto == "tcp" else "icmp-port-unreachable"
        comment = _comment(sp, "has no endpoints")
        rules.append(
            f"-A {SERVICES_CHAIN} {comment} -d {sp.cluster_ip}/32 -p {proto} --dport {sp.port} "
            f"-j REJECT --reject-with {reject}"
        )
        if sp.node_port:
            rules.append(
                f"-A {SERVICES_CHAIN} {comment} -m addrtype --dst-type LOCAL -p {proto} "
                f"--dport {sp.node_port} -j REJECT --reject-with {reject}"
            )
    return rules


def forward_rules(config: ProxyRuleConfig) -> list[str]:
    mark = f"{config.masq_mark}/{config.masq_mark}"
    established = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    return [
        f"-A {FORWARD_CHAIN} -m conntrack --ctstate INVALID -j DROP",
        f'-A {FORWARD_CHAIN} -m comment --comment "kajitori forwarding rules" -m mark --mark {mark} -j ACCEPT',
        f"-A {FORWARD_CHAIN} -s {config.cluster_cidr} {established}",
        f"-A {FORWARD_CHAIN} -d {config.cluster_cidr} {established}",
    ]


@dataclass
class TableBatch:
    """One table's section of a restore batch: chains to (re)write, their rules, chains to delete.

    Declaring a chain (`:NAME - [0:0]`) under --noflush creates it or flushes it; chains not
    declared keep their rules untouched, which is what makes partial syncs cheap.
    """

    table: str
    chains: dict[str, list[str]]
    delete: list[str]

    def render(self) -> list[str]:
        if not self.chains and not self.delete:
            return []
        lines = [f"*{self.table}"]
        lines.extend(f":{c} - [0:0]" for c in self.chains)
        lines.extend(f":{c} - [0:0]" for c in self.delete if c not in self.chains)
        for rules in self.chains.values():
            lines.extend(rules)
        # Deletions last: by now no rewritten chain refers to them any more.
        lines.extend(f"-X {c}" for c in self.delete)
        lines.append("COMMIT")
        return lines


def render_batch(tables: Iterable[TableBatch]) -> str:
    lines: list[str] = []
    for table in tables:
        lines.extend(table.render())
    return "\n".join(lines) + "\n" if lines else ""

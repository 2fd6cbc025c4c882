"""Reading the proxy's nat chains of one Service back from the kernel, with live counters.

`kajitori explain svc/NAME` shows, per node, the KT- chains the proxy wrote for a Service
(net/iptables_rules.py lays them out, net/iptables_proxy.py writes them) and how many packets
and bytes each rule has matched. In nat only the first packet of a connection is evaluated,
so a KT-SEP chain's DNAT counter is the number of connections that endpoint was given.

Reading goes through python-iptables (libiptc), the library the design names for reading
rules and counters; writing stays with iptables-legacy-restore (see net/iptables_proxy.py).
libxtables keeps global state and python-iptables' `save` briefly redirects file descriptor 1
to read a match's text, so every call runs on one thread of `ChainReader`, never two at once.
libiptc speaks only the legacy backend, which is the one the nodes use.

Which chains belong to a Service (pure, `service_chain_views`): for each port, the rules of
KT-SERVICES that jump to its KT-SVC or KT-EXT chain (ClusterIP, load-balancer IP), the rules of
KT-NODEPORTS for its NodePort, then its KT-SVC chain and every KT-SEP / KT-EXT / KT-SVL chain
reached from it. A chain absent from the kernel (a port without endpoints) is left out.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from net.iptables_rules import (
    ENDPOINT_CHAIN_PREFIX,
    EXTERNAL_CHAIN_PREFIX,
    LOCAL_CHAIN_PREFIX,
    MARK_MASQ_CHAIN,
    NODEPORTS_CHAIN,
    SERVICES_CHAIN,
    external_chain,
    service_chain,
)
from net.service_model import service_ports_from_service

SOURCE = "net/iptables_rules.py"
"""The file that decides these rules' layout (named in the explain answer)."""

READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RuleView:
    rule: str
    """The rule as iptables-save prints it (`-A CHAIN ... -j TARGET ...`)."""
    target: str
    """The chain jumped to, or the target's name (DNAT, MARK, ...)."""
    packets: int
    bytes: int


@dataclass(frozen=True)
class ChainView:
    name: str
    rules: tuple[RuleView, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rules": [asdict(r) for r in self.rules]}


class NatTable(Protocol):
    """One consistent read of the nat table (what `service_chain_views` walks)."""

    def has_chain(self, name: str) -> bool: ...

    def rules(self, name: str, wanted: Callable[[str], bool] | None = None, *, preceding: bool = False) -> list[RuleView]:
        """The chain's rules in order; with `wanted`, only those whose target it accepts (others are not
        rendered: KT-SERVICES holds a rule per Service), and with `preceding` also the rule before each."""
        ...


def service_chain_views(service: dict[str, Any], nat: NatTable) -> list[ChainView]:
    """The chains (or, for the shared KT-SERVICES and KT-NODEPORTS, the rules) serving this Service."""
    ports = service_ports_from_service(service)
    own = {service_chain(sp.name, sp.protocol) for sp in ports}
    entries = own | {external_chain(sp.name, sp.protocol) for sp in ports if sp.load_balancer_ips}
    views: list[ChainView] = []
    if nat.has_chain(SERVICES_CHAIN):
        rules = nat.rules(SERVICES_CHAIN, lambda target: target in entries)
        if rules:
            views.append(ChainView(SERVICES_CHAIN, tuple(rules)))
    node_ports = {sp.node_port for sp in ports if sp.node_port}
    if node_ports and nat.has_chain(NODEPORTS_CHAIN):
        # The proxy writes each NodePort as a pair: mark for masquerade, then jump to KT-SVC.
        rules = nat.rules(NODEPORTS_CHAIN, lambda target: target in own, preceding=True)
        mine = [r for r in rules if _dport(r.rule) in node_ports and r.target in (*own, MARK_MASQ_CHAIN)]
        if mine:
            views.append(ChainView(NODEPORTS_CHAIN, tuple(mine)))
    seen: set[str] = set()
    queue = sorted(entries)
    while queue:
        name = queue.pop(0)
        if name in seen or not nat.has_chain(name):
            continue
        seen.add(name)
        rules = nat.rules(name)
        views.append(ChainView(name, tuple(rules)))
        queue.extend(r.target for r in rules if r.target.startswith(_FOLLOWED) and r.target not in seen)
    return views


_FOLLOWED = (ENDPOINT_CHAIN_PREFIX, EXTERNAL_CHAIN_PREFIX, LOCAL_CHAIN_PREFIX, "KT-SVC-")


def _dport(rule: str) -> int:
    words = rule.split()
    for i, word in enumerate(words[:-1]):
        if word == "--dport" and words[i + 1].isdigit():
            return int(words[i + 1])
    return 0


class ChainReader:
    """python-iptables on one thread of its own: `service_chains` may be called from any thread."""

    def __init__(self) -> None:
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="iptc")

    def service_chains(self, service: dict[str, Any]) -> list[ChainView]:
        """The Service's chains in this network namespace's nat table, counters as of now."""
        return self._thread.submit(_read_service, service).result(timeout=READ_TIMEOUT_S)

    def close(self) -> None:
        self._thread.shutdown(wait=False)


def _read_service(service: dict[str, Any]) -> list[ChainView]:
    import iptc  # loads libxtables: only on the thread that uses it

    table = iptc.Table(iptc.Table.NAT)
    table.autocommit = False  # reads only: never commit a half-seen table back
    table.refresh()  # a fresh copy of rules and counters from the kernel
    return service_chain_views(service, _IptcNat(table))


class _IptcNat:
    def __init__(self, table: Any) -> None:
        self._table = table

    def has_chain(self, name: str) -> bool:
        return bool(self._table.is_chain(name))

    def rules(self, name: str, wanted: Callable[[str], bool] | None = None, *, preceding: bool = False) -> list[RuleView]:
        import iptc

        out: list[RuleView] = []
        previous: Any = None
        for rule in iptc.Chain(self._table, name).rules:
            target = rule.target.name if rule.target is not None else ""
            if wanted is None or wanted(target):
                if preceding and previous is not None:
                    out.append(_view(name, previous))
                out.append(_view(name, rule))
            previous = rule
        return out


def _view(chain: str, rule: Any) -> RuleView:
    packets, size = rule.get_counters()
    target = rule.target.name if rule.target is not None else ""
    return RuleView(save_text(chain, rule), target, int(packets), int(size))


def save_text(chain: str, rule: Any) -> str:
    """An iptc rule in iptables-save's words: addresses, protocol, each match, then the target."""
    words = ["-A", chain]
    for flag, value in (("-s", rule.src), ("-d", rule.dst)):
        negated, address = _negation(value)
        if address and address != "0.0.0.0/0.0.0.0":
            words += [*negated, flag, _cidr(address)]
    for flag, value in (("-i", rule.in_interface), ("-o", rule.out_interface)):
        negated, name = _negation(value)
        if name:
            words += [*negated, flag, name]
    negated, protocol = _negation(rule.protocol)
    if protocol and protocol != "ip":
        words += [*negated, "-p", protocol]
    for match in rule.matches:
        text = _module_text(match, rule)
        words += ["-m", match.name, *([text] if text else [])]  # iptables-save names implicit -m tcp too
    target = rule.target
    if target is not None and target.name:
        text = _module_text(target, rule)
        words += ["-j", target.name, *([text] if text else [])]
    return " ".join(w for w in words if w)


def _module_text(module: Any, rule: Any) -> str:
    buf = module._get_saved_buf(rule.get_ip())
    if buf is None:
        return ""
    return (buf.decode() if isinstance(buf, bytes) else str(buf)).strip()


def _negation(value: str | None) -> tuple[list[str], str]:
    if not value:
        return [], ""
    if value.startswith("!"):
        return ["!"], value[1:]
    return [], value


def _cidr(address: str) -> str:
    """iptc's `10.244.0.0/255.255.0.0` as iptables-save's `10.244.0.0/16`."""
    try:
        return str(ipaddress.ip_network(address, strict=False))
    except ValueError:
        return address

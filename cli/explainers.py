"""`kajitori explain`'s text: how a Service, pod, node or Deployment is implemented, from recorded state.

Pure functions: each takes the state `cli/explain_cmd.py` gathered (API objects, and the node
agents' `/explain/...` answers read through the node proxy) as plain JSON and returns lines of
text, so unit tests render every section from fixtures. Every section ends its title with the
Kajitori file that produced what it shows, so the explanation is also a map of the code.
"""

from __future__ import annotations

import math
import re
from typing import Any

Obj = dict[str, Any]

ALLOCATOR = "master/allocators.py"
SERVICE_STRATEGY = "master/apiserver/strategies/service.py"
ENDPOINTS_CONTROLLER = "master/controllers/endpoints.py"
LOAD_BALANCER_CONTROLLER = "master/controllers/load_balancer.py"
DNS_SERVER = "net/dns.py"
DNS_RUNNER = "master/cluster_dns.py"
RESOLV_CONF = "agent/pod_sync.py"
NODE_STATUS = "agent/node_status.py"
NODE_LIFECYCLE = "master/controllers/node_lifecycle.py"
SCHEDULER = "master/scheduler/scheduler.py"
DEPLOYMENT_CONTROLLER = "master/controllers/deployment.py"
REPLICASET_CONTROLLER = "master/controllers/replicaset.py"
PROXY_LEASES = "net/l2_announcer.py"
COUNTER_READER = "net/iptables_counters.py"
ROUTES_WRITER = "net/routes.py"
ZONE = "cluster.local"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "")


def _unreachable(answer: Obj) -> str | None:
    return str(answer["error"]) if "error" in answer and len(answer) <= 2 else None


# ---------------------------------------------------------------- service


def dns_names(service: Obj, zone: str = ZONE) -> list[tuple[str, str]]:
    """(name, what it answers) for every name the cluster DNS resolves to this Service."""
    name, namespace = _name(service), _meta(service).get("namespace") or "default"
    spec = _spec(service)
    cluster_ip = spec.get("clusterIP") or ""
    fqdn = f"{name}.{namespace}.svc.{zone}"
    if spec.get("type") == "ExternalName" or not cluster_ip:
        return []
    answer = "A: the ready endpoints' IPs (headless)" if cluster_ip == "None" else f"A {cluster_ip}"
    names = [(fqdn, answer)]
    names.append((f"{name}.{namespace}.svc, {name}.{namespace}", "the same, from any pod (its resolv.conf search list)"))
    names.append((name, f"the same, from pods in namespace {namespace}"))
    for port in spec.get("ports") or []:
        if port.get("name"):
            proto = (port.get("protocol") or "TCP").lower()
            names.append((f"_{port['name']}._{proto}.{fqdn}", f"SRV port {port['port']}"))
    return names


def endpoint_rows(endpoints: Obj | None) -> list[tuple[str, str, str, str]]:
    """(ip:port, pod, node, ready) for every address of an Endpoints object."""
    rows: list[tuple[str, str, str, str]] = []
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [str(p.get("port")) for p in subset.get("ports") or []] or ["?"]
        for ready, key in (("ready", "addresses"), ("not ready", "notReadyAddresses")):
            for address in subset.get(key) or []:
                pod = (address.get("targetRef") or {}).get("name") or ""
                for port in ports:
                    rows.append((f"{address.get('ip')}:{port}", pod, address.get("nodeName") or "", ready))
    return rows


_DNAT = re.compile(r"--to-destination (\S+)")


def endpoint_counters(answer: Obj) -> list[tuple[str, str, int, int]]:
    """(endpoint, KT-SEP chain, packets, bytes) of each DNAT rule in a node's chains: connections per endpoint."""
    out: list[tuple[str, str, int, int]] = []
    for chain in answer.get("chains") or []:
        for rule in chain.get("rules") or []:
            found = _DNAT.search(rule.get("rule") or "")
            if rule.get("target") == "DNAT" and found:
                out.append((found.group(1), chain["name"], int(rule.get("packets") or 0), int(rule.get("bytes") or 0)))
    return sorted(out)


def render_service(state: Obj) -> list[str]:
    service, endpoints = state["service"], state.get("endpoints")
    spec, meta = _spec(service), _meta(service)
    lines = [f"Service {meta.get('namespace')}/{_name(service)}  [validated and defaulted by {SERVICE_STRATEGY}]"]
    lines.append(f"  Type:        {spec.get('type') or 'ClusterIP'}")
    lines.append(f"  ClusterIP:   {spec.get('clusterIP') or '<none>'}  [allocated by {ALLOCATOR}]")
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}/{port.get('protocol') or 'TCP'} -> target {port.get('targetPort', port.get('port'))}"
        if port.get("nodePort"):
            text += f", NodePort {port['nodePort']} on every node  [allocated by {ALLOCATOR}]"
        lines.append(f"  Port {port.get('name') or '(unnamed)'}: {text}")
    ingress = (_status(service).get("loadBalancer") or {}).get("ingress") or []
    external = ", ".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or (
        "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    )
    lines.append(f"  External IP: {external}  [{LOAD_BALANCER_CONTROLLER}]")
    lines.append("")
    lines.append(f"Endpoints  [kept by {ENDPOINTS_CONTROLLER}: ready pods matching the selector]")
    rows = endpoint_rows(endpoints)
    if not rows:
        lines.append("  <none>: the proxy REJECTs new connections to this Service")
    for address, pod, node, ready in rows:
        lines.append(f"  {address:<22} pod {pod or '?':<28} node {node or '?':<10} {ready}")
    lines.append("")
    lines.append(f"DNS names  [answered by {DNS_SERVER} in the master ({DNS_RUNNER}); search list written by {RESOLV_CONF}]")
    for name, answer in dns_names(service) or [("<none>", "no ClusterIP")]:
        lines.append(f"  {name:<44} {answer}")
    for node, answer in sorted((state.get("nodes") or {}).items()):
        lines.append("")
        lines.extend(render_service_node(node, answer))
    return lines


def render_service_node(node: str, answer: Obj) -> list[str]:
    error = _unreachable(answer)
    title = (
        f"Node {node}: iptables nat  [layout {answer.get('source') or 'net/iptables_rules.py'}, written by "
        f"{answer.get('writer') or 'net/iptables_proxy.py'}, read live with python-iptables by {COUNTER_READER}]"
    )
    if error is not None:
        return [title, f"  not read: {error}"]
    lines = [title]
    chains = answer.get("chains") or []
    if not chains:
        lines.append("  no chains: the Service has no ready endpoints here, or the proxy has not written them yet")
    for chain in chains:
        lines.append(f"  {chain['name']}")
        for rule in chain.get("rules") or []:
            lines.append(f"    {int(rule.get('packets') or 0):>8} pkts {int(rule.get('bytes') or 0):>10} B  {rule.get('rule')}")
    counters = endpoint_counters(answer)
    if counters:
        lines.append("  Connections per endpoint (packets of its DNAT rule: nat sees a connection's first packet only)")
        for endpoint, _chain, packets, size in counters:
            lines.append(f"    {endpoint:<22} {packets:>8} connections {size:>10} B")
        lines.append(f"    {'total':<22} {sum(c[2] for c in counters):>8}")
    return lines


# ---------------------------------------------------------------- pod


def route_to(answer: Obj, cidr: str) -> str:
    """How a node's explain/node answer routes `cidr` (`via GW dev D`, or why not)."""
    error = _unreachable(answer)
    if error is not None:
        return f"not read: {error}"
    for route in answer.get("routes") or []:
        if route.get("destination") == cidr:
            via = f"via {route['gateway']} " if route.get("gateway") else ""
            return f"{cidr} {via}dev {route.get('device')} proto {route.get('protocol')}"
    return f"no route to {cidr}"


def render_pod(state: Obj) -> list[str]:
    pod = state["pod"]
    meta, spec, status = _meta(pod), _spec(pod), _status(pod)
    node = spec.get("nodeName") or ""
    lines = [f"Pod {meta.get('namespace')}/{_name(pod)}  phase {status.get('phase') or 'Pending'}"]
    lines.append(f"  Node:   {node or '<none>'}  [chosen by {SCHEDULER}]")
    lines.append(f"  Pod IP: {status.get('podIP') or '<none>'}  [reported by {RESOLV_CONF}]")
    answer: Obj = state.get("agent") or {}
    error = _unreachable(answer) if answer else "the pod is not on a node yet"
    lines.append("")
    if error is not None:
        lines.append(f"On node {node or '?'}  [agent answer]")
        lines.append(f"  not read: {error}")
    else:
        sandbox = answer.get("sandbox") or {}
        network = answer.get("network") or {}
        lines.append(f"Pause container (sandbox)  [started by {answer.get('source')} through {sandbox.get('source')}]")
        lines.append(f"  Name:    {sandbox.get('name') or '?'}")
        lines.append(f"  ID:      {str(sandbox.get('id') or '?')[:12]}  image {sandbox.get('image') or '?'}  {sandbox.get('state') or ''}")
        lines.append(f"  Netns:   {sandbox.get('netns') or '?'}  (pid {sandbox.get('pid') or '?'}; every container joins it)")
        lines.append("")
        lines.append(f"Pod network  [bridge network {network.get('source')}, read by {network.get('reader')}]")
        lines.append(f"  {network.get('interface') or 'eth0'} {network.get('podIP') or '?'}  <-> host veth {network.get('hostVeth') or '?'}  on bridge {network.get('bridge') or '?'}")
        if network.get("error"):
            lines.append(f"  not read: {network['error']}")
    lines.append("")
    cidr = state.get("podCIDR") or ""
    lines.append(f"Route to this pod's node ({node}, podCIDR {cidr or '?'}) from the other nodes  [written by {ROUTES_WRITER}]")
    others = state.get("otherNodes") or {}
    if not others:
        lines.append("  (no other nodes)")
    for other, node_answer in sorted(others.items()):
        lines.append(f"  on {other}: {route_to(node_answer, cidr)}")
    lines.append("")
    lines.append(f"Containers  [run by {RESOLV_CONF} through agent/docker_runtime.py]")
    for container in (answer.get("containers") or []) if error is None else []:
        lines.append(
            f"  {container.get('name')}: image {container.get('image')}  {container.get('state')}  restarts {container.get('restarts')}"
            + (f"  exit {container['exitCode']} {container.get('reason') or ''}" if "exitCode" in container else "")
        )
        for mount in container.get("mounts") or []:
            lines.append(f"    {mount.get('destination')} <- {mount.get('source')}{' (ro)' if mount.get('readOnly') else ''}")
    if error is not None:
        for cs in status.get("containerStatuses") or []:
            lines.append(f"  {cs.get('name')}: image {cs.get('image')}  restarts {cs.get('restartCount', 0)} (from the pod's status)")
    return lines


# ---------------------------------------------------------------- node


def render_node(state: Obj) -> list[str]:
    node, name = state["node"], _name(state["node"])
    spec, status = _spec(node), _status(node)
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown")
    addresses = ", ".join(f"{a.get('type')} {a.get('address')}" for a in status.get("addresses") or [])
    cidr = spec.get("podCIDR") or ""
    lines = [f"Node {name}  Ready={ready}  [conditions by {NODE_STATUS}, NotReady and taints by {NODE_LIFECYCLE}]"]
    lines.append(f"  Addresses: {addresses or '<none>'}")
    lines.append(f"  PodCIDR:   {cidr or '<none>'}  [allocated by {ALLOCATOR}]")
    taints = spec.get("taints") or []
    lines.append("  Taints:    " + (", ".join(f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}" for t in taints) or "<none>"))
    if spec.get("unschedulable"):
        lines.append("  Unschedulable: true (cordoned)")
    lease = state.get("lease") or {}
    lines.append("")
    lines.append(f"Heartbeat  [Lease kube-node-lease/{name}, renewed by {NODE_STATUS}]")
    lease_spec = _spec(lease)
    lines.append(
        f"  holder {lease_spec.get('holderIdentity') or '<none>'}, last renewed {lease_spec.get('renewTime') or '<never>'}, "
        f"duration {lease_spec.get('leaseDurationSeconds') or '?'} s"
    )
    proxy_lease = _spec(state.get("proxyLease") or {})
    lines.append(f"  proxy Lease kube-node-lease/kajitori-proxy-{name}: last renewed {proxy_lease.get('renewTime') or '<none>'}  [{PROXY_LEASES}]")
    own: Obj = state.get("agent") or {}
    lines.append("")
    lines.append(f"Versions  [{NODE_STATUS} reports nodeInfo; the agent answers its own]")
    info = status.get("nodeInfo") or {}
    lines.append(f"  nodeInfo: kubelet {info.get('kubeletVersion') or '?'}, kube-proxy {info.get('kubeProxyVersion') or '?'}, runtime {info.get('containerRuntimeVersion') or '?'}")
    error = _unreachable(own) if own else "no answer"
    if error is None:
        versions = own.get("versions") or {}
        lines.append(f"  running agent {versions.get('agent')}, installed package (the proxy's) {versions.get('proxy')}")
    else:
        lines.append(f"  agent not read: {error}")
    lines.append("")
    lines.append(f"Routes into the pod network on {name}  [other nodes' routes written by {ROUTES_WRITER}; its own bridge by net/pod_network.py]")
    if error is None:
        for route in own.get("routes") or []:
            via = f"via {route['gateway']} " if route.get("gateway") else ""
            lines.append(f"  {route.get('destination')} {via}dev {route.get('device')} proto {route.get('protocol')}")
    lines.append("")
    lines.append(f"Route to {cidr or '?'} on every other node")
    others = state.get("otherNodes") or {}
    if not others:
        lines.append("  (no other nodes)")
    for other, answer in sorted(others.items()):
        lines.append(f"  on {other}: {route_to(answer, cidr)}")
    lines.append("")
    pods = state.get("pods") or []
    lines.append(f"Pods ({len(pods)})  [bound by {SCHEDULER}, run by {RESOLV_CONF}]")
    for pod in sorted(pods, key=lambda p: (_meta(p).get("namespace") or "", _name(p))):
        lines.append(f"  {_meta(pod).get('namespace')}/{_name(pod):<40} {_status(pod).get('phase') or 'Pending':<10} {_status(pod).get('podIP') or ''}")
    return lines


# ---------------------------------------------------------------- deployment


def resolve(value: int | str | None, total: int, *, round_up: bool, default: str = "25%") -> int:
    """maxSurge (rounded up) or maxUnavailable (rounded down) as a number of pods, as Kubernetes resolves them."""
    value = default if value is None else value
    if isinstance(value, int):
        return value
    if value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def _revision(rs: Obj) -> int:
    text = (_meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision") or "0"
    return int(text) if text.isdigit() else 0


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _status(pod).get("conditions") or [])


def render_deployment(state: Obj) -> list[str]:
    deployment = state["deployment"]
    spec, status = _spec(deployment), _status(deployment)
    desired = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    lines = [f"Deployment {_meta(deployment).get('namespace')}/{_name(deployment)}  [reconciled by {DEPLOYMENT_CONTROLLER}]"]
    lines.append(f"  Strategy:  {strategy.get('type') or 'RollingUpdate'}")
    updated, ready, available = int(status.get("updatedReplicas") or 0), int(status.get("readyReplicas") or 0), int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if (strategy.get("type") or "RollingUpdate") == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        surge = resolve(rolling.get("maxSurge"), desired, round_up=True)
        unavailable = resolve(rolling.get("maxUnavailable"), desired, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1  # Kubernetes' rule: both zero would never progress
        lines.append(f"  maxSurge {rolling.get('maxSurge', '25%')} = {surge} pod(s): at most {desired + surge} pods in all")
        lines.append(f"  maxUnavailable {rolling.get('maxUnavailable', '25%')} = {unavailable} pod(s): at least {desired - unavailable} available")
    lines.append(f"  Progress:  {updated}/{desired} updated, {ready} ready, {available} available, {total} in all")
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), None)
    if condition:
        lines.append(f"  Progressing: {condition.get('status')} ({condition.get('reason')}: {condition.get('message')})")
    pods = state.get("pods") or []
    lines.append("")
    lines.append(f"ReplicaSets by revision  [one per pod-template hash, by {DEPLOYMENT_CONTROLLER}; pods made by {REPLICASET_CONTROLLER}]")
    for rs in sorted(state.get("replicaSets") or [], key=_revision, reverse=True):
        rs_spec, rs_status = _spec(rs), _status(rs)
        uid = _meta(rs).get("uid")
        lines.append(
            f"  revision {_revision(rs)}: {_name(rs)}  desired {rs_spec.get('replicas', 0)}, "
            f"ready {rs_status.get('readyReplicas') or 0}/{rs_status.get('replicas') or 0}"
        )
        for pod in sorted(pods, key=_name):
            if any(o.get("uid") == uid for o in _meta(pod).get("ownerReferences") or []):
                lines.append(
                    f"    {_name(pod):<40} {_status(pod).get('phase') or 'Pending':<10} "
                    f"{'ready' if _pod_ready(pod) else 'not ready':<10} {_spec(pod).get('nodeName') or '<unscheduled>'}"
                )
    return lines


RENDERERS = {"Service": render_service, "Pod": render_pod, "Node": render_node, "Deployment": render_deployment}


def render(state: Obj) -> str:
    return "\n".join(RENDERERS[state["kind"]](state)) + "\n"

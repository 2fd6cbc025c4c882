"""Command `kajitori explain KIND/NAME`: how Kajitori implements a Service, pod, node or Deployment, live.

Gathers state from the API and from the node agents through the API server's node proxy
(`GET /api/v1/nodes/{node}/proxy/explain/...`, which needs `get` on `nodes/proxy`; never SSH),
then renders it with cli/explainers.py, or prints the gathered state with `-o json` (the same
JSON the unit tests render from). A node whose agent cannot be reached is shown as such, the
rest still is.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cli.app import app
from cli.explainers import render
from cli.options import Kubeconfig, Namespace
from cli.session import CliError, Session, failures_reported, open_session
from kajitori.api.registry import UnknownResource, by_kind, by_name
from kajitori.client import ApiError, NotFoundError

NODES = by_kind("v1", "Node")
PODS = by_kind("v1", "Pod")
SERVICES = by_kind("v1", "Service")
ENDPOINTS = by_kind("v1", "Endpoints")
DEPLOYMENTS = by_kind("apps/v1", "Deployment")
REPLICASETS = by_kind("apps/v1", "ReplicaSet")
LEASES = by_kind("coordination.k8s.io/v1", "Lease")
NODE_LEASES = "kube-node-lease"

Obj = dict[str, Any]


def agent_answer(session: Session, node: str, *path: str) -> Obj:
    """A node agent's explain answer through the node proxy, or {"error": why} (the rest is still shown)."""
    url = f"/api/v1/nodes/{quote(node, safe='')}/proxy/explain/" + "/".join(quote(p, safe="") for p in path)
    try:
        answer = session.client.request("GET", url)
    except ApiError as exc:
        return {"error": f"{exc.reason or exc.code}: {exc.message}"}
    return answer if isinstance(answer, dict) else {"error": f"unexpected answer {answer!r:.80}"}


def _get(session: Session, resource: Any, name: str, namespace: str | None) -> Obj | None:
    try:
        return session.client.get_raw(resource, name, namespace)
    except NotFoundError:
        return None


def _node_names(session: Session) -> list[str]:
    return sorted(n["metadata"]["name"] for n in session.client.list_raw(NODES).get("items") or [])


def service_state(session: Session, name: str) -> Obj:
    ns = session.namespace
    service = session.client.get_raw(SERVICES, name, ns)
    return {
        "kind": "Service",
        "service": service,
        "endpoints": _get(session, ENDPOINTS, name, ns),
        "nodes": {node: agent_answer(session, node, "service", ns, name) for node in _node_names(session)},
    }


def pod_state(session: Session, name: str) -> Obj:
    ns = session.namespace
    pod = session.client.get_raw(PODS, name, ns)
    node = (pod.get("spec") or {}).get("nodeName") or ""
    node_obj = _get(session, NODES, node, None) if node else None
    return {
        "kind": "Pod",
        "pod": pod,
        "podCIDR": ((node_obj or {}).get("spec") or {}).get("podCIDR") or "",
        "agent": agent_answer(session, node, "pod", ns, name) if node else None,
        "otherNodes": {other: agent_answer(session, other, "node") for other in _node_names(session) if other != node},
    }


def node_state(session: Session, name: str) -> Obj:
    node = session.client.get_raw(NODES, name)
    pods = session.client.list_raw(PODS, None, field_selector=f"spec.nodeName={name}").get("items") or []
    return {
        "kind": "Node",
        "node": node,
        "lease": _get(session, LEASES, name, NODE_LEASES),
        "proxyLease": _get(session, LEASES, f"kajitori-proxy-{name}", NODE_LEASES),
        "agent": agent_answer(session, name, "node"),
        "otherNodes": {other: agent_answer(session, other, "node") for other in _node_names(session) if other != name},
        "pods": pods,
    }


def deployment_state(session: Session, name: str) -> Obj:
    ns = session.namespace
    deployment = session.client.get_raw(DEPLOYMENTS, name, ns)
    uid = deployment["metadata"].get("uid")
    owned = [
        rs
        for rs in session.client.list_raw(REPLICASETS, ns).get("items") or []
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
    ]
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
    pods = session.client.list_raw(PODS, ns, label_selector=selector).get("items") or []
    return {"kind": "Deployment", "deployment": deployment, "replicaSets": owned, "pods": pods}


GATHER = {"Service": service_state, "Pod": pod_state, "Node": node_state, "Deployment": deployment_state}


@app.command("explain")
def explain(
    target: Annotated[str, typer.Argument(help="svc/NAME, pod/NAME, node/NAME or deployment/NAME.", show_default=False)],
    namespace: Namespace = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="json: the gathered state instead of the text.")] = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """How Kajitori implements a Service, pod, node or Deployment, live: rules with counters, routes,
    containers, revisions, each section naming the file that made it."""
    with failures_reported():
        kind_name, sep, name = target.partition("/")
        if not sep or not name:
            raise CliError(f"explain takes KIND/NAME (svc/nginx, pod/x, node/node1, deployment/web), not {target!r}")
        try:
            kind = by_name(kind_name).kind
        except UnknownResource:
            kind = ""
        if kind not in GATHER:
            raise CliError(f"explain knows svc, pod, node and deployment, not {kind_name!r}")
        if output not in (None, "json"):
            raise CliError(f"unable to match a printer suitable for the output format {output!r}, allowed formats are: json")
        session = open_session(kubeconfig, namespace)
        try:
            state = GATHER[kind](session, name)
        finally:
            session.close()
        typer.echo(json.dumps(state, indent=2) if output == "json" else render(state), nl=output == "json")

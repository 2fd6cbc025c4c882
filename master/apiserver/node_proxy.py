"""pods/{name}/log and pods/{name}/exec: the API server forwards them to the pod's node agent.

The agent serves ``GET /containerLogs/{ns}/{pod}/{container}`` (streamed, so ``-f``
follows) and ``POST /exec/{ns}/{pod}/{container}`` (one-shot: ``{"command": [...]}`` in,
``{"exitCode", "output"}`` out) on the port the Node advertises
(``status.daemonEndpoints.kubeletEndpoint.Port``, 10250). The master presents its own client
certificate there (``kube-apiserver-kubelet-client`` in ``system:masters``, kube-apiserver's
``--kubelet-client-certificate``), and the agent asks the master whether that user may use
``nodes/proxy`` (or ``nodes/metrics``), as the kubelet's webhook authorizer does.

``nodes/{name}/proxy/{path}`` is Kubernetes' node proxy: a GET of ``/api/v1/nodes/node1/proxy/explain/node``
is answered by node1's agent at ``GET /explain/node``. The gate has already required ``get`` on
``nodes/proxy`` (what kube-apiserver's RBAC asks; ``view`` does not grant it). Only the agent's
read-only paths are forwarded (``explain/...``, ``metrics``, ``healthz``): Kubernetes forwards
anything, which gives ``nodes/proxy`` the kubelet's exec too; here exec keeps its own subresource.

The agent speaks TLS with a self-signed certificate that it publishes in its Node's
``kajitori.io/serving-certificate`` annotation; the master trusts that one certificate
for that node (and checks the address in it), one HTTP client per node and certificate.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from kajitori.api.registry import Resource, by_path
from kajitori.api.well_known import SERVING_CERTIFICATE
from master.apiserver import errors
from master.apiserver.resources import ResourceAPI
from master.apiserver.stream_refusals import RecentRefusals

NODES = by_path("", "v1", "nodes")
NODE_PROXY_PATHS = ("explain", "metrics", "healthz")
"""The agent's read-only paths `nodes/{name}/proxy/...` reaches."""
SPDY_REFUSED = (
    "this server serves exec, attach and port-forward over WebSocket only (SPDY upgrades are not served): "
    "use kubectl 1.30 or newer for exec, attach and cp, and kubectl 1.31 or newer for port-forward"
)


def stream_url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class AgentEndpoint:
    """Where a pod's node agent listens, the container asked for, and the TLS context trusting that node."""

    host: str
    port: int
    container: str
    ssl: ssl.SSLContext
    node: str


class NodeProxy:
    def __init__(self, api: ResourceAPI, client_certificate: tuple[Path, Path] | None) -> None:
        self.api = api
        self.client_certificate = client_certificate
        # No bearer token: the agent knows the master by its client certificate.
        self.headers: dict[str, str] = {}
        self.authorization: str | None = None
        self.refusals = RecentRefusals()
        self._clients: dict[str, tuple[str, httpx.AsyncClient]] = {}  # node -> (its certificate, a client trusting it)
        self._contexts: dict[str, tuple[str, ssl.SSLContext]] = {}  # node -> (its certificate, a context trusting it)
        self._retired: list[httpx.AsyncClient] = []

    def _context_for(self, node_name: str, certificate: str) -> ssl.SSLContext:
        known = self._contexts.get(node_name)
        if known is not None and known[0] == certificate:
            return known[1]
        try:
            context = ssl.create_default_context(cadata=certificate)
        except (ssl.SSLError, ValueError) as exc:
            raise errors.ApiError(503, "ServiceUnavailable", f"node {node_name} publishes an unreadable serving certificate: {exc}") from None
        if self.client_certificate is not None:
            cert, key = self.client_certificate
            context.load_cert_chain(str(cert), str(key))
        self._contexts[node_name] = (certificate, context)
        return context

    def _client_for(self, node_name: str, certificate: str) -> httpx.AsyncClient:
        known = self._clients.get(node_name)
        if known is not None and known[0] == certificate:
            return known[1]
        context = self._context_for(node_name, certificate)
        client = httpx.AsyncClient(verify=context, timeout=httpx.Timeout(10.0, read=None))
        if known is not None:
            self._retired.append(known[1])  # a stream may still run on it; closed with the proxy
        self._clients[node_name] = (certificate, client)
        return client

    def node_agent(self, node: dict[str, Any]) -> tuple[str, httpx.AsyncClient]:
        """The base URL of a Node's agent and a client trusting its published certificate (ApiError when it has neither)."""
        host, port, node_name, certificate = self._node_address(node)
        return f"https://{host}:{port}", self._client_for(node_name, certificate)

    def _agent_url(self, resource: Resource, namespace: str, name: str, container: str | None) -> tuple[str, str, httpx.AsyncClient]:
        host, port, container, node_name, certificate = self._locate(resource, namespace, name, container)
        return f"https://{host}:{port}", container, self._client_for(node_name, certificate)

    def endpoint(self, resource: Resource, namespace: str, name: str, container: str | None) -> AgentEndpoint:
        """The agent serving this pod (ApiError for a pod, container or node that cannot be reached)."""
        host, port, container, node_name, certificate = self._locate(resource, namespace, name, container)
        return AgentEndpoint(host, int(port), container, self._context_for(node_name, certificate), node_name)

    def _node_endpoint(self, node_name: str) -> tuple[str, int, str]:
        """(address, port, serving certificate) of a node's agent; ApiError when it cannot be reached."""
        address, port, _, certificate = self._node_address(self.api.get(NODES, None, node_name).obj)
        return address, port, certificate

    def _locate(self, resource: Resource, namespace: str, name: str, container: str | None) -> tuple[str, int, str, str, str]:
        pod = self.api.get(resource, namespace, name).obj
        spec = pod.get("spec") or {}
        node_name = spec.get("nodeName")
        if not node_name:
            raise errors.bad_request(f'pod "{name}" is not scheduled to a node yet')
        containers = [c["name"] for c in [*(spec.get("initContainers") or []), *spec.get("containers", [])]]
        if container is None:
            if len(spec.get("containers", [])) > 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(c['name'] for c in spec['containers'])}]"
                )
            container = spec["containers"][0]["name"]
        elif container not in containers:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        address, port, certificate = self._node_endpoint(str(node_name))
        return address, port, str(container), str(node_name), certificate

    def _node_address(self, node: dict[str, Any]) -> tuple[str, int, str, str]:
        node_name = str((node.get("metadata") or {}).get("name"))
        status = node.get("status") or {}
        address = next((a["address"] for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), None)
        port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 10250)
        if not address:
            raise errors.ApiError(503, "ServiceUnavailable", f"node {node_name} has no InternalIP")
        certificate = (node.get("metadata", {}).get("annotations") or {}).get(SERVING_CERTIFICATE)
        if not certificate:
            raise errors.ApiError(503, "ServiceUnavailable", f"node {node_name} has published no serving certificate for port {port}")
        return str(address), int(port), node_name, str(certificate)

    async def __call__(self, request: Request, resource: Resource, namespace: str, name: str, sub: str) -> Response:
        if resource.plural == "nodes" and sub == "proxy":
            return await self._node_proxy(request, name)
        if resource.plural != "pods" or sub not in ("log", "exec", "attach", "portforward"):
            raise errors.ApiError(404, "NotFound", f"{resource.plural}/{sub} is not served")
        container_asked = None if sub == "portforward" else request.query_params.get("container")
        if request.headers.get("upgrade"):
            # kubectl 1.30+ retries a refused WebSocket as SPDY: it hears why the WebSocket was refused.
            refused = self.refusals.recall(request.client.host if request.client else "", stream_url(request.url.path, request.url.query))
            if refused is not None:
                raise refused
        base, container, http = self._agent_url(resource, namespace, name, container_asked)
        if (request.headers.get("upgrade") or "").lower().startswith("spdy/") or sub in ("attach", "portforward"):
            # kubectl 1.29 and older (and 1.30's port-forward) upgrade to SPDY, which uvicorn
            # cannot hand over; the pod and container were checked first, so a wrong name still
            # reads as itself.
            raise errors.ApiError(400, "BadRequest", SPDY_REFUSED)
        try:
            if sub == "log":
                params = {k: v for k, v in request.query_params.items() if k in ("follow", "tailLines", "timestamps", "previous", "sinceSeconds")}
                upstream = await http.send(
                    http.build_request("GET", f"{base}/containerLogs/{namespace}/{name}/{container}", params=params, headers=self.headers),
                    stream=True,
                )
                if upstream.status_code >= 400:
                    body = await upstream.aread()
                    await upstream.aclose()
                    return Response(body, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))
                return StreamingResponse(_relay(upstream), media_type="text/plain")
            if request.method != "POST":
                raise errors.ApiError(405, "MethodNotAllowed", "exec is a POST with {\"command\": [...]} (one-shot)")
            body = await request.body()
            upstream = await http.post(
                f"{base}/exec/{namespace}/{name}/{container}", content=body, headers={**self.headers, "content-type": "application/json"}, timeout=httpx.Timeout(10.0, read=120.0)
            )
            return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")
        except httpx.TransportError as exc:
            raise errors.ApiError(502, "ServiceUnavailable", f"cannot reach the agent of pod {name} at {base}: {exc}") from None

    async def _node_proxy(self, request: Request, node_name: str) -> Response:
        """GET /api/v1/nodes/{node}/proxy/{path}: the agent's answer to GET /{path}, status and body as they are."""
        marker = f"/nodes/{node_name}/proxy"
        path = request.url.path.split(marker, 1)[1].lstrip("/") if marker in request.url.path else ""
        if not any(path == p or path.startswith(p + "/") for p in NODE_PROXY_PATHS) or ".." in path.split("/"):
            raise errors.ApiError(404, "NotFound", f"nodes/proxy serves only {', '.join(NODE_PROXY_PATHS)} of the node's agent, not {path!r}")
        if request.method != "GET":
            raise errors.ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on nodes/proxy (read-only)")
        host, port, certificate = self._node_endpoint(node_name)
        base = f"https://{host}:{port}"
        http = self._client_for(node_name, certificate)
        try:
            upstream = await http.get(f"{base}/{path}", params=dict(request.query_params), headers=self.headers, timeout=httpx.Timeout(10.0, read=60.0))
        except httpx.TransportError as exc:
            raise errors.ApiError(502, "ServiceUnavailable", f"cannot reach the agent of node {node_name} at {base}: {exc}") from None
        return Response(upstream.content, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))

    async def close(self) -> None:
        for client in [*(c for _, c in self._clients.values()), *self._retired]:
            await client.aclose()


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()

"""The agent's own HTTPS port (10250): container logs and one-shot exec, behind a bearer token.

    GET  /healthz                                   200 "ok", no token needed
    GET  /metrics                                   Prometheus text (agent.metrics); a token the
                                                    master lets read this Node
    GET  /metrics/resource                          kubelet's resource metrics (agent.resource_stats),
                                                    what the master's scraper reads; same tokens
    GET  /containerLogs/{ns}/{pod}/{container}?follow=&tailLines=&timestamps=&previous=
                                                    the log as text/plain, streamed while it grows
    POST /exec/{ns}/{pod}/{container}               body {"command": [...], "timeoutSeconds": 60}
                                                    answers {"exitCode": int, "output": str}
    GET  /exec/..., /portForward/{ns}/{pod}         with `Upgrade: kajitori-stream/1`: interactive
                                                    streams (agent.stream_endpoints)
    GET  /explain/service/{ns}/{name}, /explain/pod/{ns}/{name}, /explain/node
                                                    what this node does for it, as JSON (agent.explain);
                                                    a token the master lets `get nodes/proxy`

A caller is known by a client certificate of the cluster CA (what the master presents:
``kube-apiserver-kubelet-client``), authorized by a SubjectAccessReview the agent asks the
master as itself, for ``nodes/proxy`` (``nodes/metrics`` for the metrics), as the kubelet's
webhook authorizer; or by `Authorization: Bearer <token>`: any token the master itself
accepts, checked once by asking the master to read that pod with it and remembered for a
minute (a small TokenReview), so `kajitori logs` can come here with the admin kubeconfig. One thread per request
(stdlib ThreadingHTTPServer): a followed log holds its thread until the container exits
or the client goes away; a request's head is bounded to 1 MiB and 32 s from the accept
(agent.request_head), so a client that never finishes one cannot hold a thread. The port speaks TLS with the agent's self-signed certificate
(agent.serving_cert), which the master trusts through the Node's annotation; the check
against the master goes over HTTPS with the kubeconfig's CA.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from agent import stream_endpoints
from agent.docker_streams import StreamRuntime
from agent.explain import Explainer, ExplainError
from agent.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from agent.metrics import AgentMetrics
from agent.request_head import HEADER_TIMEOUT_S, MAX_HEADER_BYTES, BoundedHeadHandler, HeadDeadlines
from agent.resource_stats import ResourceSampler
from agent.runtime import ContainerInfo, ContainerRuntime, ContainerRuntimeError, ExecTimeout, PodUID
from agent.serving_cert import ServingCert
from kajitori.client import ApiError

log = logging.getLogger(__name__)

TOKEN_CACHE_S = 60.0
DEFAULT_EXEC_TIMEOUT_S = 60.0

PodLookup = Callable[[str, str], str | None]
"""(namespace, name) -> pod uid, from the agent's informer."""


Review = Callable[[dict[str, Any]], dict[str, Any]]
"""Posts a SubjectAccessReview to the master as this node and answers the reviewed object."""


class TokenChecker:
    def __init__(
        self, static_token: str | None, master_url: str, *, verify: ssl.SSLContext | bool = True, review: Review | None = None
    ) -> None:
        # A token taken without asking the master: only master-less servers of the tests set one;
        # the agent has none (its node has a certificate, no token; callers are asked about).
        self._static_token = static_token
        self._master_url = master_url
        self._verify = verify
        self._review = review
        self._accepted: dict[str, float] = {}
        self._lock = threading.Lock()

    def allows_user(self, user: str, groups: tuple[str, ...], verb: str, subresource: str, node: str) -> bool:
        """Whether a caller known by its client certificate may ``verb`` ``nodes/<subresource>`` of this
        node: a SubjectAccessReview the agent asks the master as itself, as the kubelet's webhook
        authorizer does (answers remembered for a minute)."""
        if self._review is None:
            return False
        key = json.dumps([user, groups, verb, subresource, node])
        with self._lock:
            if self._accepted.get(key, 0.0) > time.monotonic():
                return True
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": list(groups),
                "resourceAttributes": {"verb": verb, "resource": "nodes", "subresource": subresource, "name": node},
            },
        }
        try:
            answer = self._review(review)
        except (ApiError, httpx.HTTPError, OSError) as exc:  # the master cannot be asked: refuse, never allow
            log.warning("could not ask the master about %s: %s", user, exc)
            return False
        if not (answer.get("status") or {}).get("allowed"):
            return False
        with self._lock:
            self._accepted[key] = time.monotonic() + TOKEN_CACHE_S
        return True

    def allows(self, token: str | None, namespace: str, pod: str) -> bool:
        """Whether ``token`` may reach this pod: one the master lets read the pod."""
        return self._accepts(token, f"/api/v1/namespaces/{namespace}/pods/{pod}")

    def allows_node(self, token: str | None, node: str) -> bool:
        """Whether ``token`` may read this node's metrics: one the master lets read the Node."""
        return self._accepts(token, f"/api/v1/nodes/{node}")

    def allows_proxy(self, token: str | None, node: str) -> bool:
        """Whether ``token`` may use this node's proxy subresource (explain): one whose
        user the master allows `get nodes/proxy` on this Node (asked with a SelfSubjectAccessReview in
        that token's name, as the kubelet asks a SubjectAccessReview)."""
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "nodes", "subresource": "proxy", "name": node}},
        }

        def allowed(answer: httpx.Response) -> bool:
            try:
                return answer.status_code < 300 and bool(answer.json().get("status", {}).get("allowed"))
            except ValueError:
                return False

        return self._accepts(token, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review, allowed=allowed)

    def _accepts(
        self,
        token: str | None,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        allowed: Callable[[httpx.Response], bool] | None = None,
    ) -> bool:
        if not token:
            return False
        if self._static_token is not None and token == self._static_token:
            return True
        digest = hashlib.sha256(f"{path} {json.dumps(body, sort_keys=True)} {token}".encode()).hexdigest()
        with self._lock:
            until = self._accepted.get(digest, 0.0)
        if until > time.monotonic():
            return True
        try:
            answer = httpx.request(
                "POST" if body is not None else "GET",
                f"{self._master_url}{path}",
                headers={"Authorization": f"Bearer {token}"},
                json=body,
                timeout=5.0,
                verify=self._verify,
            )
        except httpx.HTTPError:
            return False
        if answer.status_code in (401, 403) or (allowed is not None and not allowed(answer)):
            return False
        with self._lock:
            self._accepted[digest] = time.monotonic() + TOKEN_CACHE_S
        return True


class AgentServer:
    def __init__(
        self,
        runtime: ContainerRuntime,
        lookup: PodLookup,
        tokens: TokenChecker,
        *,
        host: str,
        port: int,
        node_name: str,
        node_label: str,
        tls: ServingCert | None = None,
        client_ca: bytes | None = None,
        streams: StreamRuntime | None = None,
        metrics: AgentMetrics | None = None,
        explainer: Explainer | None = None,
        resources: ResourceSampler | None = None,
        max_header_bytes: int = MAX_HEADER_BYTES,
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        self.runtime = runtime
        self.streams = streams
        self.metrics = metrics
        self.explainer = explainer
        self.resources = resources
        self.lookup = lookup
        self.tokens = tokens
        self.node_name = node_name
        self.node_label = node_label
        server = self

        class Handler(_Handler):
            agent = server
            head_deadlines = HeadDeadlines(header_timeout_s)

        Handler.max_header_bytes = max_header_bytes
        self._deadlines = Handler.head_deadlines

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(tls.cert_path, tls.key_path)
            if client_ca:
                # A client certificate of the cluster CA is asked for, not required (tokens stay):
                # the master presents its own (kube-apiserver-kubelet-client).
                context.load_verify_locations(cadata=client_ca.decode("ascii"))
                context.verify_mode = ssl.CERT_OPTIONAL
            # The handshake happens on the first read, in the request's own thread: a client
            # that connects and says nothing cannot hold up accept() for everyone else.
            self._http.socket = context.wrap_socket(self._http.socket, server_side=True, do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._http.serve_forever, name="agent-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._deadlines.stop()

    def find_container(self, namespace: str, pod: str, container: str, *, previous: bool) -> ContainerInfo | None:
        uid = self.lookup(namespace, pod)
        if uid is not None:
            found = [c for c in self.runtime.list_containers(PodUID(uid)) if c.name == container]
        else:
            # The pod left the API but its containers may not have gone yet.
            found = [
                c
                for c in self.runtime.list_containers()
                if c.pod.namespace == namespace and c.pod.name == pod and c.name == container
                and c.labels.get(self.node_label) == self.node_name
            ]
        found.sort(key=lambda c: (c.restart_count, c.created_at.timestamp() if c.created_at else 0.0))
        if previous:
            return found[-2] if len(found) > 1 else None
        return found[-1] if found else None


class _Handler(BoundedHeadHandler):
    agent: AgentServer
    protocol_version = "HTTP/1.0"  # a streamed log simply ends with the connection

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, message: str) -> None:
        reason = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalError", 503: "ServiceUnavailable"}.get(code, "")
        self._reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code})

    def _target(self, prefix: str) -> tuple[str, str, str] | None:
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) != 4 or parts[0] != prefix:
            self._status(404, f"no such path {self.path}")
            return None
        namespace, pod, container = parts[1:]
        if not self.authorized(namespace, pod):
            return None
        return namespace, pod, container

    def peer(self) -> tuple[str, tuple[str, ...]] | None:
        """The caller's user and groups from its client certificate (verified against the cluster CA), if it sent one."""
        getpeercert = getattr(self.connection, "getpeercert", None)
        cert = getpeercert() if getpeercert is not None else None
        if not cert:
            return None
        names = [(k, v) for rdn in cert.get("subject", ()) for k, v in rdn]
        user = next((v for k, v in names if k == "commonName"), "")
        return (user, tuple(v for k, v in names if k == "organizationName")) if user else None

    def certificate_allowed(self, subresource: str) -> bool | None:
        """For a caller with a client certificate: whether it may use ``nodes/<subresource>`` (a 403
        in the kubelet's words when not); None for a caller without one (its token decides)."""
        peer = self.peer()
        if peer is None:
            return None
        user, groups = peer
        verb = "get" if self.command in ("GET", "HEAD") else "create"
        if self.agent.tokens.allows_user(user, groups, verb, subresource, self.agent.node_name):
            return True
        self._status(403, f"Forbidden (user={user}, verb={verb}, resource=nodes, subresource(s)=[{subresource}])")
        return False

    def authorized(self, namespace: str, pod: str) -> bool:
        """Whether the caller may reach this pod (its certificate: ``nodes/proxy``; else its bearer token); answers 401/403 when not."""
        by_certificate = self.certificate_allowed("proxy")
        if by_certificate is not None:
            return by_certificate
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.agent.tokens.allows(token.strip(), namespace, pod):
            self._status(401, "Unauthorized")
            return False
        return True

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/healthz":
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if urlsplit(self.path).path == "/metrics" and self.agent.metrics is not None:
            self._metrics(self.agent.metrics.text)
            return
        if urlsplit(self.path).path == "/metrics/resource" and self.agent.resources is not None:
            self._metrics(self.agent.resources.text)
            return
        if urlsplit(self.path).path.startswith("/explain/") and self.agent.explainer is not None:
            self._explain(self.agent.explainer)
            return
        if stream_endpoints.is_stream_request(self):
            stream_endpoints.serve(self)
            return
        target = self._target("containerLogs")
        if target is None:
            return
        namespace, pod, container = target
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        truthy = ("true", "1", "yes")
        follow = query.get("follow", "").lower() in truthy
        previous = query.get("previous", "").lower() in truthy
        timestamps = query.get("timestamps", "").lower() in truthy
        tail = int(query["tailLines"]) if query.get("tailLines", "").lstrip("-").isdigit() else None
        try:
            found = self.agent.find_container(namespace, pod, container, previous=previous)
        except ContainerRuntimeError as exc:
            self._status(500, str(exc))
            return
        if found is None:
            what = "previous terminated container" if previous else "container"
            self._status(404, f'{what} "{container}" in pod "{pod}" not found')
            return
        try:
            chunks = self.agent.runtime.logs(found.id, follow=follow, tail=tail, timestamps=timestamps)
        except ContainerRuntimeError as exc:
            self._status(500, str(exc))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader went away
        except ContainerRuntimeError as exc:
            log.warning("log stream of %s/%s/%s broke: %s", namespace, pod, container, exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _metrics(self, render: Callable[[], bytes]) -> None:
        by_certificate = self.certificate_allowed("metrics")  # the kubelet's nodes/metrics
        if by_certificate is False:
            return
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if by_certificate is None and (scheme.lower() != "bearer" or not self.agent.tokens.allows_node(token.strip(), self.agent.node_name)):
            self._status(401, "Unauthorized")
            return
        data = render()
        self.send_response(200)
        self.send_header("Content-Type", METRICS_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _explain(self, explainer: Explainer) -> None:
        by_certificate = self.certificate_allowed("proxy")
        if by_certificate is False:
            return
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if by_certificate is None and (scheme.lower() != "bearer" or not self.agent.tokens.allows_proxy(token.strip(), self.agent.node_name)):
            self._status(401, "Unauthorized")
            return
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p][1:]
        try:
            answer = explainer.explain(parts)
        except ExplainError as exc:
            self._status(exc.code, str(exc))
            return
        self._reply(200, answer)

    def do_POST(self) -> None:
        target = self._target("exec")
        if target is None:
            return
        namespace, pod, container = target
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            command = body["command"]
            if not isinstance(command, list) or not command or not all(isinstance(p, str) for p in command):
                raise ValueError("command must be a non-empty list of strings")
            timeout = float(body.get("timeoutSeconds") or DEFAULT_EXEC_TIMEOUT_S)
        except (ValueError, KeyError, TypeError) as exc:
            self._status(400, f"bad exec request: {exc}")
            return
        found = self.agent.find_container(namespace, pod, container, previous=False)
        if found is None:
            self._status(404, f'container "{container}" in pod "{pod}" not found')
            return
        try:
            code, output = self.agent.runtime.exec_sync(found.id, command, timeout)
        except ExecTimeout as exc:
            self._status(500, f"exec timed out: {exc}")
            return
        except ContainerRuntimeError as exc:
            self._status(500, str(exc))
            return
        self._reply(200, {"exitCode": code, "output": output.decode("utf-8", "replace")})

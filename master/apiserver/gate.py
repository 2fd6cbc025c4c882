"""The gates every request passes before a handler runs: authentication, impersonation, authorization.

Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request). The
public paths (``/healthz``, ``/livez``, ``/readyz``, ``/version``, the web view's files under ``/ui/``) pass without credentials;
a GET of ``kube-public/cluster-info`` without credentials is ``system:anonymous`` (RBAC lets it read
that one ConfigMap: kubeadm's discovery); any other request none of the authenticators knows is a 401. ``Impersonate-User`` and
``Impersonate-Group`` headers switch to that user when the real one may ``impersonate``
``users`` (and ``groups``; ``serviceaccounts`` for ``system:serviceaccount:NS:NAME``, who
then also has its groups ``system:serviceaccounts`` and ``system:serviceaccounts:NS``), else 403. The (impersonated) user's request, as
`request_attributes` reads it, must then be allowed by the authorizer (when one is set),
else 403 in Kubernetes' words. The user is in ``authz.current_user`` while the handler runs
(admission reads it). WebSocket upgrades are not refused here: the refusal is left in the
scope under ``AUTH_ERROR`` for the stream handler, which answers it in the stream's way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from master.apiserver import errors
from master.apiserver.auth import ANONYMOUS_PATHS, is_public
from master.apiserver.authn import Authenticator, Credentials, UserInfo, authenticate, bearer_token
from master.apiserver.authn.peer import scope_certificate
from master.apiserver.authz import Authorizer, current_user
from master.apiserver.authz.attributes import Attributes, forbidden_message, request_attributes

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
AUTH_ERROR = "kajitori.auth_error"
USER = "kajitori.user"


def _headers(scope: Scope) -> tuple[str | None, str | None, list[str]]:
    authorization = impersonate_user = None
    groups: list[str] = []
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value.decode("latin-1")
        elif key == b"impersonate-user":
            impersonate_user = value.decode("latin-1")
        elif key == b"impersonate-group":
            groups.append(value.decode("latin-1"))
    return authorization, impersonate_user, groups


def log_forbidden(scope: Scope, exc: errors.ApiError) -> None:
    """One line per refusal, naming the user and the client program: how an operator (and a
    test) sees which component lacks a rule (kube-apiserver logs its RBAC denials too)."""
    agent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"user-agent"), "")
    log.info("403 %s %s (%s): %s", scope.get("method", "GET"), scope.get("path", ""), agent, exc.message)


def _error_response(exc: errors.ApiError) -> Response:
    return Response(content=orjson.dumps(exc.body()), status_code=exc.code, media_type="application/json")


class Gate:
    def __init__(
        self, app: ASGIApp, authenticators: Sequence[Authenticator], authorizer: Authorizer | None
    ) -> None:
        self.app = app
        self.authenticators = list(authenticators)
        self.authorizer = authorizer

    def user_of(self, scope: Scope) -> UserInfo:
        """The request's user after impersonation; raises the 401 or 403 it earns."""
        authorization, impersonate_user, impersonate_groups = _headers(scope)
        user = authenticate(
            self.authenticators, Credentials(bearer_token(authorization), scope_certificate(scope))
        )
        if user is None:
            if scope.get("method") == "GET" and scope["path"] in ANONYMOUS_PATHS and impersonate_user is None:
                return UserInfo("system:anonymous", ("system:unauthenticated",))
            raise errors.ApiError(401, "Unauthorized", "Unauthorized")
        if impersonate_user is None and not impersonate_groups:
            return user
        if impersonate_user is None:
            raise errors.ApiError(
                400, "BadRequest", "requested impersonation of groups without impersonating a user"
            )
        targets: list[tuple[str, str, str]] = [("users", "", impersonate_user)]
        groups = list(impersonate_groups)
        if impersonate_user.startswith(SERVICE_ACCOUNT_PREFIX):
            # As Kubernetes: impersonating a ServiceAccount needs impersonate on serviceaccounts, and brings its groups.
            sa_namespace, _, sa_name = impersonate_user[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
            targets = [("serviceaccounts", sa_namespace, sa_name)]
            if not groups:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{sa_namespace}"]
        targets += [("groups", "", g) for g in impersonate_groups]
        for resource, namespace, name in targets:
            attrs = Attributes(user, "impersonate", True, namespace=namespace, resource=resource, name=name)
            if self.authorizer is not None and not self.authorizer.allows(attrs):
                raise errors.ApiError(403, "Forbidden", forbidden_message(attrs), name=name, kind=resource)
        return UserInfo(impersonate_user, tuple(groups)).with_authenticated()

    def authorize(self, scope: Scope, user: UserInfo) -> None:
        if self.authorizer is None:
            return
        method = scope.get("method", "GET")
        attrs = request_attributes(
            user, method, scope["path"], scope.get("query_string", b"").decode("latin-1")
        )
        decision = self.authorizer.decide(attrs)
        if not decision.allowed:
            raise errors.ApiError(
                403,
                "Forbidden",
                forbidden_message(attrs, decision.reason),
                name=attrs.name or None,
                kind=attrs.resource or None,
                group=attrs.api_group or None,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            user = self.user_of(scope)
            self.authorize(scope, user)
        except errors.ApiError as exc:
            if exc.code == 403:
                log_forbidden(scope, exc)
            if scope["type"] == "websocket":
                scope[AUTH_ERROR] = exc
                await self.app(scope, receive, send)
                return
            await _error_response(exc)(scope, receive, send)
            return
        scope[USER] = user
        token = current_user.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            current_user.reset(token)

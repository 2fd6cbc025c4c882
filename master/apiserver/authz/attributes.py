"""What a request asks to do, in the terms authorizers decide on (Kubernetes' authorizer.Attributes).

`request_attributes` reads them from the method, path and query alone, as kube-apiserver's
RequestInfoFactory does, before anything knows whether the resource exists: a user without
rights gets 403 for a kind that is not served, never a hint that it is not.

Verbs: GET is ``get`` on a name, ``list`` on a collection, ``watch`` with ``?watch=true`` or
under ``/watch/``; POST ``create``; PUT ``update``; PATCH ``patch``; DELETE ``delete`` on a
name and ``deletecollection`` on a collection. Subresources are the part after the name
(``pods/exec``, ``deployments/scale``). The interactive streams (exec, attach, portforward)
are ``create`` whatever their method, as Kubernetes' roles grant them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from master.apiserver.authn import UserInfo

_STREAMS = frozenset({"exec", "attach", "portforward"})
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(slots=True)
class Attributes:
    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    @property
    def resource_and_sub(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def request_attributes(user: UserInfo, method: str, path: str, query_string: str = "") -> Attributes:
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(user, _non_resource_verb(method), False, path=path)
    if not rest:
        return Attributes(user, _non_resource_verb(method), False, path=path)
    watch_path = rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        if len(rest) == 2 or (len(rest) == 3 and rest[2] in ("status", "finalize")):
            # /namespaces/x and its subresources: the namespace object itself
            namespace = rest[1]
        else:
            namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    # As RequestInfo: the subresource is the one segment after the name; a proxy's own path
    # below it (nodes/x/proxy/explain/node) is not part of what is authorized.
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource in _STREAMS:
        verb = "create"
    elif method in ("GET", "HEAD"):
        watching = watch_path or _watch_asked(query_string)
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _METHOD_VERBS.get(method, method.lower())
    return Attributes(
        user,
        verb,
        True,
        path=path,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
    )


def _watch_asked(query_string: str) -> bool:
    if "watch=" not in query_string:
        return False
    values = [unquote_plus(part[6:]) for part in query_string.split("&") if part.startswith("watch=")]
    return bool(values) and values[0] in ("true", "1")


def _non_resource_verb(method: str) -> str:
    return {
        "GET": "get",
        "HEAD": "head",
        "POST": "post",
        "PUT": "put",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, method.lower())


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """Kubernetes' words for a refusal (``pods is forbidden: User "alice" cannot delete ...``)."""
    user = f'User "{attrs.user.name}"'
    if not attrs.resource_request:
        text = f'forbidden: {user} cannot {attrs.verb} path "{attrs.path}"'
    else:
        # The head names the resource without its subresource, as kube-apiserver's NewForbidden does.
        what = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
        head = f'{what} "{attrs.name}" is forbidden' if attrs.name else f"{what} is forbidden"
        scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        text = f'{head}: {user} cannot {attrs.verb} resource "{attrs.resource_and_sub}" in API group "{attrs.api_group}" {scope}'
    return f"{text}: {reason}" if reason else text

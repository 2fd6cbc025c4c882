"""How commands name objects, as kubectl: ``KIND [NAME...]`` (plural, singular, short name
or ``kind.group``; several kinds with commas; ``all``) or ``KIND/NAME...``.
"""

from __future__ import annotations

from cli.session import CliError, Session
from kajitori.api.registry import Resource, by_name

# What `get all` lists, as kubectl: the workloads and their services.
ALL_KINDS = ("pods", "services", "deployments", "replicasets")


def parse_targets(args: list[str]) -> list[tuple[Resource, list[str]]]:
    """`pods a b`, `po,svc`, `all`, `deploy/web pod/x` -> [(resource, names)] in the order given."""
    if not args:
        raise CliError("You must specify the type of resource (pods, deployments, services, nodes, ...)")
    targets: list[tuple[Resource, list[str]]] = []
    if "/" in args[0]:
        for arg in args:
            kind, sep, name = arg.partition("/")
            if not sep or not kind or not name:
                raise CliError(f"there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got {arg!r})")
            resource = by_name(kind)
            for existing, names in targets:
                if existing is resource:
                    names.append(name)
                    break
            else:
                targets.append((resource, [name]))
        return targets
    kinds: list[str] = []
    for kind in args[0].split(","):
        kinds.extend(ALL_KINDS if kind == "all" else [kind])
    names = list(args[1:])
    return [(by_name(kind), list(names)) for kind in kinds if kind]


def namespace_for(session: Session, resource: Resource, all_namespaces: bool) -> str | None:
    if not resource.namespaced or all_namespaces:
        return None
    return session.namespace

"""Object commands with kubectl's habits: get, describe, delete, scale, create, cluster-info.

`apply` lives in apply.py, the tables in printers.py, describe's sections in
describers.py. Arguments name objects as kubectl does: ``KIND [NAME...]`` (kinds by
plural, singular, short name or ``kind.group``; several with commas; ``all``) or
``KIND/NAME...``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
import yaml

from kajitori.api.registry import Resource, by_kind, by_name
from kajitori.cli import describers, printers
from kajitori.cli.apply_patch import display_name, resolve, target_namespace, with_last_applied
from kajitori.cli.main import app
from kajitori.cli.manifests import read_manifests
from kajitori.cli.session import (
    CliError,
    Kubeconfig,
    Namespace,
    Session,
    error_message,
    failures_reported,
    open_session,
)
from kajitori.client import ApiError, GoneError, NotFoundError

Obj = dict[str, Any]
# What `get all` lists, as kubectl: the workloads and their services.
ALL_KINDS = ("pods", "services", "deployments", "replicasets")

Selector = Annotated[str | None, typer.Option("--selector", "-l", help="Label selector (app=web,tier!=db).")]
FieldSelector = Annotated[str | None, typer.Option("--field-selector", help="Field selector (status.phase=Running).")]
AllNamespaces = Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")]


def parse_targets(args: list[str]) -> list[tuple[Resource, list[str]]]:
    """`pods a b`, `po,svc`, `all`, `deploy/web pod/x` -> [(resource, names)] in the order given."""
    if not args:
        raise CliError("You must specify the type of resource to get. Use \"kajitori api-resources\" for a complete list.")
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


def _namespace_for(session: Session, resource: Resource, all_namespaces: bool) -> str | None:
    if not resource.namespaced or all_namespaces:
        return None
    return session.namespace


def _with_type(resource: Resource, obj: Obj) -> Obj:
    # Items of a list carry apiVersion/kind on this server, but keep the output right if one does not.
    return {"apiVersion": resource.api_version, "kind": resource.kind, **obj}


def _dump(obj: Obj, output: str) -> str:
    if output == "json":
        return json.dumps(obj, indent=4) + "\n"
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


# --------------------------------------------------------------------------- get


@app.command(context_settings={"ignore_unknown_options": False})
def get(
    args: Annotated[list[str], typer.Argument(help="KIND [NAME...] or KIND/NAME...", show_default=False)],
    output: Annotated[str | None, typer.Option("--output", "-o", help="wide|yaml|json|name")] = None,
    selector: Selector = None,
    field_selector: FieldSelector = None,
    all_namespaces: AllNamespaces = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="After the list, print a row per change.")] = False,
    watch_only: Annotated[bool, typer.Option("--watch-only", help="Print only the changes.")] = False,
    show_labels: Annotated[bool, typer.Option("--show-labels", help="Add a LABELS column.")] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Show objects as kubectl's tables (or -o wide|yaml|json|name); -w to follow changes."""
    if output not in (None, "wide", "yaml", "json", "name"):
        typer.echo(f"error: unable to match a printer suitable for the output format {output!r}, allowed formats are: json,name,wide,yaml", err=True)
        raise typer.Exit(1)
    failed = False
    with failures_reported():
        targets = parse_targets(args)
        session = open_session(kubeconfig, namespace, timeout=30.0)
        if (watch or watch_only) and len(targets) != 1:
            raise CliError("you may only specify a single resource type to watch")
        multiple = len(targets) > 1 or "/" in args[0]
        found: list[tuple[Resource, list[Obj], str]] = []
        for resource, names in targets:
            ns = _namespace_for(session, resource, all_namespaces)
            if names:
                objects = []
                for name in names:
                    try:
                        objects.append(session.client.get_raw(resource, name, ns or session.namespace if resource.namespaced else None))
                    except NotFoundError as exc:
                        typer.echo(error_message(exc), err=True)
                        failed = True
                found.append((resource, objects, ""))
            else:
                listed = session.client.list_raw(resource, ns, label_selector=selector, field_selector=field_selector)
                found.append((resource, listed.get("items") or [], listed.get("metadata", {}).get("resourceVersion", "")))
        widths = printers.ColumnWidths()
        if not watch_only:
            _print_found(found, output=output, all_namespaces=all_namespaces, multiple=multiple,
                         named=any(names for _, names in targets), session=session, show_labels=show_labels,
                         widths=widths)  # fmt: skip
        if watch or watch_only:
            resource, names = targets[0]
            fields = field_selector
            if names:
                fields = ",".join(x for x in (field_selector, f"metadata.name={names[0]}") if x)
            _follow(session, resource, found[0][2], output=output, all_namespaces=all_namespaces,
                    selector=selector, fields=fields, widths=widths, show_labels=show_labels,
                    header=watch_only)  # fmt: skip
    if failed:
        raise typer.Exit(1)


def _labels_text(obj: Obj) -> str:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or printers.NONE


def _table(resource: Resource, objects: list[Obj], *, wide: bool, all_namespaces: bool, prefix: str,
           show_labels: bool) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    with_ns = all_namespaces and resource.namespaced
    headers = printers.headers_for(resource.kind, wide=wide, with_namespace=with_ns)
    rows = printers.rows_for(resource.kind, objects, time.time(), wide=wide, with_namespace=with_ns, name_prefix=prefix)
    if show_labels:
        headers.append("LABELS")
        for row, obj in zip(rows, objects, strict=True):
            row.append(_labels_text(obj))
    return headers, rows


def _print_found(
    found: list[tuple[Resource, list[Obj], str]], *, output: str | None, all_namespaces: bool, multiple: bool,
    named: bool, session: Session, show_labels: bool, widths: printers.ColumnWidths,
) -> None:  # fmt: skip
    if output in ("yaml", "json"):
        items = [_with_type(r, o) for r, objs, _ in found for o in objs]
        if named and len(items) == 1 and not multiple:
            typer.echo(_dump(items[0], output), nl=False)
        elif items or not named:
            typer.echo(_dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, output), nl=False)
        return
    if output == "name":
        for resource, objects, _ in found:
            for obj in objects:
                typer.echo(f"{display_name(resource)}/{obj['metadata']['name']}")
        return
    printed = False
    for resource, objects, _ in found:
        if not objects:
            continue
        objects = printers.sort_for_table(resource.kind, objects) if not named else objects
        prefix = f"{display_name(resource)}/" if multiple else ""
        headers, rows = _table(resource, objects, wide=output == "wide", all_namespaces=all_namespaces,
                               prefix=prefix, show_labels=show_labels)  # fmt: skip
        if printed:
            typer.echo("")
        # Several kinds each get their own alignment, as kubectl; one kind keeps it for a watch.
        typer.echo(printers.render_table(headers, rows, widths if len(found) == 1 else None))
        printed = True
    if not printed and not named:
        namespaced = any(r.namespaced for r, _, _ in found)
        where = f" in {session.namespace} namespace" if namespaced and not all_namespaces else ""
        typer.echo(f"No resources found{where}.", err=True)


def _follow(
    session: Session, resource: Resource, resource_version: str, *, output: str | None, all_namespaces: bool,
    selector: str | None, fields: str | None, widths: printers.ColumnWidths, show_labels: bool, header: bool,
) -> None:  # fmt: skip
    """Print a row (or document) per watch event until Ctrl-C; re-watch when the stream ends."""
    ns = _namespace_for(session, resource, all_namespaces)
    rv = resource_version
    headers_printed = not header
    try:
        while True:
            try:
                for event in session.client.watch_raw(resource, ns, resource_version=rv or None,
                                                      label_selector=selector, field_selector=fields):  # fmt: skip
                    obj = event.get("object") or {}
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if event.get("type") == "BOOKMARK":
                        continue
                    if output in ("yaml", "json"):
                        typer.echo(("---\n" if output == "yaml" else "") + _dump(_with_type(resource, obj), output), nl=False)
                        continue
                    if output == "name":
                        typer.echo(f"{display_name(resource)}/{obj['metadata']['name']}")
                        continue
                    headers, rows = _table(resource, [obj], wide=output == "wide", all_namespaces=all_namespaces,
                                           prefix="", show_labels=show_labels)  # fmt: skip
                    widths.fit([headers, *rows])
                    if not headers_printed:
                        typer.echo(widths.line(headers))
                        headers_printed = True
                    typer.echo(widths.line(rows[0]))
            except GoneError:
                # Too far behind the server's history: start again from now, quietly.
                rv = session.client.list_raw(resource, ns, label_selector=selector, field_selector=fields)["metadata"].get("resourceVersion", "")
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


# --------------------------------------------------------------------------- describe


@app.command()
def describe(
    args: Annotated[list[str], typer.Argument(help="KIND [NAME...] or KIND/NAME...", show_default=False)],
    selector: Selector = None,
    all_namespaces: AllNamespaces = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Show one object in detail, with its Events."""
    failed = False
    with failures_reported():
        targets = parse_targets(args)
        session = open_session(kubeconfig, namespace)
        texts: list[str] = []
        for resource, names in targets:
            ns = _namespace_for(session, resource, all_namespaces)
            if names:
                objects = []
                for name in names:
                    try:
                        objects.append(session.client.get_raw(resource, name, session.namespace if resource.namespaced else None))
                    except NotFoundError as exc:
                        typer.echo(error_message(exc), err=True)
                        failed = True
            else:
                objects = session.client.list_raw(resource, ns, label_selector=selector).get("items") or []
                objects = printers.sort_for_table(resource.kind, objects)
            texts.extend(describers.describe(session.client, resource, obj, time.time()) for obj in objects)
        typer.echo("\n\n".join(t.rstrip("\n") for t in texts)) if texts else None
        if not texts and not failed and not any(names for _, names in targets):
            typer.echo(f"No resources found in {session.namespace} namespace.", err=True)
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- delete

CASCADES = {"background": "Background", "true": "Background", "foreground": "Foreground", "orphan": "Orphan", "false": "Orphan"}


@app.command()
def delete(
    args: Annotated[list[str] | None, typer.Argument(help="KIND NAME... or KIND/NAME...", show_default=False)] = None,
    filename: Annotated[list[str] | None, typer.Option("--filename", "-f", help="File, directory or -.")] = None,
    grace_period: Annotated[int, typer.Option("--grace-period", help="Seconds to let the pod stop (-1: the object's own).")] = -1,
    now: Annotated[bool, typer.Option("--now", help="Same as --grace-period=1.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Same as --grace-period=0: do not wait for the node.")] = False,
    cascade: Annotated[str, typer.Option("--cascade", help="background|foreground|orphan")] = "background",
    all_objects: Annotated[bool, typer.Option("--all", help="Every object of the kind in the namespace.")] = False,
    selector: Selector = None,
    field_selector: FieldSelector = None,
    all_namespaces: AllNamespaces = False,
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found", help="A missing object is not an error.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the objects are gone.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait (0: no limit).")] = 0.0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Delete objects by name, by label, --all, or those in manifests (-f)."""
    failed = False
    gone: list[tuple[Resource, str, str | None, str]] = []
    with failures_reported():
        policy = CASCADES.get(cascade.lower())
        if policy is None:
            raise CliError(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')
        grace = 0 if force else 1 if now else grace_period
        session = open_session(kubeconfig, namespace)
        work: list[tuple[Resource, str, str | None]] = []
        if filename:
            if args:
                raise CliError("name cannot be provided when a path is specified")
            for manifest in read_manifests(filename):
                resource = resolve(manifest)
                work.append((resource, manifest.name, target_namespace(session, resource, manifest.doc)))
        else:
            targets = parse_targets(args or [])
            for resource, names in targets:
                ns = _namespace_for(session, resource, all_namespaces)
                if names:
                    if all_objects or selector:
                        raise CliError("name cannot be provided when a selector or --all is specified")
                    work.extend((resource, name, session.namespace if resource.namespaced else None) for name in names)
                elif all_objects or selector or field_selector:
                    listed = session.client.list_raw(resource, ns, label_selector=selector, field_selector=field_selector)
                    for obj in listed.get("items") or []:
                        meta = obj["metadata"]
                        work.append((resource, meta["name"], meta.get("namespace")))
                else:
                    raise CliError("resource(s) were provided, but no name was specified")
            if not work and (all_objects or selector or field_selector):
                typer.echo("No resources found", err=True)
        for resource, name, ns in work:
            try:
                result = session.client.delete_raw(
                    resource, name, ns, grace_period_seconds=None if grace < 0 else grace, propagation_policy=policy
                )
            except NotFoundError as exc:
                if not ignore_not_found:
                    typer.echo(error_message(exc), err=True)
                    failed = True
                continue
            except ApiError as exc:
                if exc.code in (0, 401):
                    raise
                typer.echo(error_message(exc, resource=resource), err=True)
                failed = True
                continue
            typer.echo(f'{display_name(resource)} "{name}" deleted')
            uid = ((result or {}).get("metadata") or {}).get("uid") or ""
            gone.append((resource, name, ns, uid))
        if wait:
            _wait_gone(session, gone, timeout)
    if failed:
        raise typer.Exit(1)


def _wait_gone(session: Session, objects: list[tuple[Resource, str, str | None, str]], timeout: float) -> None:
    """Poll until each object is gone (or replaced by a new one of the same name), as kubectl waits."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    for resource, name, ns, uid in objects:
        while True:
            try:
                current = session.client.get_raw(resource, name, ns)
            except NotFoundError:
                break
            if uid and (current.get("metadata") or {}).get("uid") != uid:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(f'timed out waiting for the condition on {resource.plural}/{name}')
            time.sleep(0.25)


# --------------------------------------------------------------------------- scale


@app.command()
def scale(
    args: Annotated[list[str], typer.Argument(help="KIND/NAME or KIND NAME", show_default=False)],
    replicas: Annotated[int, typer.Option("--replicas", help="The new number of replicas.")],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Set the replicas of a Deployment or ReplicaSet (through its scale subresource)."""
    with failures_reported():
        if replicas < 0:
            raise CliError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
        targets = parse_targets(args)
        session = open_session(kubeconfig, namespace)
        for resource, names in targets:
            if "scale" not in resource.subresources:
                raise CliError(f'cannot scale {resource.plural}: no scale subresource')
            if not names:
                raise CliError("resource(s) were provided, but no name was specified")
            for name in names:
                with failures_reported(resource=resource):
                    session.client.patch_raw(resource, name, {"spec": {"replicas": replicas}}, session.namespace,
                                             subresource="scale")  # fmt: skip
                typer.echo(f"{display_name(resource)}/{name} scaled")


# --------------------------------------------------------------------------- create, cluster-info

create_app = typer.Typer(help="Create objects: from manifests (-f), or a namespace.", no_args_is_help=False)
app.add_typer(create_app, name="create")


@create_app.callback(invoke_without_command=True)
def create(
    ctx: typer.Context,
    filename: Annotated[list[str] | None, typer.Option("--filename", "-f", help="File, directory or -.")] = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create objects from manifests (fails if one exists: use apply to update)."""
    if ctx.invoked_subcommand is not None:
        return
    if not filename:
        typer.echo(ctx.get_help())
        raise typer.Exit(1)
    failed = False
    with failures_reported():
        manifests = read_manifests(filename)
        session = open_session(kubeconfig, namespace)
        for manifest in manifests:
            resource = resolve(manifest)
            ns = target_namespace(session, resource, manifest.doc)
            try:
                session.client.create_raw(resource, with_last_applied(manifest.doc), ns)
            except ApiError as exc:
                if exc.code in (0, 401):
                    raise
                typer.echo(error_message(exc, resource=resource), err=True)
                failed = True
                continue
            typer.echo(f"{display_name(resource)}/{manifest.name} created")
    if failed:
        raise typer.Exit(1)


def _create_namespace(name: str, kubeconfig: str | None) -> None:
    with failures_reported():
        session = open_session(kubeconfig, None)
        resource = by_kind("v1", "Namespace")
        with failures_reported(resource=resource):
            session.client.create_raw(resource, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        typer.echo(f"namespace/{name} created")


@create_app.command("namespace")
def create_namespace(
    name: Annotated[str, typer.Argument(help="Name of the namespace.")],
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create a namespace."""
    _create_namespace(name, kubeconfig)


@create_app.command("ns", hidden=True)
def create_ns(name: Annotated[str, typer.Argument()], kubeconfig: Kubeconfig = None) -> None:
    _create_namespace(name, kubeconfig)


@app.command("cluster-info")
def cluster_info(kubeconfig: Kubeconfig = None) -> None:
    """Where the master is, its version, and how many nodes are Ready."""
    with failures_reported():
        session = open_session(kubeconfig, None)
        version = session.client.request("GET", "/version") or {}
        nodes = session.client.list_raw(by_kind("v1", "Node")).get("items") or []
        ready = sum(1 for n in nodes if printers.node_status(n).startswith("Ready"))
        typer.echo(f"Kajitori master is running at {session.client.config.server}")
        typer.echo(f"Version: {version.get('gitVersion', 'unknown')}")
        typer.echo(f"Nodes: {ready}/{len(nodes)} Ready")

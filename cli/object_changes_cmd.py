"""Commands that change objects: delete (by name, -l, --all, -f), scale, create, and cluster-info.

Each prints kubectl's one line per object (`pod "x" deleted`, `deployment.apps/web scaled`)
and keeps going past a failed object, exiting 1 at the end if any failed.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from cli import printers
from cli.app import app, create_app
from cli.apply_patch import (
    display_name,
    field_directive,
    resolve,
    target_namespace,
    with_last_applied,
)
from cli.manifests import read_manifests
from cli.options import AllNamespaces, FieldSelector, Kubeconfig, Namespace, Selector, Validate
from cli.session import CliError, Session, error_message, failures_reported, open_session
from cli.targets import namespace_for, parse_targets
from kajitori.api.registry import Resource, by_kind
from kajitori.client import ApiError, NotFoundError

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
                ns = namespace_for(session, resource, all_namespaces)
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



@create_app.callback(invoke_without_command=True)
def create(
    ctx: typer.Context,
    filename: Annotated[list[str] | None, typer.Option("--filename", "-f", help="File, directory or -.")] = None,
    validate: Validate = "strict",
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
        directive = field_directive(validate)
        manifests = read_manifests(filename)
        session = open_session(kubeconfig, namespace)
        for manifest in manifests:
            resource = resolve(manifest)
            ns = target_namespace(session, resource, manifest.doc)
            try:
                session.client.create_raw(resource, with_last_applied(manifest.doc), ns, field_validation=directive)
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

"""Reading commands with kubectl's habits: `get` (tables, -o, -l, -A, -w) and `describe`.

The tables are in printers.py, describe's sections in describers.py, how arguments name
objects in targets.py; the commands that change objects are in object_changes_cmd.py and apply_cmd.py.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
import yaml

from cli import describers, printers
from cli.app import app
from cli.apply_patch import display_name
from cli.options import AllNamespaces, FieldSelector, Kubeconfig, Namespace, Selector
from cli.session import CliError, Session, error_message, failures_reported, open_session
from cli.targets import namespace_for, parse_targets
from kajitori.api.registry import Resource
from kajitori.client import GoneError, NotFoundError

Obj = dict[str, Any]

def _with_type(resource: Resource, obj: Obj, *, managed_fields: bool = False) -> Obj:
    # Items of a list carry apiVersion/kind on this server, but keep the output right if one does not.
    # metadata.managedFields only with --show-managed-fields, as kubectl prints them.
    meta = obj.get("metadata")
    if not managed_fields and isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
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
    show_managed_fields: Annotated[bool, typer.Option("--show-managed-fields", help="Keep metadata.managedFields in -o yaml|json.")] = False,
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
        if all_namespaces and any(names and r.namespaced for r, names in targets):
            raise CliError("a resource cannot be retrieved by name across all namespaces")
        multiple = len(targets) > 1 or "/" in args[0]
        found: list[tuple[Resource, list[Obj], str]] = []
        for resource, names in targets:
            ns = namespace_for(session, resource, all_namespaces)
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
                         widths=widths, managed_fields=show_managed_fields)  # fmt: skip
        if watch or watch_only:
            resource, names = targets[0]
            fields = field_selector
            if names:
                fields = ",".join(x for x in (field_selector, f"metadata.name={names[0]}") if x)
            _follow(session, resource, found[0][2], output=output, all_namespaces=all_namespaces,
                    selector=selector, fields=fields, widths=widths, show_labels=show_labels,
                    header=watch_only, managed_fields=show_managed_fields)  # fmt: skip
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
    named: bool, session: Session, show_labels: bool, widths: printers.ColumnWidths, managed_fields: bool = False,
) -> None:  # fmt: skip
    if output in ("yaml", "json"):
        items = [_with_type(r, o, managed_fields=managed_fields) for r, objs, _ in found for o in objs]
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
    managed_fields: bool = False,
) -> None:  # fmt: skip
    """Print a row (or document) per watch event until Ctrl-C; re-watch when the stream ends."""
    ns = namespace_for(session, resource, all_namespaces)
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
                        typer.echo(("---\n" if output == "yaml" else "") + _dump(_with_type(resource, obj, managed_fields=managed_fields), output), nl=False)
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
            ns = namespace_for(session, resource, all_namespaces)
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
        if texts:
            typer.echo("\n\n".join(t.rstrip("\n") for t in texts))
        if not texts and not failed and not any(names for _, names in targets):
            typer.echo(f"No resources found in {session.namespace} namespace.", err=True)
    if failed:
        raise typer.Exit(1)



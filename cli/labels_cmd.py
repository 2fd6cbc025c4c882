"""`kajitori label` and `kajitori annotate`: kubectl's ``KIND NAME k=v k2- [--overwrite]``.

``k=v`` sets, ``k-`` removes; changing a key that already has another value needs
``--overwrite`` (kubectl's refusal otherwise, worded as kubectl words it for each verb).
The change is a JSON merge patch of ``metadata.labels`` / ``metadata.annotations`` only,
so nothing else of the object is rewritten. The parsing and the decision are pure
functions (`split_args`, `metadata_patch`) for the unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from cli.app import app
from cli.apply_patch import display_name
from cli.options import Kubeconfig, Namespace
from cli.session import CliError, Session, failures_reported, open_session
from cli.targets import parse_targets
from kajitori.api.meta import check_label_value, check_qualified_name
from kajitori.api.registry import Resource


@dataclass(frozen=True)
class Verb:
    """What differs between `label` and `annotate`."""

    field: str  # metadata.<field>
    noun: str  # "label" / "annotation"
    done: str  # "labeled" / "annotated"
    unchanged: str  # what kubectl prints when nothing changed
    values_are_labels: bool


LABEL = Verb("labels", "label", "labeled", "not labeled", True)
ANNOTATION = Verb("annotations", "annotation", "annotated", "annotated", False)


def split_args(args: list[str], verb: Verb) -> tuple[list[str], dict[str, str], list[str]]:
    """``deploy web a=b c-`` -> (["deploy", "web"], {"a": "b"}, ["c"]); validated as kubectl does."""
    targets: list[str] = []
    updates: dict[str, str] = {}
    removals: list[str] = []
    for arg in args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            _check(arg, key, value, verb)
            updates[key] = value
        elif arg.endswith("-") and len(arg) > 1:
            key = arg[:-1]
            _check(arg, key, None, verb)
            removals.append(key)
        else:
            if updates or removals:
                raise CliError(f"invalid {verb.noun} spec: {arg!r} (expected key=value or key-)")
            targets.append(arg)
    if not updates and not removals:
        raise CliError(f"at least one {verb.noun} update is required")
    both = sorted(set(updates) & set(removals))
    if both:
        an = "an" if verb.noun[0] in "aeiou" else "a"
        raise CliError(f"can not both modify and remove {an} {verb.noun} in the same command ({both[0]})")
    return targets, updates, removals


def _check(arg: str, key: str, value: str | None, verb: Verb) -> None:
    try:
        check_qualified_name(key, what=f"{verb.noun} key")
        if value is not None and verb.values_are_labels:
            check_label_value(value)
    except ValueError as exc:
        if verb.values_are_labels:
            raise CliError(f"invalid label spec: {arg}: {exc}") from None
        raise CliError(f"invalid annotation format: {arg}: {exc}") from None


def metadata_patch(
    current: dict[str, str], updates: dict[str, str], removals: list[str], *, overwrite: bool, verb: Verb
) -> tuple[dict[str, str | None], list[str]]:
    """The merge patch of the map (None deletes) and the notes for stderr; CliError when --overwrite is needed."""
    conflicts = [(k, current[k]) for k in updates if k in current and current[k] != updates[k]]
    if conflicts and not overwrite:
        if verb is LABEL:
            key, old = conflicts[0]
            raise CliError(f"'{key}' already has a value ({old}), and --overwrite is false")
        found = "; ".join(f"'{k}' already has a value ({v})" for k, v in conflicts)
        raise CliError(f"--overwrite is false but found the following declared annotation(s): {found}")
    patch: dict[str, str | None] = {k: v for k, v in updates.items() if current.get(k) != v}
    notes: list[str] = []
    for key in removals:
        if key in current:
            patch[key] = None
        elif verb is LABEL:
            notes.append(f'label "{key}" not found.')
    return patch, notes


def _change(
    args: list[str], verb: Verb, *, overwrite: bool, selector: str | None, all_objects: bool,
    namespace: str | None, kubeconfig: str | None,
) -> None:  # fmt: skip
    with failures_reported():
        target_args, updates, removals = split_args(args, verb)
        targets = parse_targets(target_args)
        session = open_session(kubeconfig, namespace)
        for resource, names in targets:
            ns = session.namespace if resource.namespaced else None
            if names and (selector or all_objects):
                raise CliError("name cannot be provided when a selector or --all is specified")
            if not names and not (selector or all_objects):
                raise CliError("resource(s) were provided, but no name was specified")
            if not names:
                listed = session.client.list_raw(resource, ns, label_selector=selector).get("items") or []
                names = [o["metadata"]["name"] for o in listed]
            for name in names:
                _change_one(session, resource, name, ns, updates, removals, overwrite=overwrite, verb=verb)


def _change_one(
    session: Session, resource: Resource, name: str, ns: str | None, updates: dict[str, str], removals: list[str],
    *, overwrite: bool, verb: Verb,
) -> None:  # fmt: skip
    with failures_reported(resource=resource):
        obj = session.client.get_raw(resource, name, ns)
        current = (obj.get("metadata") or {}).get(verb.field) or {}
        patch, notes = metadata_patch(current, updates, removals, overwrite=overwrite, verb=verb)
        for note in notes:
            typer.echo(note, err=True)
        if patch:
            session.client.patch_raw(resource, name, {"metadata": {verb.field: patch}}, ns, patch_type="merge")
    typer.echo(f"{display_name(resource)}/{name} {verb.done if patch else verb.unchanged}")


Args = Annotated[list[str], typer.Argument(help="KIND NAME... (or KIND/NAME) then key=value... and key-...", show_default=False)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Allow changing a key that already has a value.")]
Selector = Annotated[str | None, typer.Option("--selector", "-l", help="Every object matching this label selector.")]
AllObjects = Annotated[bool, typer.Option("--all", help="Every object of the kind in the namespace.")]


@app.command()
def label(
    args: Args,
    overwrite: Overwrite = False,
    selector: Selector = None,
    all_objects: AllObjects = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Set (k=v) or remove (k-) labels of objects."""
    _change(args, LABEL, overwrite=overwrite, selector=selector, all_objects=all_objects, namespace=namespace,
            kubeconfig=kubeconfig)  # fmt: skip


@app.command()
def annotate(
    args: Args,
    overwrite: Overwrite = False,
    selector: Selector = None,
    all_objects: AllObjects = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Set (k=v) or remove (k-) annotations of objects."""
    _change(args, ANNOTATION, overwrite=overwrite, selector=selector, all_objects=all_objects, namespace=namespace,
            kubeconfig=kubeconfig)  # fmt: skip

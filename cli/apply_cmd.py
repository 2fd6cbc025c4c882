"""`kajitori apply -f`: create or update objects from manifests, kubectl's client-side way.

The merge itself is in apply_patch.py; this module reads the files, applies each
document in order, prints one line per object, and keeps going past a failed one.
``--validate`` (strict by default, as kubectl) tells the server what to do with fields
Kubernetes does not have: refuse the object, warn, or ignore them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app
from cli.apply_patch import apply_one, display_name, field_directive
from cli.manifests import read_manifests
from cli.options import Kubeconfig, Namespace, Validate
from cli.session import CliError, error_message, failures_reported, open_session
from kajitori.client import ApiError

Files = Annotated[list[str], typer.Option("--filename", "-f", help="File, directory or - (stdin).")]


@app.command()
def apply(
    filename: Files,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create or update objects from manifests (multi-document YAML files, directories, or -)."""
    with failures_reported():
        directive = field_directive(validate)
        manifests = read_manifests(filename)
        session = open_session(kubeconfig, namespace)
    failed = False
    for manifest in manifests:
        resource = None
        try:
            resource, name, outcome = apply_one(session, manifest, field_validation=directive)
            typer.echo(f"{display_name(resource)}/{name} {outcome}")
        except ApiError as exc:
            typer.echo(error_message(exc, resource=resource), err=True)
            failed = True
            if exc.code == 0 or exc.code == 401:  # unreachable or refused: the rest would fail alike
                break
        except CliError as exc:
            typer.echo(error_message(exc), err=True)
            failed = True
    session.close()
    if failed:
        raise typer.Exit(1)

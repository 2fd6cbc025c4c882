"""The `kajitori` typer app and the command groups more than one command module adds to.

A leaf: command modules import `app` (or `create_app`) from here and add their commands;
`cli/main.py` imports every command module so that all of them are registered. Nothing
here imports a command module, so there is no import circle and no order to get right.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kajitori",
    help="Kajitori: a small container orchestrator with Kubernetes' API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Kajitori: a small container orchestrator with Kubernetes' API."""


create_app = typer.Typer(help="Create objects: from manifests (-f), a namespace, or a deployment (--image).", no_args_is_help=False)
"""`kajitori create`: `-f` and `namespace` come from object_changes_cmd, `deployment` from imperative_cmd."""
app.add_typer(create_app, name="create")

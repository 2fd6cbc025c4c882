"""Entry point of the `kajitori` command: one typer app, sub-commands in their own modules."""

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


def _register() -> None:
    # Each module adds its commands to `app`; imported here so that `kajitori --help`
    # lists them all, while heavy imports (docker, iptables) stay inside the commands.
    from cli import (  # noqa: F401
        apply,
        daemons,
        discovery_cmd,
        imperative_cmd,
        labels_cmd,
        node_cmd,
        node_maintenance,
        object_changes,
        objects,
        pods_cmd,
        rollout,
    )


_register()

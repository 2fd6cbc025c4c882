"""The `kajitori` console script: `kajitori agent` and `kajitori proxy` start without the other commands.

`cli.main` imports every command module (typer, the API models, the printers, the
describers, ...): about a second on an idle machine, several on a loaded one. The node agent
must renew its Lease within the master's grace period after a restart (6 s in the lab), so
the long-running node processes import only `cli.daemons_cmd`, which registers them on the
same `cli.app.app`; every other command line goes through `cli.main` as before.
"""

from __future__ import annotations

import sys

import typer

LEAN_COMMANDS = frozenset({"agent", "proxy"})
"""Commands dispatched through cli.daemons_cmd alone (their `--help` is theirs, as always)."""


def app_for(args: list[str]) -> typer.Typer:
    """The typer app with just enough commands registered to run `kajitori ARGS`."""
    if args and args[0] in LEAN_COMMANDS:
        # Imported here, not at the top: the lean path must not pay for cli.main's imports.
        from cli import daemons_cmd  # noqa: F401  (registers master, agent, proxy, ingress-controller)
        from cli.app import app

        return app
    from cli.main import app as full_app

    return full_app


def main() -> None:
    app_for(sys.argv[1:])()

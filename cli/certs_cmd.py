"""`kajitori certs issue`: a kubeconfig with a client certificate of the master's CA.

Run on the master (it reads ``DATA_DIR/pki/ca.key``). The user is the certificate's CN and
each ``--group`` an O; ``--node NAME`` is the node identity ``system:node:NAME`` in
``system:nodes``, which the Node authorizer knows. The server URL is the one of the
master's own ``admin.kubeconfig`` unless ``--server`` says otherwise. The file is 0600.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.app import app

certs_app = typer.Typer(help="Client certificates signed by the master's CA.", no_args_is_help=True)
app.add_typer(certs_app, name="certs")


@certs_app.command("issue")
def issue(
    out: Path = typer.Option(..., "--out", help="Where to write the kubeconfig (mode 0600)."),
    user: str = typer.Option(None, "--user", help="The user name (the certificate's CN)."),
    group: list[str] = typer.Option([], "--group", help="A group (an O of the certificate); repeatable."),
    node: str = typer.Option(
        None, "--node", help="Issue for node NAME: user system:node:NAME in group system:nodes."
    ),
    data_dir: Path = typer.Option(
        Path("./kajitori-data"), "--data-dir", help="The master's data dir (its pki/ holds the CA)."
    ),
    server: str = typer.Option(
        None, "--server", help="API server URL (default: the one in DATA_DIR/admin.kubeconfig)."
    ),
) -> None:
    """Write a kubeconfig for a user or a node with a fresh certificate of the cluster CA."""
    from kajitori import config
    from master.apiserver.certs import node_identity, write_kubeconfig

    if (user is None) == (node is None):
        raise typer.BadParameter("give exactly one of --user and --node", param_hint="--user")
    name, groups = node_identity(node) if node else (user, tuple(group))
    if node and group:
        groups = (*groups, *group)
    if not (data_dir / "pki" / "ca.key").exists():
        typer.echo(
            f"error: no CA in {data_dir / 'pki'}: run this on the master with its --data-dir", err=True
        )
        raise typer.Exit(1)
    url = server or config.load(data_dir / "admin.kubeconfig").server
    write_kubeconfig(out, data_dir=data_dir, server_url=url, user=name, groups=groups)
    typer.echo(f"wrote {out} for user {name!r}" + (f" in groups {', '.join(groups)}" if groups else ""))

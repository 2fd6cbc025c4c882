"""`kajitori certs issue`: a kubeconfig with a client certificate of the master's CA; `kajitori certs init`: what several masters share.

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


@certs_app.command("init")
def init(
    data_dir: Path = typer.Option(..., "--data-dir", help="Where to make the files every master shares."),
    server: str = typer.Option(
        "https://127.0.0.1:6443", "--server", help="API server URL of the kubeconfigs written beside them."
    ),
    etcd_member: list[str] = typer.Option(
        [], "--etcd-member", help="NAME=ADDRESS of an etcd member: a certificate for it in DATA_DIR/etcd; repeatable."
    ),
) -> None:
    """Make the cluster CA, service-account key, tokens and encryption key once, for several masters.

    Copy DATA_DIR's pki/ca.crt, pki/ca.key, pki/sa.key, pki/sa.pub, tokens.json and
    encryption-config.yaml into every master's data dir before it first starts. With
    --etcd-member, DATA_DIR/etcd/ gets ca.crt, NAME.crt/.key per member (server, peer and
    client use) and kube-apiserver-etcd-client.crt/.key. Files that exist are kept.
    """
    from master.cluster_pki import init_shared, issue_etcd_client, issue_etcd_member

    members: list[tuple[str, str]] = []
    for item in etcd_member:
        name, sep, address = item.partition("=")
        if not sep or not name or not address:
            raise typer.BadParameter(f"{item!r} must be NAME=ADDRESS", param_hint="--etcd-member")
        members.append((name, address))
    try:
        shared = init_shared(data_dir, server)
        made = [*shared]
        if members:
            for name, address in members:
                made.extend(issue_etcd_member(data_dir, data_dir / "etcd", name, address))
            made.extend(issue_etcd_client(data_dir, data_dir / "etcd"))
    except ValueError as exc:  # a bad address, a CA that is no EC key
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in made:
        typer.echo(str(path))

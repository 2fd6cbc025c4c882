"""Commands `kajitori node join` and `kajitori node reboot`: machines over SSH, or this one with a bootstrap token.

The SSH work is in lab.ssh_join, the TLS bootstrap of `node join --token` in
agent.client_certificate; this module only turns flags into a plan and prints its
progress and its one-line errors.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.app import app

node_app = typer.Typer(help="Add a machine to the cluster, or reboot one, over SSH.", no_args_is_help=True)
app.add_typer(node_app, name="node")

# Where `make lab` leaves what a join needs.
LAB_DIR = Path(".lab")
VAGRANT_KEY = Path("~/.vagrant.d/insecure_private_key")


def _api(kubeconfig: str | None) -> object:
    from kajitori import config
    from kajitori.client import ApiClient

    try:
        return ApiClient(config.load(kubeconfig), timeout=5.0)
    except config.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@node_app.command("join")
def join(
    host: str = typer.Argument(None, help="Address or name of the machine to join over SSH (omit with --token to join this machine)."),
    user: str = typer.Option(None, "--user", "-u", help="SSH user with passwordless sudo."),
    key: Path = typer.Option(None, "--key", "-i", help="Private key of that user."),
    port: int = typer.Option(22, "--port", help="SSH port."),
    master_kubeconfig: str = typer.Option(None, "--master-kubeconfig", "--kubeconfig", help="Kubeconfig to reach the master (default: ~/.kajitori/config)."),
    proxy_kubeconfig: Path = typer.Option(LAB_DIR / "proxy.kubeconfig", "--proxy-kubeconfig", help="The proxy's kubeconfig the master made (system:kube-proxy)."),
    wheelhouse: Path = typer.Option(LAB_DIR / "wheelhouse.tar", "--wheelhouse", help="Tar of kajitori's wheels (make lab builds it)."),
    node_name: str = typer.Option(None, "--node-name", help="Node name (default: the machine's host name)."),
    node_ip: str = typer.Option(None, "--node-ip", help="Cluster address (default: the address SSH reached)."),
    registry_mirror: str = typer.Option("192.168.56.1:5000", "--registry-mirror", help="host:port of the image registry mirror; '' leaves dockerd's config alone."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for the node to be Ready (or, with --token, for its certificate)."),
    token: str = typer.Option(None, "--token", help="Bootstrap token <id>.<secret> (kajitori token create): join this machine with its own certificate."),
    server: str = typer.Option(None, "--server", help="With --token: the API server URL (https://HOST:PORT)."),
    ca_file: Path = typer.Option(None, "--ca-file", help="With --token: the cluster CA certificate (the master's pki/ca.crt); without it, the CA is read from the server's kube-public/cluster-info, signed with the token and checked against --discovery-token-ca-cert-hash (kubeadm's token discovery)."),
    out: Path = typer.Option(Path("/etc/kajitori/node.kubeconfig"), "--out", help="With --token: where to write the node's kubeconfig (0600)."),
    ca_cert_hashes: list[str] = typer.Option([], "--discovery-token-ca-cert-hash", help="With --token: sha256:<hex> of the CA's public key (kajitori token create --print-join-command prints it); the CA of --ca-file must match one. Repeatable."),
) -> None:
    """Join a machine: over SSH (HOST --user --key), or this machine with a bootstrap token (--token --server --ca-file)."""
    if token is not None:
        if host is not None:
            raise typer.BadParameter("--token joins the machine it runs on: run `kajitori node join --token ...` there, without HOST")
        _join_with_token(token, server, ca_file, node_name, out, timeout, ca_cert_hashes)
        return
    if host is None or user is None or key is None:
        raise typer.BadParameter("give HOST with --user and --key to join over SSH, or --token, --server and --ca-file to join this machine")
    from lab import ssh_join

    plan = ssh_join.JoinPlan(
        target=ssh_join.SSHTarget(host=host, user=user, key=key.expanduser(), port=port),
        wheelhouse=wheelhouse,
        proxy_kubeconfig=proxy_kubeconfig,
        node_name=node_name,
        node_ip=node_ip,
        registry_mirror=registry_mirror or None,
    )
    api = _api(master_kubeconfig)
    try:
        ssh_join.join(plan, api=api, timeout=timeout, progress=lambda line: typer.echo(f"  {line}"))
    except ssh_join.JoinError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _join_with_token(
    token: str, server: str | None, ca_file: Path | None, node_name: str | None, out: Path, timeout: float, pins: list[str]
) -> None:
    """kubeadm join's TLS bootstrap on this machine: the CA checked against the pins, a key, a CSR as the token,
    the signed certificate in a kubeconfig."""
    import socket

    from agent.client_certificate import CertificateError, bootstrap
    from cli.session import error_message
    from kajitori import bootstrap_token, ca_pin
    from kajitori.client import ApiError, ServerUnavailable

    if server is None or (ca_file is None and not pins):
        raise typer.BadParameter("--token needs --server and --ca-file or --discovery-token-ca-cert-hash", param_hint="--token")
    try:
        parsed = bootstrap_token.parse(token)
        ca_pem = ca_file.read_bytes() if ca_file is not None else b""
    except bootstrap_token.TokenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--token") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {ca_file}: {exc.strerror}", param_hint="--ca-file") from None
    try:
        pins = [ca_pin.parse_pin(p) for p in pins]
    except ca_pin.PinError as exc:
        raise typer.BadParameter(str(exc), param_hint="--discovery-token-ca-cert-hash") from None
    if ca_file is None:
        # kubeadm's token discovery: the CA from the server's cluster-info, signed with this token and pinned.
        from kajitori import discovery

        try:
            ca_pem = discovery.fetch_ca(server, parsed, pins)
        except discovery.DiscoveryError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    elif pins:
        # Before the token goes anywhere: a CA nobody pinned could be another server's.
        try:
            ca_pin.check_pinned(ca_pem, pins)
        except ca_pin.PinError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    name = node_name or socket.gethostname()
    try:
        path = bootstrap(server, ca_pem, token, name, out, timeout=timeout)
    except (ApiError, ServerUnavailable) as exc:
        typer.echo(f"error: {error_message(exc)}", err=True)
        raise typer.Exit(1) from None
    except CertificateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"node {name!r} joined: wrote {path} (user system:node:{name}); start the agent with --kubeconfig {path}")


@node_app.command("reboot")
def reboot(
    name: str = typer.Argument(..., help="Node name."),
    host: str = typer.Option(None, "--host", help="Address to SSH to (default: the node's InternalIP)."),
    user: str = typer.Option("vagrant", "--user", "-u", help="SSH user with passwordless sudo."),
    key: Path = typer.Option(VAGRANT_KEY, "--key", "-i", help="Private key of that user (default: Vagrant's)."),
    port: int = typer.Option(22, "--port", help="SSH port."),
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Kubeconfig to reach the master."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the node is NotReady, then Ready again."),
    timeout: float = typer.Option(180.0, "--timeout", help="Seconds to wait for each of the two."),
) -> None:
    """Reboot a node over SSH (`systemctl reboot`) and watch it leave and come back."""
    from lab import ssh_join

    api = _api(kubeconfig)
    try:
        address = host or ssh_join.node_address(api, name)
        target = ssh_join.SSHTarget(host=address, user=user, key=key.expanduser(), port=port)
        ssh_join.reboot(target, api=api, node_name=name, wait=wait, timeout=timeout,
                        progress=lambda line: typer.echo(f"  {line}"))
    except ssh_join.JoinError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None

"""Commands `kajitori node join` and `kajitori node reboot`: machines over SSH.

The work is in lab.ssh_join; this module only turns flags into a plan
and prints its progress and its one-line errors.
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
    host: str = typer.Argument(..., help="Address or name of the machine."),
    user: str = typer.Option(..., "--user", "-u", help="SSH user with passwordless sudo."),
    key: Path = typer.Option(..., "--key", "-i", help="Private key of that user."),
    port: int = typer.Option(22, "--port", help="SSH port."),
    master_kubeconfig: str = typer.Option(None, "--master-kubeconfig", "--kubeconfig", help="Kubeconfig to reach the master (default: ~/.kajitori/config)."),
    node_kubeconfig: Path = typer.Option(LAB_DIR / "node.kubeconfig", "--node-kubeconfig", help="Credentials the master made for nodes."),
    wheelhouse: Path = typer.Option(LAB_DIR / "wheelhouse.tar", "--wheelhouse", help="Tar of kajitori's wheels (make lab builds it)."),
    node_name: str = typer.Option(None, "--node-name", help="Node name (default: the machine's host name)."),
    node_ip: str = typer.Option(None, "--node-ip", help="Cluster address (default: the address SSH reached)."),
    registry_mirror: str = typer.Option("192.168.56.1:5000", "--registry-mirror", help="host:port of the image registry mirror; '' leaves dockerd's config alone."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for the node to be Ready."),
) -> None:
    """Install kajitori on a machine over SSH, start its agent and proxy, wait until the node is Ready."""
    from lab import ssh_join

    plan = ssh_join.JoinPlan(
        target=ssh_join.SSHTarget(host=host, user=user, key=key.expanduser(), port=port),
        wheelhouse=wheelhouse,
        node_kubeconfig=node_kubeconfig,
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

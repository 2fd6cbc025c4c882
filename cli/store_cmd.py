"""`kajitori store snapshot save|restore|status`: back up the master's store and bring it back.

SQLite (the embedded store, the default): master/store/snapshot.py, whose docstring says what
a snapshot holds and when it is consistent. etcd (``--store etcd``): Debian's ``etcdctl``
(etcd-client) does the work, because its ``snapshot save`` streams etcd's own snapshot (one
revision, with the sha256 that ``snapshot restore`` checks) and ``snapshot restore`` is the
only supported way to turn one into a new member's data dir; this command passes the TLS flags
and prints how to start etcd there. (etcd 3.4's HTTP gateway does answer POST
/v3/maintenance/snapshot, as newline-delimited JSON of base64 chunks, but restore needs etcdctl
anyway, and etcdctl writes FILE.part 0600 and renames it only when the stream ended whole.)
An etcd snapshot is consistent at one etcd revision, which is every object's resourceVersion;
the restored member keeps it, with a new cluster ID so old members cannot rejoin it. In both cases ``pki/``, ``tokens.json`` and ``encryption-config.yaml`` of the master's
data dir are not in the snapshot: copy them to the new master's data dir.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import typer

from cli.app import app
from cli.options import Kubeconfig
from cli.session import failures_reported, open_session
from kajitori.api.registry import by_name
from kajitori.client import ConflictError, NotFoundError

store_app = typer.Typer(help="The master's state store: snapshots to back it up and restore it, re-encryption of Secrets.", no_args_is_help=True)
snapshot_app = typer.Typer(help="Save, check and restore snapshots of the store (SQLite or etcd).", no_args_is_help=True)
app.add_typer(store_app, name="store")
store_app.add_typer(snapshot_app, name="snapshot")

_COPY_HINT = "not in the snapshot: copy them from the old data dir into the new one before starting its master"


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _etcdctl(
    args: list[str], servers: str = "", cafile: str | None = None, certfile: str | None = None, keyfile: str | None = None, timeout: float = 300.0
) -> str:
    binary = shutil.which("etcdctl")
    if binary is None:
        _fail("etcdctl not found (install Debian's etcd-client)")
    command = [str(binary)]
    if servers:
        # etcdctl retries a refused TLS handshake forever; the dial timeout alone does not end it.
        command += [f"--endpoints={servers}", "--dial-timeout=10s"]
    for flag, value in (("--cacert", cafile), ("--cert", certfile), ("--key", keyfile)):
        if value:
            command.append(f"{flag}={value}")
    # ETCDCTL_API=3: etcdctl 3.4 defaults to it, older ones do not.
    try:
        done = subprocess.run([*command, *args], capture_output=True, text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}, timeout=timeout)
    except subprocess.TimeoutExpired:
        _fail(f"etcdctl {args[0]} {args[1]}: no answer in {timeout:g} s (wrong --etcd-servers, or a TLS flag missing?)")
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        _fail(f"etcdctl {args[0]} {args[1]}: {lines[-1] if lines else 'failed'}")
    return done.stdout


def _store_option(store: str) -> str:
    if store not in ("sqlite", "etcd"):
        raise typer.BadParameter(f"must be sqlite or etcd, not {store!r}", param_hint="--store")
    return store


@snapshot_app.command("save")
def save(
    file: Path = typer.Argument(..., help="The snapshot file to write (0600)."),
    data_dir: Path = typer.Option(Path("./kajitori-data"), "--data-dir", help="The master's data dir (with --store sqlite)."),
    store: str = typer.Option("sqlite", "--store", help="sqlite (the embedded store) or etcd."),
    etcd_servers: str = typer.Option("", "--etcd-servers", help="etcd client URLs, comma-separated (with --store etcd)."),
    etcd_cafile: str = typer.Option(None, "--etcd-cafile", help="CA of the etcd servers' certificates."),
    etcd_certfile: str = typer.Option(None, "--etcd-certfile", help="Client certificate for etcd."),
    etcd_keyfile: str = typer.Option(None, "--etcd-keyfile", help="Key of the etcd client certificate."),
    timeout: float = typer.Option(300.0, "--timeout", help="etcd: seconds to wait for the whole snapshot."),
) -> None:
    """Save a consistent snapshot of the store (at one revision) while the master runs."""
    from master.store import snapshot

    if _store_option(store) == "etcd":
        if not etcd_servers:
            raise typer.BadParameter("--store etcd needs --etcd-servers", param_hint="--etcd-servers")
        # One endpoint: etcdctl snapshot save refuses several.
        _etcdctl(["snapshot", "save", str(file)], etcd_servers.split(",")[0], etcd_cafile, etcd_certfile, etcd_keyfile, timeout)
        file.chmod(0o600)
        typer.echo(f"saved etcd snapshot {file} ({file.stat().st_size} bytes); pki/, tokens.json and encryption-config.yaml are {_COPY_HINT}")
        return
    try:
        status = snapshot.save(data_dir, file)
    except snapshot.SnapshotError as exc:
        _fail(str(exc))
    typer.echo(f"saved {file}: revision {status.revision}, {status.objects} objects, {status.size} bytes")
    typer.echo(f"pki/, tokens.json and encryption-config.yaml are {_COPY_HINT}")


@snapshot_app.command("status")
def status(
    file: Path = typer.Argument(..., help="A snapshot file (SQLite or etcd; told apart by its first bytes)."),
    output: str = typer.Option("table", "-o", "--output", help="table or json."),
) -> None:
    """Check a snapshot and print its revision, object count and size."""
    from master.store import snapshot

    if snapshot.kind_of(file) == "etcd":
        found = json.loads(_etcdctl(["snapshot", "status", str(file), "-w", "json"]))
        revision, objects, size = found["revision"], found["totalKey"], found["totalSize"]
    else:
        try:
            checked = snapshot.check(file)
        except snapshot.SnapshotError as exc:
            _fail(str(exc))
        revision, objects, size = checked.revision, checked.objects, checked.size
    if output == "json":
        typer.echo(json.dumps({"revision": revision, "objects": objects, "size": size}))
    else:
        typer.echo(f"{'REVISION':<10} {'OBJECTS':<10} SIZE")
        typer.echo(f"{revision:<10} {objects:<10} {size}")


@snapshot_app.command("restore")
def restore(
    file: Path = typer.Argument(..., help="The snapshot to restore."),
    data_dir: Path = typer.Option(..., "--data-dir", help="The NEW data dir: a master's (sqlite) or an etcd member's (etcd)."),
    store: str = typer.Option("sqlite", "--store", help="sqlite (the embedded store) or etcd."),
    name: str = typer.Option("default", "--name", help="etcd: the member's name in the restored cluster."),
    initial_cluster: str = typer.Option("", "--initial-cluster", help="etcd: name=peerURL,... of the restored cluster (default: this member alone)."),
    initial_advertise_peer_urls: str = typer.Option("http://127.0.0.1:2380", "--initial-advertise-peer-urls", help="etcd: this member's peer URL."),
    initial_cluster_token: str = typer.Option("kajitori-etcd-restored", "--initial-cluster-token", help="etcd: a token the restored cluster's members share."),
) -> None:
    """Restore a snapshot into a new data dir (never over an existing store)."""
    from master.store import snapshot

    if _store_option(store) == "etcd":
        if data_dir.exists() and any(data_dir.iterdir()):
            _fail(f"{data_dir} is not empty: restore into a new etcd data dir")
        cluster = initial_cluster or f"{name}={initial_advertise_peer_urls}"
        flags = [f"--name={name}", f"--initial-cluster={cluster}", f"--initial-advertise-peer-urls={initial_advertise_peer_urls}", f"--initial-cluster-token={initial_cluster_token}"]
        _etcdctl(["snapshot", "restore", str(file), f"--data-dir={data_dir}", *flags])
        typer.echo(f"restored {file} into {data_dir}; start etcd there with:")
        typer.echo(f"  etcd --data-dir={data_dir} {flags[0]} {flags[2]} --listen-peer-urls={initial_advertise_peer_urls} --listen-client-urls=URL --advertise-client-urls=URL")
        typer.echo(f"then the masters with --store etcd --etcd-servers URL; pki/, tokens.json and encryption-config.yaml are {_COPY_HINT}")
        return
    try:
        checked = snapshot.restore(file, data_dir)
    except snapshot.SnapshotError as exc:
        _fail(str(exc))
    typer.echo(f"restored {file} into {data_dir / snapshot.STORE_FILE}: revision {checked.revision}, {checked.objects} objects")
    typer.echo(f"pki/, tokens.json and encryption-config.yaml are {_COPY_HINT}")


@store_app.command("reencrypt")
def reencrypt(kubeconfig: Kubeconfig = None) -> None:
    """Rewrite every Secret so the first provider of the encryption config encrypts it (key rotation).

    As ``kubectl get secrets -A -o json | kubectl replace -f -``: each Secret is read and put back
    through the API, so it works on either store and with every master running. A Secret stored
    with an older provider is rewritten even though nothing changed (it is "stale"); one already
    under the first provider keeps its resourceVersion. A Secret changed meanwhile (409) is read again.
    """
    with failures_reported():
        session = open_session(kubeconfig, None)
        secrets = by_name("secrets")
        count = 0
        for item in session.client.list_raw(secrets).get("items", []):
            meta = item["metadata"]
            while True:
                try:
                    session.client.update_raw(secrets, item)
                    break
                except ConflictError:
                    item = session.client.get_raw(secrets, meta["name"], meta["namespace"])
                except NotFoundError:
                    break
            count += 1
        session.close()
        typer.echo(f"{count} secrets rewritten with the first provider of the encryption config")

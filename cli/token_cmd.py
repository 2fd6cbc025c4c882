"""`kajitori token create|list|delete`: bootstrap tokens for joining nodes, as `kubeadm token`.

A token is a kube-system Secret (``kajitori.bootstrap_token``); `create` prints the
``<id>.<secret>`` a new node passes to `kajitori node join --token`, `list` shows the tokens
with their time left, `delete` takes tokens or their ids. They talk to the API with the
given kubeconfig (the admin's), so they work from any machine that has one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from cli.app import app
from cli.options import Kubeconfig

token_app = typer.Typer(help="Bootstrap tokens that let new nodes join (as kubeadm token).", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _ttl(text: str) -> float:
    """kubeadm's --ttl: a Go duration of h, m and s parts (24h, 1h30m, 90s); 0 never expires."""
    import re

    if text.strip() == "0":
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise typer.BadParameter(f"invalid duration {text!r} (e.g. 24h, 30m, 90s; 0: never expires)", param_hint="--ttl")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


@token_app.command("create")
def create(
    token: str = typer.Argument(None, help="The token to create (default: a new random one), <id>.<secret>."),
    ttl: str = typer.Option("24h", "--ttl", help="How long the token is valid (e.g. 24h, 30m); 0: never expires."),
    groups: str = typer.Option(
        "system:bootstrappers:kajitori:default-node-token", "--groups", help="Extra groups to authenticate as (comma-separated)."
    ),
    usages: str = typer.Option("signing,authentication", "--usages", help="What the token may be used for (comma-separated)."),
    description: str = typer.Option("", "--description", help="A human-friendly description of the token's use."),
    print_join_command: bool = typer.Option(
        False, "--print-join-command", help="Print the whole `kajitori node join` line (server, token, the CA's hash) instead of the token."
    ),
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create a bootstrap token in kube-system and print it."""
    from datetime import timedelta

    from cli.session import error_message, open_session
    from kajitori import bootstrap_token
    from kajitori.api.registry import by_kind
    from kajitori.client import ApiError, ServerUnavailable

    try:
        value = bootstrap_token.parse(token) if token else bootstrap_token.generate()
        seconds = _ttl(ttl)
        expires = datetime.now(UTC) + timedelta(seconds=seconds) if seconds else None
        manifest = bootstrap_token.secret_manifest(
            value,
            expires=expires,
            usages=tuple(u.strip() for u in usages.split(",") if u.strip()),
            groups=tuple(g.strip() for g in groups.split(",") if g.strip()),
            description=description,
        )
    except bootstrap_token.TokenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    session = open_session(kubeconfig, None)
    try:
        session.client.create_raw(by_kind("v1", "Secret"), manifest, bootstrap_token.NAMESPACE)
    except (ApiError, ServerUnavailable) as exc:
        typer.echo(f"error: {error_message(exc)}", err=True)
        raise typer.Exit(1) from None
    finally:
        session.close()
    if not print_join_command:
        typer.echo(str(value))
        return
    from kajitori import ca_pin

    cfg = session.client.config
    if not cfg.ca_pem:
        typer.echo("error: the kubeconfig carries no cluster CA (certificate-authority-data) to pin", err=True)
        raise typer.Exit(1)
    # kubeadm's line: no CA file to carry over, the node reads the CA from cluster-info and checks its hash.
    typer.echo(
        f"kajitori node join --token {value} --server {cfg.server} "
        f"--discovery-token-ca-cert-hash {ca_pin.ca_cert_hash(cfg.ca_pem)}"
    )


@token_app.command("list")
def list_tokens(kubeconfig: Kubeconfig = None) -> None:
    """List the bootstrap tokens: TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS."""
    from cli.session import error_message, open_session
    from kajitori import bootstrap_token
    from kajitori.api.registry import by_kind
    from kajitori.client import ApiError, ServerUnavailable

    session = open_session(kubeconfig, None)
    try:
        items = session.client.list_raw(
            by_kind("v1", "Secret"), bootstrap_token.NAMESPACE, field_selector=f"type={bootstrap_token.SECRET_TYPE}"
        ).get("items") or []
    except (ApiError, ServerUnavailable) as exc:
        typer.echo(f"error: {error_message(exc)}", err=True)
        raise typer.Exit(1) from None
    finally:
        session.close()
    now = datetime.now(UTC)
    rows = [["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"]]
    for item in items:
        if item.get("type") != bootstrap_token.SECRET_TYPE:
            continue
        data = bootstrap_token.secret_data(item)
        ttl_text, expires_text = "<forever>", "<never>"
        if "expiration" in data:
            expires_text = data["expiration"]
            try:
                left = (bootstrap_token.parse_expiration(data["expiration"]) - now).total_seconds()
                ttl_text = "<invalid>" if left <= 0 else _human(left)
            except ValueError:
                ttl_text = "<invalid>"
        usages = ",".join(u for u in ("authentication", "signing") if data.get(f"usage-bootstrap-{u}") == "true")
        rows.append([
            f"{data.get('token-id', '')}.{data.get('token-secret', '')}", ttl_text, expires_text,
            usages or "<none>", data.get("description") or "<none>", data.get("auth-extra-groups") or "<none>",
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _human(seconds: float) -> str:
    """kubectl's short durations: 23h, 59m, 45s, 3d."""
    s = int(seconds)
    if s >= 2 * 86400:
        return f"{s // 86400}d"
    if s >= 3600:
        return f"{s // 3600}h"
    if s >= 60:
        return f"{s // 60}m"
    return f"{s}s"


@token_app.command("delete")
def delete(
    tokens: list[str] = typer.Argument(..., help="Tokens (<id>.<secret>) or token ids to delete."),
    kubeconfig: Kubeconfig = None,
) -> None:
    """Delete bootstrap tokens: the node that has one can no longer join with it."""
    from cli.session import error_message, open_session
    from kajitori import bootstrap_token
    from kajitori.api.registry import by_kind
    from kajitori.client import ApiError, NotFoundError, ServerUnavailable

    ids: list[str] = []
    for text in tokens:
        try:
            ids.append(bootstrap_token.parse(text).id if "." in text else bootstrap_token.check_id(text))
        except bootstrap_token.TokenError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    session = open_session(kubeconfig, None)
    failed = False
    try:
        for token_id in ids:
            name = bootstrap_token.NAME_PREFIX + token_id
            try:
                session.client.delete_raw(by_kind("v1", "Secret"), name, bootstrap_token.NAMESPACE)
            except NotFoundError:
                typer.echo(f"error: bootstrap token {token_id!r} not found", err=True)
                failed = True
                continue
            except (ApiError, ServerUnavailable) as exc:
                typer.echo(f"error: {error_message(exc)}", err=True)
                raise typer.Exit(1) from None
            typer.echo(f'bootstrap token "{token_id}" deleted')
    finally:
        session.close()
    if failed:
        raise typer.Exit(1)

"""`kajitori version` and `kajitori api-resources`: what the master says it is and serves.

Both read the API's discovery endpoints (``/version``, ``/api``, ``/apis`` and each
group version's ``APIResourceList``), as kubectl does, so they show what the server
really serves rather than the CLI's own resource table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import typer
import yaml

from cli import printers
from cli.app import app
from cli.options import Kubeconfig
from cli.session import CliError, error_message, failures_reported, open_session
from kajitori.client import ApiClient, ApiError
from kajitori.config import ConfigError
from kajitori.version import version_info

Obj = dict[str, Any]


# --------------------------------------------------------------------------- version


def client_version() -> Obj:
    # The CLI is built with the master it ships with: one version record for both (kajitori/version.py).
    return version_info()


@app.command()
def version(
    client_only: Annotated[bool, typer.Option("--client", help="Only the client's version (no server needed).")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help="yaml|json")] = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """The client's and the master's versions (the master's from /version)."""
    with failures_reported():
        if output not in (None, "yaml", "json"):
            raise CliError(f"--output must be 'yaml' or 'json' (got {output!r})")
    info: Obj = {"clientVersion": client_version()}
    failure: str | None = None
    if not client_only:
        try:
            session = open_session(kubeconfig, None)
            try:
                info["serverVersion"] = session.client.request("GET", "/version")
            finally:
                session.close()
        except (ApiError, ConfigError) as exc:
            failure = error_message(exc)
    if output == "json":
        typer.echo(json.dumps(info, indent=2))
    elif output == "yaml":
        typer.echo(yaml.safe_dump(info, sort_keys=False), nl=False)
    else:
        typer.echo(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            typer.echo(f"Server Version: {info['serverVersion'].get('gitVersion', 'unknown')}")
    if failure:
        typer.echo(failure, err=True)
        raise typer.Exit(1)


# --------------------------------------------------------------------------- api-resources


@dataclass(frozen=True)
class ApiResource:
    name: str
    short_names: tuple[str, ...]
    group: str
    group_version: str
    namespaced: bool
    kind: str
    verbs: tuple[str, ...]
    categories: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """`deployments.apps`, `pods`: what -o name prints and `get` accepts."""
        return f"{self.name}.{self.group}" if self.group else self.name


def discover(client: ApiClient) -> list[ApiResource]:
    """Every top-level resource the server serves, at each group's preferred version."""
    found: list[ApiResource] = []
    core = client.request("GET", "/api") or {}
    for version in core.get("versions") or []:
        found.extend(_resources(client.request("GET", f"/api/{version}") or {}, ""))
    groups = client.request("GET", "/apis") or {}
    for group in groups.get("groups") or []:
        preferred = group.get("preferredVersion") or (group.get("versions") or [{}])[0]
        gv = preferred.get("groupVersion")
        if gv:
            found.extend(_resources(client.request("GET", f"/apis/{gv}") or {}, group.get("name", "")))
    return found


def _resources(listing: Obj, group: str) -> list[ApiResource]:
    gv = listing.get("groupVersion", "")
    return [
        ApiResource(
            name=r["name"], short_names=tuple(r.get("shortNames") or ()), group=group, group_version=gv,
            namespaced=bool(r.get("namespaced")), kind=r.get("kind", ""), verbs=tuple(r.get("verbs") or ()),
            categories=tuple(r.get("categories") or ()),
        )
        for r in listing.get("resources") or []
        if "/" not in r["name"]  # subresources (pods/log, deployments/scale) are not listed, as kubectl
    ]


def resource_rows(resources: list[ApiResource], *, wide: bool, sort_by: str | None) -> tuple[list[str], list[list[str]]]:
    """kubectl's table: grouped by API group (core first), or sorted by name or kind."""
    if sort_by == "name":
        ordered = sorted(resources, key=lambda r: r.name)
    elif sort_by == "kind":
        ordered = sorted(resources, key=lambda r: r.kind)
    else:
        ordered = sorted(resources, key=lambda r: (r.group, r.name))
    headers = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if wide:
        headers += ["VERBS", "CATEGORIES"]
    rows = []
    for r in ordered:
        row = [r.name, ",".join(r.short_names), r.group_version, str(r.namespaced).lower(), r.kind]
        if wide:
            row += [f"[{' '.join(r.verbs)}]", ",".join(r.categories)]
        rows.append(row)
    return headers, rows


@app.command("api-resources")
def api_resources(
    namespaced: Annotated[str | None, typer.Option("--namespaced", help="true: only namespaced kinds; false: only cluster-wide.")] = None,
    api_group: Annotated[str | None, typer.Option("--api-group", help="Only this API group ('' is the core group).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="wide|name")] = None,
    sort_by: Annotated[str | None, typer.Option("--sort-by", help="name|kind")] = None,
    no_headers: Annotated[bool, typer.Option("--no-headers", help="Leave out the header line.")] = False,
    kubeconfig: Kubeconfig = None,
) -> None:
    """The resource types the master serves (from its discovery API), as kubectl lists them."""
    with failures_reported():
        if output not in (None, "wide", "name"):
            raise CliError(f'--output {output} is not available; use "wide" or "name"')
        if sort_by not in (None, "name", "kind"):
            raise CliError(f'--sort-by accepts only name or kind (got "{sort_by}")')
        if namespaced not in (None, "true", "false"):
            raise CliError(f'invalid argument "{namespaced}" for "--namespaced" flag: must be true or false')
        session = open_session(kubeconfig, None)
        try:
            resources = discover(session.client)
        finally:
            session.close()
    if namespaced is not None:
        resources = [r for r in resources if r.namespaced == (namespaced == "true")]
    if api_group is not None:
        resources = [r for r in resources if r.group == api_group]
    if output == "name":
        for r in sorted(resources, key=lambda r: (r.group, r.name)):
            typer.echo(r.full_name)
        return
    headers, rows = resource_rows(resources, wide=output == "wide", sort_by=sort_by)
    if not rows:
        typer.echo("No resources found", err=True)
        return
    lines = printers.render_table(headers, rows).split("\n")
    typer.echo("\n".join(lines[1:] if no_headers else lines))

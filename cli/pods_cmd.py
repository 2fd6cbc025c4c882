"""Command `kajitori logs`: a pod's container, through the master (exec and attach: cli/exec_cmd.py).

As kubectl does, it goes to the API server's pods/{name}/log, which
picks the container (or says which to choose) and forwards to the node's agent over TLS;
so it works from wherever the master is reachable.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from cli.app import app


def _client(kubeconfig: str | None) -> Any:
    from kajitori import config
    from kajitori.client import ApiClient

    try:
        return ApiClient(config.load(kubeconfig), timeout=10.0)
    except config.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _pod_path(client: Any, namespace: str, pod: str, sub: str) -> str:
    return f"{client.config.server.rstrip('/')}/api/v1/namespaces/{namespace}/pods/{pod}/{sub}"


def _http_options(client: Any) -> dict[str, Any]:
    token = client.config.token
    return {"verify": client.config.ssl_context(), "headers": {"Authorization": f"Bearer {token}"} if token else {}}


def _resolve_pod(client: Any, namespace: str, target: str) -> str:
    """A pod name from ``NAME``, ``pod/NAME`` or ``KIND/NAME`` of a workload (``job/pi``): one of its pods.

    As kubectl, a workload's pods are those its selector matches; a running pod is
    preferred, then the newest, and the choice is said on stderr when there are several.
    """
    from kajitori.api.meta import LabelSelector
    from kajitori.api.registry import UnknownResource, by_kind, by_name
    from kajitori.client import ApiError

    kind, sep, name = target.partition("/")
    if not sep:
        return target
    try:
        resource = by_name(kind)
    except UnknownResource as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if resource.kind == "Pod":
        return name
    try:
        obj = client.get_raw(resource, name, namespace)
        selector = LabelSelector.model_validate(((obj.get("spec") or {}).get("selector")) or {})
        if selector.is_empty():
            typer.echo(f"error: cannot get the logs of a {resource.kind}: it selects no pods", err=True)
            raise typer.Exit(1)
        pods = client.list_raw(by_kind("v1", "Pod"), namespace, label_selector=selector.to_query()).get("items") or []
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if not pods:
        typer.echo(f"error: no pods of {resource.singular}/{name}", err=True)
        raise typer.Exit(1)
    pods.sort(
        key=lambda p: ((p.get("status") or {}).get("phase") == "Running", (p.get("metadata") or {}).get("creationTimestamp") or ""),
        reverse=True,
    )
    chosen = str(pods[0]["metadata"]["name"])
    if len(pods) > 1:
        typer.echo(f"Found {len(pods)} pods, using pod/{chosen}", err=True)
    return chosen


@app.command()
def logs(
    pod: str = typer.Argument(..., help="Pod name, or TYPE/NAME (pod/x, job/pi, deploy/web): one of its pods."),
    container: str = typer.Option(None, "-c", "--container", help="Container (needed when the pod has several)."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep streaming new output."),
    previous: bool = typer.Option(False, "-p", "--previous", help="The previous instance of the container."),
    tail: int = typer.Option(-1, "--tail", help="Only the last N lines (-1: all)."),
    timestamps: bool = typer.Option(False, "--timestamps", help="Prefix each line with its time."),
    namespace: str = typer.Option(None, "-n", "--namespace"),
    kubeconfig: str = typer.Option(None, "--kubeconfig"),
) -> None:
    """Print the logs of a container of a pod."""
    import httpx

    client = _client(kubeconfig)
    ns = namespace or client.config.namespace
    pod = _resolve_pod(client, ns, pod)
    params = {
        "follow": str(follow).lower(),
        "previous": str(previous).lower(),
        "timestamps": str(timestamps).lower(),
        **({"container": container} if container else {}),
        **({"tailLines": str(tail)} if tail >= 0 else {}),
    }
    try:
        with httpx.stream(
            "GET", _pod_path(client, ns, pod, "log"), params=params, timeout=httpx.Timeout(10.0, read=None),
            **_http_options(client),
        ) as response:  # fmt: skip
            if response.status_code >= 400:
                response.read()
                typer.echo(f"error: {_message(response)}", err=True)
                raise typer.Exit(1)
            for chunk in response.iter_bytes():
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach the master at {client.config.server}: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return str(response.text)

"""Commands `kajitori logs` and `kajitori exec`: a pod's container, through the node agent's port.

The pod is read from the master (which node runs it, which container is meant); the
request then goes to that node's agent at its InternalIP and kubeletEndpoint port with the
same bearer token, which the agent checks with the master.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from kajitori.cli.main import app


def _client(kubeconfig: str | None) -> Any:
    from kajitori import config
    from kajitori.client import ApiClient

    try:
        return ApiClient(config.load(kubeconfig), timeout=10.0)
    except config.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _agent_url(client: Any, namespace: str, pod_name: str, container: str | None) -> tuple[str, str]:
    """(base URL of the pod's node agent, container name)."""
    from kajitori.api.core import Node, Pod
    from kajitori.client import ApiError

    try:
        pod = client.get(Pod, pod_name, namespace)
    except ApiError as exc:
        typer.echo(f"error: {exc.message if hasattr(exc, 'message') else exc}", err=True)
        raise typer.Exit(1) from None
    names = [c.name for c in pod.spec.containers] + [c.name for c in pod.spec.initContainers or []]
    if container is None:
        if len(pod.spec.containers) > 1:
            typer.echo(
                f"error: a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]",
                err=True,
            )
            raise typer.Exit(1)
        container = pod.spec.containers[0].name
    elif container not in names:
        typer.echo(f"error: container {container} is not valid for pod {pod_name}", err=True)
        raise typer.Exit(1)
    if not pod.spec.nodeName:
        typer.echo(f"error: pod {pod_name} is not scheduled to a node yet", err=True)
        raise typer.Exit(1)
    node = client.get(Node, pod.spec.nodeName)
    address = next((a.address for a in node.status.addresses or [] if a.type == "InternalIP"), None)
    endpoints = node.status.daemonEndpoints
    port = endpoints.kubeletEndpoint.Port if endpoints and endpoints.kubeletEndpoint else 10250
    if not address:
        typer.echo(f"error: node {pod.spec.nodeName} reports no InternalIP", err=True)
        raise typer.Exit(1)
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}", container


def _headers(client: Any) -> dict[str, str]:
    token = client.config.token
    return {"Authorization": f"Bearer {token}"} if token else {}


@app.command()
def logs(
    pod: str = typer.Argument(..., help="Pod name."),
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
    base, name = _agent_url(client, ns, pod, container)
    params = {
        "follow": str(follow).lower(),
        "previous": str(previous).lower(),
        "timestamps": str(timestamps).lower(),
        **({"tailLines": str(tail)} if tail >= 0 else {}),
    }
    try:
        with httpx.stream(
            "GET", f"{base}/containerLogs/{ns}/{pod}/{name}", params=params, headers=_headers(client),
            timeout=httpx.Timeout(10.0, read=None),
        ) as response:  # fmt: skip
            if response.status_code >= 400:
                response.read()
                typer.echo(f"error: {_message(response)}", err=True)
                raise typer.Exit(1)
            for chunk in response.iter_bytes():
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach the agent at {base}: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def exec(
    pod: str = typer.Argument(..., help="Pod name."),
    command: list[str] = typer.Argument(..., help="Command and its arguments (after --)."),
    container: str = typer.Option(None, "-c", "--container"),
    namespace: str = typer.Option(None, "-n", "--namespace"),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds the command may run."),
    kubeconfig: str = typer.Option(None, "--kubeconfig"),
) -> None:
    """Run a command in a container of a pod and print its output; exits with its exit code."""
    import httpx

    client = _client(kubeconfig)
    ns = namespace or client.config.namespace
    base, name = _agent_url(client, ns, pod, container)
    try:
        response = httpx.post(
            f"{base}/exec/{ns}/{pod}/{name}",
            json={"command": command, "timeoutSeconds": timeout},
            headers=_headers(client),
            timeout=timeout + 10.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach the agent at {base}: {exc}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"error: {_message(response)}", err=True)
        raise typer.Exit(1)
    answer = response.json()
    sys.stdout.write(answer.get("output", ""))
    sys.stdout.flush()
    raise typer.Exit(int(answer.get("exitCode", 0)))


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return str(response.text)

"""Command `kajitori port-forward TARGET [LOCAL:]REMOTE...`: local ports to a pod's, through the master.

As kubectl: TARGET is a pod (``NAME`` or ``pod/NAME``) or a workload or service that
resolves to one Running pod of its selector (``deployment/web``, ``svc/web``; for a
service the given port is its ``port`` and the pod's is its ``targetPort``), waiting up
to ``--pod-running-timeout`` (1m) for one to run. It listens on every ``--address``
(a comma list; ``localhost``, the default, is 127.0.0.1 and ::1 where there is IPv6),
prints ``Forwarding from 127.0.0.1:8084 -> 80`` per port and address, ``Handling
connection for 8084`` per connection, and runs until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

import typer

from cli import stream_session
from cli.app import app
from cli.options import Kubeconfig, Namespace
from cli.session import CliError, failures_reported, open_session, parse_duration
from kajitori.api.meta import LabelSelector
from kajitori.api.registry import by_kind, by_name
from kajitori.client import ApiClient
from kajitori.config import ClientConfig
from kajitori.streaming.port_forward import Forwarder, ListenAddress, Mapping, listen_addresses

PODS = by_kind("v1", "Pod")
POLL_S = 0.5


def parse_mapping(spec: str) -> tuple[int, str]:
    """``8084:80`` -> (8084, "80"); ``80`` -> (80, "80"); ``:80`` -> (0, "80"). The remote may be a port's name."""
    local, sep, remote = spec.rpartition(":")
    if not sep:
        local, remote = spec, spec
    if not remote or (local and not local.isdigit()):
        raise CliError(f"invalid port mapping {spec!r}: expected [LOCAL:]REMOTE")
    number = int(local) if local else 0
    if not 0 <= number < 65536:
        raise CliError(f"invalid local port {local}: ports must be between 1 and 65535")
    return number, remote


def _running_pods(client: ApiClient, namespace: str, selector: LabelSelector, what: str) -> list[dict[str, Any]]:
    if selector.is_empty():
        raise CliError(f"{what} selects no pods")
    pods = client.list_raw(PODS, namespace, label_selector=selector.to_query()).get("items") or []
    running = [
        p
        for p in pods
        if (p.get("status") or {}).get("phase") == "Running"
        and not (p.get("metadata") or {}).get("deletionTimestamp")
    ]
    running.sort(key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "", reverse=True)
    return running


def wait_running(client: ApiClient, namespace: str, resource: Any, name: str, timeout_s: float) -> dict[str, Any]:
    """The pod to forward to, once Running: the named pod, or the newest Running one a workload or service selects."""
    deadline = time.monotonic() + timeout_s
    while True:
        if resource.kind == "Pod":
            pod = client.get_raw(resource, name, namespace)
            phase = (pod.get("status") or {}).get("phase") or "Pending"
            if phase == "Running":
                return pod
            if phase in ("Succeeded", "Failed") or time.monotonic() >= deadline:
                raise CliError(f"unable to forward port because pod is not running. Current status={phase}")
        else:
            obj = client.get_raw(resource, name, namespace)
            raw_selector = (obj.get("spec") or {}).get("selector") or {}
            if resource.kind == "Service":
                selector = LabelSelector.model_validate({"matchLabels": raw_selector})
            else:
                selector = LabelSelector.model_validate(raw_selector)
            what = f"{resource.singular}/{name}"
            running = _running_pods(client, namespace, selector, what)
            if running:
                return running[0]
            if time.monotonic() >= deadline:
                raise CliError(f"timed out waiting for the condition: no Running pod of {what}")
        time.sleep(POLL_S)


def _container_port(pod: dict[str, Any], name: str) -> int:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name:
                return int(port["containerPort"])
    raise CliError(f"Pod '{pod['metadata']['name']}' does not have a named port '{name}'")


def resolve(client: ApiClient, namespace: str, target: str, ports: list[str], *, timeout_s: float = 60.0) -> tuple[str, list[int]]:
    """The pod to forward to (waiting up to timeout_s for it to run) and its port for each given port."""
    kind, sep, name = target.partition("/")
    if not sep:
        kind, name = "pods", target
    resource = by_name(kind)
    pod = wait_running(client, namespace, resource, name, timeout_s)
    service = client.get_raw(resource, name, namespace) if resource.kind == "Service" else None
    pod_ports: list[int] = []
    for port in ports:
        if service is not None:
            pod_ports.append(_service_target(service, pod, port))
        else:
            pod_ports.append(int(port) if port.isdigit() else _container_port(pod, port))
    return str(pod["metadata"]["name"]), pod_ports


def _service_target(service: dict[str, Any], pod: dict[str, Any], port: str) -> int:
    for entry in (service.get("spec") or {}).get("ports") or []:
        if str(entry.get("port")) == port or entry.get("name") == port:
            target = entry.get("targetPort", entry.get("port"))
            return int(target) if str(target).isdigit() else _container_port(pod, str(target))
    raise CliError(f"Service {service['metadata']['name']} does not have a service port {port}")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _warn(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def _forward(
    config: ClientConfig, namespace: str, pod: str, addresses: list[ListenAddress], mappings: list[Mapping]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await Forwarder(config, namespace, pod, addresses, say=_say, warn=_warn).serve(mappings, stop)


@app.command("port-forward")
def port_forward(
    target: str = typer.Argument(..., help="pod/NAME (or NAME), deployment/NAME, svc/NAME, ..."),
    ports: list[str] = typer.Argument(
        ..., help="[LOCAL:]REMOTE: 8084:80, 80 (the same local port), :80 (any free one)."
    ),
    address: str = typer.Option(
        "localhost", "--address", help="Addresses to listen on, comma-separated: IP addresses or localhost (127.0.0.1 and ::1)."
    ),
    pod_running_timeout: str = typer.Option(
        "1m0s", "--pod-running-timeout", help="How long to wait for the pod (or one of the workload's) to be Running."
    ),
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Forward local ports to a pod (or one Running pod of a workload or service) until Ctrl-C."""
    with failures_reported():
        parsed = [parse_mapping(p) for p in ports]
        timeout_s = parse_duration(pod_running_timeout, "--pod-running-timeout")
        if timeout_s <= 0:
            raise CliError("--pod-running-timeout must be higher than zero")
        try:
            addresses = listen_addresses(address)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        session = open_session(kubeconfig, namespace)
        try:
            pod, remotes = resolve(
                session.client, session.namespace, target, [remote for _, remote in parsed], timeout_s=timeout_s
            )
        finally:
            session.close()
    mappings = [Mapping(local, remote) for (local, _), remote in zip(parsed, remotes, strict=True)]
    config, ns = stream_session.load(kubeconfig, namespace)
    try:
        stream_session.run_stream(_forward(config, ns, pod, addresses, mappings))
    except OSError as exc:  # the local port is taken
        typer.echo(f"error: unable to listen on any of the requested ports: {exc}", err=True)
        raise typer.Exit(1) from None

"""kubectl's imperative commands for small clusters: `create deployment|job|cronjob`, `run`, `expose`.

The objects come from generators.py; this module reads the flags, sends the object with
the CLI's ``--validate`` setting, and prints kubectl's line (``deployment.apps/web
created``, ``service/web exposed``). ``--dry-run=client`` prints the object instead of
sending it (``-o yaml`` is how kubectl users write manifests); ``-o yaml|json|name``
after a real create prints what the server stored. ``create job --from=cronjob/NAME``
reads the CronJob first and runs its jobTemplate now.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml

from cli import generators
from cli.app import app, create_app
from cli.apply_patch import display_name, field_directive
from cli.options import Kubeconfig, Namespace, Validate
from cli.session import CliError, Session, failures_reported, open_session
from cli.targets import parse_targets
from kajitori.api.registry import Resource, by_kind, by_name

Obj = dict[str, Any]

Output = Annotated[str | None, typer.Option("--output", "-o", help="yaml|json|name: print the object instead of the one-line result.")]
DryRun = Annotated[
    str,
    typer.Option("--dry-run", help='none, or client: only print the object that would be sent, without sending it.'),
]
Port = Annotated[str | None, typer.Option("--port", help="The port the container listens on.")]
CommandWords = Annotated[list[str] | None, typer.Argument(help="-- COMMAND [ARGS...]", show_default=False)]
CRONJOB = by_kind("batch/v1", "CronJob")
JOB = by_kind("batch/v1", "Job")


def parse_output(output: str | None) -> str | None:
    if output not in (None, "yaml", "json", "name"):
        raise CliError(f"unable to match a printer suitable for the output format {output!r}, allowed formats are: json,name,yaml")
    return output


def parse_dry_run(value: str) -> bool:
    """True for client-side dry run; server-side needs the API's ``dryRun``, which this master does not serve."""
    choice = value.lower()
    if choice == "server":
        raise CliError('--dry-run=server is not supported by this master; use --dry-run=client')
    if choice not in ("none", "client"):
        raise CliError(f'invalid argument "{value}" for "--dry-run" flag: must be "none", "server", or "client"')
    return choice == "client"


def dump(obj: Obj, output: str) -> str:
    # Sorted keys: what kubectl prints (Go's YAML/JSON of a map), so generated manifests diff cleanly.
    if output == "json":
        return json.dumps(obj, indent=4, sort_keys=True) + "\n"
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def emit(resource: Resource, obj: Obj, *, output: str | None, verb: str, dry_run: bool) -> None:
    """kubectl's result: the object for -o yaml|json, ``KIND/NAME`` for -o name, else ``KIND/NAME verb``."""
    name = f"{display_name(resource)}/{(obj.get('metadata') or {}).get('name', '')}"
    if output in ("yaml", "json"):
        typer.echo(dump(obj, output), nl=False)
    elif output == "name":
        typer.echo(name)
    else:
        typer.echo(f"{name} {verb}{' (dry run)' if dry_run else ''}")


def send(session: Session, obj: Obj, *, validate: str, output: str | None, verb: str) -> None:
    """Create the object through the API (as the CLI's --validate asks) and print kubectl's line."""
    resource = by_kind(obj["apiVersion"], obj["kind"])
    with failures_reported(resource=resource):
        created = session.client.create_raw(resource, obj, session.namespace, field_validation=field_directive(validate))
    emit(resource, created, output=output, verb=verb, dry_run=False)


def _inherited(ctx: typer.Context, key: str, value: Any) -> Any:
    """A flag given before the sub-command (`create -n ns deployment ...`) counts too."""
    if value is not None or ctx.parent is None:
        return value
    return ctx.parent.params.get(key)


# --------------------------------------------------------------------------- create deployment


def _create_deployment(
    ctx: typer.Context, name: str, command: list[str] | None, image: list[str] | None, replicas: str, port: str | None,
    dry_run: str, output: str | None, validate: str | None, namespace: str | None, kubeconfig: str | None,
) -> None:  # fmt: skip
    with failures_reported():
        out = parse_output(output)
        client_only = parse_dry_run(dry_run)
        validate = _inherited(ctx, "validate", validate) or "strict"
        field_directive(validate)
        namespace = _inherited(ctx, "namespace", namespace)
        deployment = generators.deployment_for(
            name, image or [], replicas=generators.parse_replicas(replicas),
            port=None if port is None else generators.parse_port(port), command=command or (), namespace=namespace,
        )  # fmt: skip
        session = open_session(_inherited(ctx, "kubeconfig", kubeconfig), namespace)
        if client_only:
            emit(by_kind("apps/v1", "Deployment"), deployment, output=out, verb="created", dry_run=True)
            return
        send(session, deployment, validate=validate, output=out, verb="created")


@create_app.command("deployment")
def create_deployment(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the deployment.", show_default=False)],
    command: CommandWords = None,
    image: Annotated[list[str] | None, typer.Option("--image", help="Image to run (repeat for several containers).")] = None,
    replicas: Annotated[str, typer.Option("--replicas", help="Number of replicas.")] = "1",
    port: Port = None,
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Annotated[str | None, typer.Option("--validate", help="strict (default), warn or ignore.")] = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create a deployment (labels app=NAME) running the image(s); words after -- are the command."""
    _create_deployment(ctx, name, command, image, replicas, port, dry_run, output, validate, namespace, kubeconfig)


@create_app.command("deploy", hidden=True)
def create_deploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(show_default=False)],
    command: CommandWords = None,
    image: Annotated[list[str] | None, typer.Option("--image")] = None,
    replicas: Annotated[str, typer.Option("--replicas")] = "1",
    port: Port = None,
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Annotated[str | None, typer.Option("--validate")] = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    _create_deployment(ctx, name, command, image, replicas, port, dry_run, output, validate, namespace, kubeconfig)


# --------------------------------------------------------------------------- run


@app.command()
def run(
    name: Annotated[str, typer.Argument(help="Name of the pod.", show_default=False)],
    arguments: CommandWords = None,
    image: Annotated[str | None, typer.Option("--image", help="The image to run.")] = None,
    restart: Annotated[str, typer.Option("--restart", help="Always, OnFailure or Never: the pod's restartPolicy.")] = "Always",
    port: Port = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="NAME=value (repeat for several).")] = None,
    labels: Annotated[str | None, typer.Option("--labels", "-l", help="k=v,k2=v2 (replaces run=NAME).")] = None,
    annotations: Annotated[list[str] | None, typer.Option("--annotations", help="k=v annotation (repeat for several).")] = None,
    use_command: Annotated[bool, typer.Option("--command", help="Words after -- are the command, not the args.")] = False,
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Run an image in a bare pod labelled run=NAME; words after -- are its args (--command: its command)."""
    with failures_reported():
        out = parse_output(output)
        client_only = parse_dry_run(dry_run)
        field_directive(validate)
        if not image:
            raise CliError("--image is required")
        notes: dict[str, str] = {}
        for item in annotations or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CliError(f"invalid annotation spec: {item!r} (\"--annotations\" takes key=value)")
            notes[key] = value
        pod = generators.pod_for(
            name, image, restart=generators.parse_restart(restart),
            port=None if port is None else generators.parse_port(port), env=generators.parse_env(env or []),
            labels=generators.parse_key_values(labels) if labels else None, annotations=notes,
            arguments=arguments or (), as_command=use_command, namespace=namespace,
        )  # fmt: skip
        session = open_session(kubeconfig, namespace)
        if client_only:
            emit(by_kind("v1", "Pod"), pod, output=out, verb="created", dry_run=True)
            return
        send(session, pod, validate=validate, output=out, verb="created")


# --------------------------------------------------------------------------- expose


@app.command()
def expose(
    args: Annotated[list[str], typer.Argument(help="KIND NAME or KIND/NAME (deployment, replicaset, pod, service).", show_default=False)],
    port: Annotated[str | None, typer.Option("--port", help="The port the service serves on (default: the object's ports).")] = None,
    target_port: Annotated[str | None, typer.Option("--target-port", help="Number or name of the container port (default: --port).")] = None,
    service_type: Annotated[str | None, typer.Option("--type", help="ClusterIP (default) or NodePort.")] = None,
    service_name: Annotated[str | None, typer.Option("--name", help="Name of the service (default: the object's).")] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="TCP (default) or UDP.")] = None,
    selector: Annotated[str | None, typer.Option("--selector", help="k=v,... instead of the object's selector.")] = None,
    labels: Annotated[str | None, typer.Option("--labels", "-l", help="k=v,... for the service (default: the object's labels).")] = None,
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Make a Service for a deployment, replicaset, pod or service, selecting the same pods."""
    with failures_reported():
        out = parse_output(output)
        client_only = parse_dry_run(dry_run)
        field_directive(validate)
        port_number = None if port is None else generators.parse_port(port)
        target = None if target_port is None else generators.parse_target_port(target_port)
        kind_of_service = generators.parse_service_type(service_type)
        proto = generators.parse_protocol(protocol)
        chosen = generators.parse_key_values(selector, "--selector") if selector else None
        service_labels = generators.parse_key_values(labels) if labels else None
        targets = parse_targets(args)
        if len(targets) != 1 or len(targets[0][1]) != 1:
            raise CliError("expose takes exactly one object: KIND NAME or KIND/NAME")
        resource, names = targets[0]
        if resource.kind not in generators.EXPOSABLE_KINDS:
            raise CliError(f"cannot expose a {resource.kind}{'.' + resource.group if resource.group else ''}")
        session = open_session(kubeconfig, namespace)
        with failures_reported(resource=resource):
            exposed = session.client.get_raw(resource, names[0], session.namespace if resource.namespaced else None)
        service = generators.service_for(
            resource.kind, exposed, port=port_number, target_port=target, service_type=kind_of_service,
            name=service_name, protocol=proto, selector=chosen, labels=service_labels, namespace=namespace,
        )  # fmt: skip
        if client_only:
            emit(by_name("services"), service, output=out, verb="exposed", dry_run=True)
            return
        send(session, service, validate=validate, output=out, verb="exposed")


# --------------------------------------------------------------------------- create job, create cronjob


@create_app.command("job")
def create_job(
    name: Annotated[str, typer.Argument(help="Name of the job.", show_default=False)],
    command: CommandWords = None,
    image: Annotated[str | None, typer.Option("--image", help="Image to run.")] = None,
    source: Annotated[
        str | None, typer.Option("--from", help="cronjob/NAME: run that CronJob's job template now.")
    ] = None,
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create a job running the image (words after -- are its command), or one from a CronJob's template."""
    with failures_reported():
        out = parse_output(output)
        client_only = parse_dry_run(dry_run)
        field_directive(validate)
        if image and source:
            raise CliError("either --image or --from must be specified, not both")
        session = open_session(kubeconfig, namespace)
        if source:
            kind, _, source_name = source.partition("/")
            if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not source_name:
                raise CliError(f"from must be an existing cronjob: {source}")
            with failures_reported(resource=CRONJOB):
                cronjob = session.client.get_raw(CRONJOB, source_name, session.namespace)
            job = generators.job_from_cronjob(name, cronjob, namespace=namespace)
        else:
            job = generators.job_for(name, image, command=command or (), namespace=namespace)
        if client_only:
            emit(JOB, job, output=out, verb="created", dry_run=True)
            return
        send(session, job, validate=validate, output=out, verb="created")


@create_app.command("cronjob")
def create_cronjob(
    name: Annotated[str, typer.Argument(help="Name of the cronjob.", show_default=False)],
    command: CommandWords = None,
    image: Annotated[str | None, typer.Option("--image", help="Image to run.")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help='A cron schedule: "*/1 * * * *", "@hourly".')
    ] = None,
    restart: Annotated[str, typer.Option("--restart", help="OnFailure (default) or Never.")] = "OnFailure",
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Create a cronjob that runs the image on the schedule (words after -- are its command)."""
    with failures_reported():
        out = parse_output(output)
        client_only = parse_dry_run(dry_run)
        field_directive(validate)
        cronjob = generators.cronjob_for(
            name, image, schedule, restart=restart, command=command or (), namespace=namespace
        )
        if client_only:
            emit(CRONJOB, cronjob, output=out, verb="created", dry_run=True)
            return
        send(open_session(kubeconfig, namespace), cronjob, validate=validate, output=out, verb="created")


@create_app.command("cj", hidden=True)
def create_cj(
    name: Annotated[str, typer.Argument(show_default=False)],
    command: CommandWords = None,
    image: Annotated[str | None, typer.Option("--image")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule")] = None,
    restart: Annotated[str, typer.Option("--restart")] = "OnFailure",
    dry_run: DryRun = "none",
    output: Output = None,
    validate: Validate = "strict",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    create_cronjob(name, command, image, schedule, restart, dry_run, output, validate, namespace, kubeconfig)

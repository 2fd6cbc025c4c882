"""Commands `kajitori rollout status|history|undo` and `kajitori set image`, as kubectl's
(of Deployments, DaemonSets and StatefulSets, with kubectl's status viewers' words).

A Deployment's revisions are its ReplicaSets (those it controls), numbered by their
``deployment.kubernetes.io/revision`` annotation; a DaemonSet's or StatefulSet's are its
ControllerRevisions. ``undo`` copies the pod template of the previous (or the named)
revision back into the object; its controller then finds that revision again and rolls
to it as the newest one.
``status`` watches the Deployment until the rollout is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from cli.app import app
from cli.options import Kubeconfig, Namespace
from cli.session import CliError, Session, failures_reported, open_session

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
REVISION_HASH_LABEL = "controller-revision-hash"

rollout_app = typer.Typer(help="Manage the rollout of a Deployment, DaemonSet or StatefulSet: status, history, undo.", no_args_is_help=True)
app.add_typer(rollout_app, name="rollout")
set_app = typer.Typer(help="Set fields of objects: image.", no_args_is_help=True)
app.add_typer(set_app, name="set")


def _deployment_name(target: str, name: str | None) -> str:
    """`deployment/web`, `deploy/web`, or `deployment web` -> web."""
    kind, sep, rest = target.partition("/")
    if sep:
        name = rest
    else:
        kind = target
    if kind.lower() not in DEPLOYMENT_KINDS:
        raise CliError(f'set image supports Deployments only, not "{kind}"')
    if not name:
        raise CliError("a deployment name is required: deployment/NAME")
    return name


DEPLOYMENT_KINDS = ("deployment", "deployments", "deploy", "deployment.apps")
DAEMONSET_KINDS = ("daemonset", "daemonsets", "ds", "daemonset.apps")
STATEFULSET_KINDS = ("statefulset", "statefulsets", "sts", "statefulset.apps")


def _rollout_target(target: str, name: str | None) -> tuple[str, str]:
    """`deployment/web`, `ds/logs`, `statefulset web` -> (resource plural, name)."""
    kind, sep, rest = target.partition("/")
    if sep:
        name = rest
    for plural, kinds in (("deployments", DEPLOYMENT_KINDS), ("daemonsets", DAEMONSET_KINDS), ("statefulsets", STATEFULSET_KINDS)):
        if kind.lower() in kinds:
            if not name:
                raise CliError(f"a name is required: {kinds[0]}/NAME")
            return plural, name
    raise CliError(f'no rollout history for "{kind}": Deployments, DaemonSets and StatefulSets have one')


def _resources() -> tuple[Any, Any]:
    from kajitori.api.registry import by_name

    return by_name("deployments"), by_name("replicasets")


def _revision(rs: Obj) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _controlled_by(owner: Obj, items: list[Obj]) -> list[Obj]:
    uid = owner["metadata"]["uid"]
    return [o for o in items if any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences") or [])]


@dataclass(frozen=True)
class Revision:
    """One entry of a rollout history: its number, change-cause and pod template."""

    number: int
    cause: str | None
    template: Obj


def _history(session: Session, plural: str, owner: Obj) -> list[Revision]:
    """The object's revisions, oldest first: a Deployment's ReplicaSets (numbered by their
    revision annotation), a DaemonSet's or StatefulSet's ControllerRevisions (their ``revision``;
    the template is in ``data``, the patch that puts it back)."""
    from kajitori.api.registry import by_name

    if plural == "deployments":
        _, replicasets = _resources()
        owned = _controlled_by(owner, session.client.list_raw(replicasets, session.namespace).get("items") or [])
        found = [Revision(_revision(rs), (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE), rs["spec"]["template"]) for rs in owned]
    else:
        items = session.client.list_raw(by_name("controllerrevisions"), session.namespace).get("items") or []
        found = []
        for cr in _controlled_by(owner, items):
            template = dict(((cr.get("data") or {}).get("spec") or {}).get("template") or {})
            template.pop("$patch", None)
            found.append(Revision(int(cr.get("revision") or 0), (cr["metadata"].get("annotations") or {}).get(CHANGE_CAUSE), template))
    return sorted(found, key=lambda r: r.number)


def _load(target: str, name: str | None, namespace: str | None, kubeconfig: str | None) -> tuple[Session, str, str, Obj, list[Revision]]:
    """The session, the resource plural, the object's name, the object, and its revisions oldest first."""
    from kajitori.api.registry import by_name

    plural, obj_name = _rollout_target(target, name)
    session = open_session(kubeconfig, namespace)
    obj = session.client.get_raw(by_name(plural), obj_name, session.namespace)
    return session, plural, obj_name, obj, _history(session, plural, obj)


def _find_revision(revisions: list[Revision], number: int, missing: str) -> Revision:
    match = next((r for r in revisions if r.number == number), None)
    if match is None:
        raise CliError(missing)
    return match


def _kind_ref(plural: str, name: str) -> str:
    """`deployment.apps/web`, as kubectl names the object in its answers."""
    return f"{plural[:-1]}.apps/{name}"


@rollout_app.command("history")
def history(
    target: Annotated[str, typer.Argument(help="deployment/NAME, daemonset/NAME or statefulset/NAME")],
    name: Annotated[str | None, typer.Argument(help="NAME (when the kind is given alone)")] = None,
    revision: Annotated[int, typer.Option("--revision", help="Show the template of this revision.")] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """List the revisions of a Deployment, DaemonSet or StatefulSet (and their change-cause),
    or show one revision's template."""
    import yaml

    with failures_reported():
        _, plural, obj_name, _, revisions = _load(target, name, namespace, kubeconfig)
        ref = _kind_ref(plural, obj_name)
        if revision:
            match = _find_revision(revisions, revision, f"unable to find the specified revision {revision}")
            typer.echo(f"{ref} with revision #{revision}")
            typer.echo(yaml.safe_dump({"Pod Template": match.template}, sort_keys=False), nl=False)
            return
        typer.echo(ref)
        typer.echo(f"{'REVISION':<10}{'CHANGE-CAUSE'}")
        for r in revisions:
            typer.echo(f"{r.number:<10}{r.cause or '<none>'}")


@rollout_app.command("undo")
def undo(
    target: Annotated[str, typer.Argument(help="deployment/NAME, daemonset/NAME or statefulset/NAME")],
    name: Annotated[str | None, typer.Argument(help="NAME (when the kind is given alone)")] = None,
    to_revision: Annotated[int, typer.Option("--to-revision", help="The revision to go back to (0: the previous one).")] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Roll a Deployment, DaemonSet or StatefulSet back to its previous revision (or --to-revision N)."""
    from kajitori.api.registry import by_name

    with failures_reported():
        session, plural, obj_name, obj, revisions = _load(target, name, namespace, kubeconfig)
        ref = _kind_ref(plural, obj_name)
        current = revisions[-1].number if revisions else 0
        if to_revision:
            match = _find_revision(revisions, to_revision, f"unable to find specified revision {to_revision} in history")
        else:
            older = [r for r in revisions if r.number < current]
            if not older:
                raise CliError(f'no rollout history found for {plural[:-1]} "{obj_name}"')
            match = older[-1]
        template = dict(match.template)
        meta = dict(template.get("metadata") or {})
        # The hash labels are the controllers' (pod-template-hash, controller-revision-hash), not the template's.
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in (HASH_LABEL, REVISION_HASH_LABEL)}
        template["metadata"] = {**meta, "labels": labels}
        if template == obj["spec"]["template"]:
            typer.echo(f"{ref} skipped rollback (current template already matches revision {match.number})")
            return
        obj["spec"]["template"] = template
        annotations = dict(obj["metadata"].get("annotations") or {})
        if match.cause:
            annotations[CHANGE_CAUSE] = match.cause
        else:
            annotations.pop(CHANGE_CAUSE, None)
        obj["metadata"]["annotations"] = annotations or None
        # An update with the read resourceVersion: a change made meanwhile answers 409, not lost.
        session.client.update_raw(by_name(plural), obj, session.namespace)
        typer.echo(f"{ref} rolled back")


def rollout_progress(deployment: Obj) -> tuple[bool, str]:
    """(done?, kubectl's message) for a Deployment's status, as `kubectl rollout status` words it."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    if (status.get("observedGeneration") or 0) < (deployment["metadata"].get("generation") or 0):
        return False, "Waiting for deployment spec update to be observed..."
    progressing: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        raise CliError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    replicas = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return False, f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas have been updated...'
    if replicas > updated:
        return False, f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas are pending termination...'
    if available < updated:
        return False, f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are available...'
    return True, f'deployment "{name}" successfully rolled out'



def daemonset_progress(ds: Obj) -> tuple[bool, str]:
    """(done?, kubectl's message) for a DaemonSet's status, as kubectl's DaemonSetStatusViewer words it."""
    name = ds["metadata"]["name"]
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    if (status.get("observedGeneration") or 0) < (ds["metadata"].get("generation") or 0):
        return False, "Waiting for daemon set spec update to be observed..."
    desired = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    if updated < desired:
        return False, f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been updated...'
    if available < desired:
        return False, f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...'
    return True, f'daemon set "{name}" successfully rolled out'



def statefulset_progress(sts: Obj) -> tuple[bool, str]:
    """(done?, kubectl's message) for a StatefulSet's status, as kubectl's StatefulSetStatusViewer words it."""
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    if not status.get("observedGeneration") or (sts["metadata"].get("generation") or 0) > status["observedGeneration"]:
        return False, "Waiting for statefulset spec update to be observed..."
    replicas = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    if ready < replicas:
        return False, f"Waiting for {replicas - ready} pods to be ready..."
    updated = status.get("updatedReplicas") or 0
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - partition:
            return False, (
                f"Waiting for partitioned roll out to finish: {updated} out of {replicas - partition} new pods have been updated..."
            )
        return True, f"partitioned roll out complete: {updated} new pods have been updated..."
    if status.get("updateRevision") != status.get("currentRevision"):
        return False, (
            f"waiting for statefulset rolling update to complete {updated} pods at revision {status.get('updateRevision')}..."
        )
    return True, f"statefulset rolling update complete {status.get('currentReplicas') or 0} pods at revision {status.get('currentRevision')}..."


def _follow(read: Callable[[], Obj], progress: Callable[[Obj], tuple[bool, str]], watch: bool, timeout: float) -> None:
    """Prints each new progress message of the object `read` returns until it is done
    (or once, without --watch); kubectl's timeout error after `timeout` seconds (0: none)."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    last = ""
    while True:
        done, message = progress(read())
        if message != last:
            typer.echo(message)
            last = message
        if done or not watch:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise CliError("timed out waiting for the condition")
        time.sleep(0.5)


@rollout_app.command("status")
def status(
    target: Annotated[str, typer.Argument(help="deployment/NAME, daemonset/NAME or statefulset/NAME")],
    name: Annotated[str | None, typer.Argument(help="NAME (when the kind is given alone)")] = None,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="Wait until the rollout finishes.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait (0: no limit).")] = 0.0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Follow a Deployment's rollout until it is complete (exit 1 on --timeout or once it
    exceeds its progressDeadlineSeconds)."""
    from kajitori.api.registry import by_name

    with failures_reported():
        plural, obj_name = _rollout_target(target, name)
        progress = {"deployments": rollout_progress, "daemonsets": daemonset_progress, "statefulsets": statefulset_progress}[plural]
        session = open_session(kubeconfig, namespace)
        resource = by_name(plural)
        _follow(lambda: session.client.get_raw(resource, obj_name, session.namespace), progress, watch, timeout)


@set_app.command("image")
def set_image(
    target: Annotated[str, typer.Argument(help="deployment/NAME")],
    images: Annotated[list[str], typer.Argument(help="CONTAINER=IMAGE ... ('*' for every container)")],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Change container images of a Deployment's pod template (starts a rollout)."""
    with failures_reported():
        deploy_name = _deployment_name(target, None)
        wanted: dict[str, str] = {}
        for item in images:
            container, sep, image = item.partition("=")
            if not sep or not container or not image:
                raise CliError(f"{item!r} must be CONTAINER=IMAGE")
            wanted[container] = image
        session = open_session(kubeconfig, namespace)
        deployments, _ = _resources()
        deployment = session.client.get_raw(deployments, deploy_name, session.namespace)
        spec = deployment["spec"]["template"]["spec"]
        containers = [*(spec.get("initContainers") or []), *spec.get("containers", [])]
        known = {c["name"] for c in containers}
        for container in wanted:
            if container != "*" and container not in known:
                raise CliError(f'unable to find container named "{container}"')
        for c in containers:
            new_image = wanted.get(c["name"], wanted.get("*"))
            if new_image:
                c["image"] = new_image
        session.client.update_raw(deployments, deployment, session.namespace)
        typer.echo(f"deployment.apps/{deploy_name} image updated")

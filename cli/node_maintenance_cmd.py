"""Commands `kajitori cordon`, `uncordon` and `drain`: taking a node out of service on purpose.

As kubectl does: cordon sets the Node's ``spec.unschedulable`` (the scheduler's first
filter then skips it; ``get nodes`` shows ``Ready,SchedulingDisabled``); drain cordons,
then evicts every pod on the node through ``pods/NAME/eviction`` (policy/v1) and waits
until they are gone, so their controllers recreate them elsewhere and the Endpoints of
their Services drop them the moment they start terminating. Before it evicts anything,
drain refuses — naming the pods — when a pod would not come back or would lose data:

- DaemonSet-managed pods (their controller would put them straight back, as they
  tolerate unschedulable): refused, or skipped with ``--ignore-daemonsets``;
- pods with an ``emptyDir`` volume (its data goes with the pod): ``--delete-emptydir-data``;
- pods no controller owns (nothing recreates them): ``--force``.

Finished pods (Succeeded, Failed) are evicted without asking. Kajitori has no static
(mirror) pods and no PodDisruptionBudgets, so an eviction is never refused with 429;
the retry kubectl does on 429 is kept all the same, for a server that has them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from cli.app import app
from cli.options import Kubeconfig, Selector
from cli.session import CliError, Session, failures_reported, open_session, parse_duration
from kajitori.api.registry import by_kind
from kajitori.client import ApiError, NotFoundError

NODES = by_kind("v1", "Node")
PODS = by_kind("v1", "Pod")

# kubectl's wording (k8s.io/kubectl/pkg/drain/filters.go); each becomes "cannot delete <text>: ns/a, ns/b".
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
# Reported in the filters' order (kubectl's order is a Go map's: random).
_FATAL_ORDER = (DAEMONSET_FATAL, LOCAL_STORAGE_FATAL, UNMANAGED_FATAL)
_WARNING_ORDER = (DAEMONSET_WARNING, LOCAL_STORAGE_WARNING, UNMANAGED_WARNING)

EVICTION_RETRY_S = 5.0  # kubectl's pause after a 429 (a disruption budget said no)
POLL_S = 0.25

Nodes = Annotated[list[str] | None, typer.Argument(help="Node names.", show_default=False)]

# --------------------------------------------------------------------------- the plan (pure)


@dataclass
class DrainPlan:
    """What a drain of one node does with each of its pods, decided before anything is evicted."""

    evict: list[dict[str, Any]] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)  # text -> [ns/name], sorted
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error_lines(self) -> list[str]:
        return [f"cannot delete {text}: {', '.join(self.errors[text])}" for text in _FATAL_ORDER if text in self.errors]

    def warning_lines(self) -> list[str]:
        return [f"{text}: {', '.join(self.warnings[text])}" for text in _WARNING_ORDER if text in self.warnings]


def _key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def _finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _has_empty_dir(pod: dict[str, Any]) -> bool:
    return any("emptyDir" in volume for volume in (pod.get("spec") or {}).get("volumes") or [])


def plan_drain(pods: list[dict[str, Any]], *, ignore_daemonsets: bool, delete_emptydir_data: bool, force: bool) -> DrainPlan:
    """kubectl's filters in kubectl's order: DaemonSet, local storage, unmanaged; a refused pod is reported once."""
    plan = DrainPlan()
    for pod in sorted(pods, key=_key):
        key = _key(pod)
        controller = _controller(pod)
        if controller is not None and controller.get("kind") == "DaemonSet":
            if ignore_daemonsets:
                plan.warnings.setdefault(DAEMONSET_WARNING, []).append(key)
            else:
                plan.errors.setdefault(DAEMONSET_FATAL, []).append(key)
            continue
        finished = _finished(pod)
        if _has_empty_dir(pod) and not finished:
            if not delete_emptydir_data:
                plan.errors.setdefault(LOCAL_STORAGE_FATAL, []).append(key)
                continue
            plan.warnings.setdefault(LOCAL_STORAGE_WARNING, []).append(key)
        if controller is None and not finished:
            if not force:
                plan.errors.setdefault(UNMANAGED_FATAL, []).append(key)
                continue
            plan.warnings.setdefault(UNMANAGED_WARNING, []).append(key)
        plan.evict.append(pod)
    return plan


# --------------------------------------------------------------------------- cordon, uncordon


def _node_names(session: Session, command: str, names: list[str] | None, selector: str | None) -> list[str]:
    if names and selector:
        raise CliError("cannot specify both a node name and a selector")
    if names:
        return list(names)
    if not selector:
        raise CliError(f"USAGE: {command} NODE [flags]")
    listed = session.client.list_raw(NODES, label_selector=selector).get("items") or []
    if not listed:
        typer.echo("No resources found", err=True)
    return [n["metadata"]["name"] for n in listed]


def set_unschedulable(session: Session, name: str, unschedulable: bool) -> bool:
    """Cordon (True) or uncordon (False) one node; False when it already was so."""
    node = session.client.get_raw(NODES, name)
    if bool((node.get("spec") or {}).get("unschedulable")) == unschedulable:
        return False
    # null removes the field, as kubectl's patch of the zero value does.
    session.client.patch_raw(NODES, name, {"spec": {"unschedulable": True if unschedulable else None}})
    return True


def _cordon_all(names: list[str] | None, selector: str | None, kubeconfig: str | None, unschedulable: bool) -> None:
    done, again = ("cordoned", "already cordoned") if unschedulable else ("uncordoned", "already uncordoned")
    with failures_reported():
        session = open_session(kubeconfig, None)
        for name in _node_names(session, "cordon" if unschedulable else "uncordon", names, selector):
            changed = set_unschedulable(session, name, unschedulable)
            typer.echo(f"node/{name} {done if changed else again}")


@app.command()
def cordon(nodes: Nodes = None, selector: Selector = None, kubeconfig: Kubeconfig = None) -> None:
    """Mark nodes unschedulable: new pods go elsewhere; running pods stay."""
    _cordon_all(nodes, selector, kubeconfig, True)


@app.command()
def uncordon(nodes: Nodes = None, selector: Selector = None, kubeconfig: Kubeconfig = None) -> None:
    """Mark nodes schedulable again."""
    _cordon_all(nodes, selector, kubeconfig, False)


# --------------------------------------------------------------------------- drain


class DrainError(Exception):
    """One node could not be drained; the command goes on with the next and fails at the end."""

    def __init__(self, node: str, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.node = node
        self.errors = errors


def pods_on(session: Session, node: str) -> list[dict[str, Any]]:
    return session.client.list_raw(PODS, None, field_selector=f"spec.nodeName={node}").get("items") or []  # type: ignore[no-any-return]


def evict(session: Session, pod: dict[str, Any], grace_period: int, give_up: Callable[[], bool]) -> None:
    """POST one policy/v1 Eviction; a pod already gone is fine; 429 (a budget said no) is retried."""
    meta = pod["metadata"]
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
    if grace_period >= 0:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period}
    while True:
        try:
            session.client.request("POST", PODS.path(meta["namespace"], meta["name"], "eviction"), body=body)
            return
        except NotFoundError:
            return
        except ApiError as exc:
            if exc.code != 429 or give_up():
                raise
            typer.echo(f'error when evicting pods/"{meta["name"]}" -n "{meta["namespace"]}" (will retry after 5s): {exc.message}', err=True)
            time.sleep(EVICTION_RETRY_S)


def drain_node(session: Session, node: str, *, ignore_daemonsets: bool, delete_emptydir_data: bool, force: bool,
               grace_period: int, timeout_s: float) -> None:  # fmt: skip
    """Cordon, check, evict, wait: kubectl's lines on stdout, its warnings on stderr; DrainError on refusal or timeout."""
    changed = set_unschedulable(session, node, True)
    typer.echo(f"node/{node} {'cordoned' if changed else 'already cordoned'}")
    plan = plan_drain(pods_on(session, node), ignore_daemonsets=ignore_daemonsets,
                      delete_emptydir_data=delete_emptydir_data, force=force)  # fmt: skip
    if plan.errors:
        raise DrainError(node, plan.error_lines())
    for line in plan.warning_lines():
        typer.echo(f"Warning: {line}", err=True)
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else None

    def timed_out() -> bool:
        return deadline is not None and time.monotonic() > deadline

    pending: dict[str, dict[str, Any]] = {}
    for pod in plan.evict:
        typer.echo(f"evicting pod {_key(pod)}")
        evict(session, pod, grace_period, timed_out)
        pending[pod["metadata"]["uid"]] = pod
    # Gone means no pod of that uid on the node any more (a replacement has a new uid).
    while pending:
        still_there = {p["metadata"].get("uid") for p in pods_on(session, node)}
        for uid in [u for u in pending if u not in still_there]:
            typer.echo(f"pod/{pending.pop(uid)['metadata']['name']} evicted")
        if not pending:
            break
        if timed_out():
            waiting = ", ".join(f'error when waiting for pod "{p["metadata"]["name"]}" in namespace '
                                f'"{p["metadata"]["namespace"]}" to terminate' for p in pending.values())  # fmt: skip
            raise DrainError(node, [f"{waiting}: global timeout reached: {timeout_s:g}s"])
        time.sleep(POLL_S)
    typer.echo(f"node/{node} drained")


@app.command()
def drain(
    nodes: Nodes = None,
    selector: Selector = None,
    ignore_daemonsets: Annotated[bool, typer.Option("--ignore-daemonsets", help="Skip DaemonSet-managed pods (they would come straight back).")] = False,
    delete_emptydir_data: Annotated[bool, typer.Option("--delete-emptydir-data", help="Evict pods with emptyDir volumes (their data is lost).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Evict pods no controller owns (nothing recreates them).")] = False,
    grace_period: Annotated[int, typer.Option("--grace-period", help="Seconds each pod gets to stop (-1: the pod's own).")] = -1,
    timeout: Annotated[str, typer.Option("--timeout", help="How long to wait for the pods to go (90s, 5m; 0: no limit).")] = "0s",
    kubeconfig: Kubeconfig = None,
) -> None:
    """Cordon nodes and evict their pods (for maintenance: a planned reboot loses no request)."""
    pending: list[DrainError] = []
    with failures_reported():
        timeout_s = parse_duration(timeout)
        session = open_session(kubeconfig, None)
        for name in _node_names(session, "drain", nodes, selector):
            try:
                drain_node(session, name, ignore_daemonsets=ignore_daemonsets, delete_emptydir_data=delete_emptydir_data,
                           force=force, grace_period=grace_period, timeout_s=timeout_s)  # fmt: skip
            except DrainError as exc:
                shown = exc.errors[0] if len(exc.errors) == 1 else "[" + ", ".join(exc.errors) + "]"
                typer.echo(f'error: unable to drain node "{name}" due to error: {shown}, continuing command...', err=True)
                pending.append(exc)
    if pending:
        typer.echo("There are pending nodes to be drained:", err=True)
        for failure in pending:
            typer.echo(f" {failure.node}", err=True)
        for failure in pending:
            for line in failure.errors:
                typer.echo(line, err=True)
        raise typer.Exit(1)

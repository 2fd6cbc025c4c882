"""The objects kubectl's imperative commands generate, as pure functions of their flags.

`create deployment`, `run` and `expose` build the same objects kubectl does (so
``--dry-run=client -o yaml`` prints the manifest a kubectl user expects): a Deployment
labelled ``app=NAME``, a bare Pod labelled ``run=NAME``, a Service whose selector is the
exposed object's. The commands that send them are in imperative_cmd.py; every bad flag
value is a ``CliError`` naming the flag, so the user sees one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from cli.session import CliError
from kajitori.api.meta import check_label_value, check_qualified_name

Obj = dict[str, Any]

RESTART_POLICIES = ("Always", "OnFailure", "Never")
SERVICE_TYPES = ("ClusterIP", "NodePort")
PROTOCOLS = ("TCP", "UDP")
# What `expose` can take a selector from; kubectl also knows ReplicationControllers,
# which Kajitori does not serve.
EXPOSABLE_KINDS = ("Pod", "Service", "Deployment", "ReplicaSet")


# --------------------------------------------------------------------------- flag values


def parse_port(text: str, flag: str = "--port") -> int:
    """A port number of 1..65535 from a flag's text."""
    try:
        port = int(text)
    except ValueError:
        raise CliError(f"invalid argument {text!r} for \"{flag}\" flag: must be a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise CliError(f"invalid argument {text!r} for \"{flag}\" flag: must be a port number (1-65535)")
    return port


def parse_replicas(text: str) -> int:
    try:
        replicas = int(text)
    except ValueError:
        replicas = -1
    if replicas < 0:
        raise CliError(f"invalid argument {text!r} for \"--replicas\" flag: must be a whole number >= 0")
    return replicas


def parse_target_port(text: str) -> int | str:
    """A number, or the name of a container port (kubectl's ``number-or-name``)."""
    if text.isdigit():
        return parse_port(text, "--target-port")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", text) or len(text) > 15:
        raise CliError(f"invalid argument {text!r} for \"--target-port\" flag: must be a port number or a port name")
    return text


def parse_key_values(text: str, flag: str = "--labels") -> dict[str, str]:
    """``a=b,c=d`` (kubectl's --labels): label keys and values as Kubernetes allows them."""
    labels: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"invalid label spec: {item!r} (\"{flag}\" takes key=value,key2=value2)")
        try:
            check_qualified_name(key)
            check_label_value(value)
        except ValueError as exc:
            raise CliError(f"invalid label spec: {item!r} ({flag}): {exc}") from None
        labels[key] = value
    return labels


def parse_env(items: Sequence[str]) -> list[Obj]:
    """``--env K=V`` flags, in order, as a container's env list."""
    env: list[Obj] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"invalid env: {item!r} (\"--env\" takes NAME=value)")
        env.append({"name": name, "value": value})
    return env


def parse_restart(text: str) -> str:
    if text not in RESTART_POLICIES:
        raise CliError(f"invalid restart policy: {text} (\"--restart\" must be Always, OnFailure or Never)")
    return text


def parse_service_type(text: str | None) -> str | None:
    if text is None:
        return None
    for known in SERVICE_TYPES:
        if text.lower() == known.lower():
            return known
    raise CliError(f"invalid argument {text!r} for \"--type\" flag: must be ClusterIP or NodePort")


def parse_protocol(text: str | None) -> str | None:
    if text is None:
        return None
    if text.upper() not in PROTOCOLS:
        raise CliError(f"invalid argument {text!r} for \"--protocol\" flag: must be TCP or UDP")
    return text.upper()


# --------------------------------------------------------------------------- objects


def container_name_for(image: str) -> str:
    """kubectl's container name for an image: ``registry:5000/team/my_app:1.2`` -> ``my-app``."""
    base = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    name = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")
    return name[:63].rstrip("-") or "container"


def _metadata(name: str, labels: dict[str, str], namespace: str | None) -> Obj:
    # creationTimestamp: null is what kubectl prints in a generated manifest; the server sets it.
    meta: Obj = {"creationTimestamp": None, "labels": dict(labels), "name": name}
    if namespace:
        meta["namespace"] = namespace
    return meta


def deployment_for(
    name: str,
    images: Sequence[str],
    *,
    replicas: int = 1,
    port: int | None = None,
    command: Sequence[str] = (),
    namespace: str | None = None,
) -> Obj:
    """`create deployment NAME --image=IMG...`: labels and selector ``app=NAME``, one container per image."""
    if not images:
        raise CliError('required flag(s) "image" not set')
    if command and len(images) > 1:
        raise CliError("cannot specify multiple --image options and command")
    containers: list[Obj] = []
    used: set[str] = set()
    for image in images:
        base = container_name_for(image)
        cname, n = base, 1
        while cname in used:  # two images with one base name still need distinct container names
            n += 1
            cname = f"{base}-{n}"
        used.add(cname)
        containers.append({"image": image, "name": cname, "resources": {}})
    if command:
        containers[0]["command"] = list(command)
    if port is not None:
        containers[0]["ports"] = [{"containerPort": port}]
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, labels, namespace),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": dict(labels)},
                "spec": {"containers": containers},
            },
        },
        "status": {},
    }


def pod_for(
    name: str,
    image: str,
    *,
    restart: str = "Always",
    port: int | None = None,
    env: Sequence[Obj] = (),
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    arguments: Sequence[str] = (),
    as_command: bool = False,
    namespace: str | None = None,
) -> Obj:
    """`run NAME --image=IMG`: a bare Pod labelled ``run=NAME`` (or exactly ``--labels``), one container NAME.

    Words after ``--`` are the container's ``args`` (the image's entrypoint stays), or its
    ``command`` with ``--command``, as kubectl.
    """
    if not image:
        raise CliError('required flag(s) "image" not set')
    container: Obj = {"image": image, "name": name, "resources": {}}
    if arguments:
        container["command" if as_command else "args"] = list(arguments)
    if env:
        container["env"] = [dict(e) for e in env]
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    meta = _metadata(name, labels or {"run": name}, namespace)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [container], "dnsPolicy": "ClusterFirst", "restartPolicy": parse_restart(restart)},
        "status": {},
    }


def selector_of(kind: str, obj: Obj) -> dict[str, str]:
    """The label selector a Service for the object needs (CliError when there is none to take)."""
    name = (obj.get("metadata") or {}).get("name", "")
    if kind not in EXPOSABLE_KINDS:
        raise CliError(f"cannot expose a {kind}")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not labels:
            raise CliError(f"couldn't retrieve selectors via --selector flag or introspection: the pod {name} has no labels and cannot be exposed")
        return dict(labels)
    if kind == "Service":
        selector = spec.get("selector") or {}
        if not selector:
            raise CliError(f"couldn't retrieve selectors via --selector flag or introspection: the service {name} has no selector")
        return dict(selector)
    selector = spec.get("selector") or {}
    if selector.get("matchExpressions"):
        # A Service selects by equality only; kubectl refuses the same way.
        raise CliError(f"couldn't retrieve selectors via --selector flag or introspection: the {kind.lower()} {name} "
                       "selects with matchExpressions, which a Service selector cannot express")  # fmt: skip
    labels = selector.get("matchLabels") or {}
    if not labels:
        raise CliError(f"couldn't retrieve selectors via --selector flag or introspection: the {kind.lower()} {name} has no selector")
    return dict(labels)


def ports_of(kind: str, obj: Obj) -> list[Obj]:
    """The ports an object declares (container ports, or a Service's ports): ``{port, name?, protocol?}``."""
    spec = obj.get("spec") or {}
    if kind == "Service":
        return [{k: p[k] for k in ("port", "name", "protocol") if p.get(k) is not None} for p in spec.get("ports") or []]
    pod_spec = spec if kind == "Pod" else (spec.get("template") or {}).get("spec") or {}
    ports: list[Obj] = []
    for container in pod_spec.get("containers") or []:
        for p in container.get("ports") or []:
            port = {"port": p["containerPort"]}
            port.update({k: p[k] for k in ("name", "protocol") if p.get(k) is not None})
            ports.append(port)
    return ports


def service_for(
    kind: str,
    obj: Obj,
    *,
    port: int | None = None,
    target_port: int | str | None = None,
    service_type: str | None = None,
    name: str | None = None,
    protocol: str | None = None,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    namespace: str | None = None,
) -> Obj:
    """`expose KIND NAME`: a Service selecting what the object selects (a pod: its labels).

    Without ``--port`` the object's own ports are used (named ``port-1``... when several,
    unless they have names); ``targetPort`` is ``--target-port`` or the port itself; the
    Service carries the object's labels unless ``--labels`` says otherwise.
    """
    meta_in = obj.get("metadata") or {}
    chosen_selector = selector or selector_of(kind, obj)
    if port is not None:
        found = [{"port": port}]
    else:
        found = ports_of(kind, obj)
        if not found:
            raise CliError("couldn't find port via --port flag or introspection")
    ports: list[Obj] = []
    for index, p in enumerate(found, start=1):
        entry: Obj = {}
        if len(found) > 1:
            entry["name"] = p.get("name") or f"port-{index}"
        entry["port"] = p["port"]
        entry["protocol"] = protocol or p.get("protocol") or "TCP"
        entry["targetPort"] = target_port if target_port is not None else p["port"]
        ports.append(entry)
    spec: Obj = {"ports": ports, "selector": chosen_selector}
    if service_type:
        spec["type"] = service_type
    service_labels = labels if labels is not None else dict(meta_in.get("labels") or {})
    meta = _metadata(name or meta_in.get("name", ""), service_labels, namespace)
    if not meta["labels"]:
        del meta["labels"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec, "status": {"loadBalancer": {}}}


# --------------------------------------------------------------------------- jobs and cronjobs

INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"


def _job_pod_template(name: str, image: str, command: Sequence[str], restart: str) -> Obj:
    container: Obj = {"image": image, "name": name, "resources": {}}
    if command:
        container["command"] = list(command)
    return {
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": [container], "restartPolicy": restart},
    }


def job_for(
    name: str, image: str | None, *, command: Sequence[str] = (), namespace: str | None = None
) -> Obj:
    """`create job NAME --image=IMG [-- COMMAND]`: one container NAME, restartPolicy Never, as kubectl."""
    if not image:
        raise CliError("either --image or --from must be specified")
    meta: Obj = {"creationTimestamp": None, "name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"template": _job_pod_template(name, image, command, "Never")},
        "status": {},
    }


def job_from_cronjob(name: str, cronjob: Obj, *, namespace: str | None = None) -> Obj:
    """`create job NAME --from=cronjob/X`: X's jobTemplate run now, owned by X and marked manual (kubectl's)."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    source = cronjob.get("metadata") or {}
    meta: Obj = {
        "name": name,
        "annotations": {**(template_meta.get("annotations") or {}), INSTANTIATE_ANNOTATION: "manual"},
        "ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": source.get("name"), "uid": source.get("uid"),
             "controller": True, "blockOwnerDeletion": True}
        ],
    }  # fmt: skip
    if template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])
    if namespace or source.get("namespace"):
        meta["namespace"] = namespace or source.get("namespace")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": dict(template.get("spec") or {}),
    }


def cronjob_for(
    name: str, image: str | None, schedule: str | None, *, restart: str = "OnFailure", command: Sequence[str] = (),
    namespace: str | None = None,
) -> Obj:  # fmt: skip
    """`create cronjob NAME --image=IMG --schedule=CRON [-- COMMAND]`: kubectl's CronJob, restartPolicy OnFailure."""
    if not image:
        raise CliError('required flag(s) "image" not set')
    if not schedule:
        raise CliError('required flag(s) "schedule" not set')
    if restart not in ("OnFailure", "Never"):
        raise CliError(f"invalid restart policy: {restart}")
    meta: Obj = {"creationTimestamp": None, "name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"creationTimestamp": None, "name": name},
                "spec": {"template": _job_pod_template(name, image, command, restart)},
            },
        },
        "status": {},
    }

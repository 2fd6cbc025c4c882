"""A container's environment as Kubernetes computes it: `envFrom`, then `env`, with `$(VAR)` expansion.

Values come from literals, ConfigMaps, Secrets and the pod itself (`fieldRef`,
`resourceFieldRef`). A missing non-optional source raises `ContainerConfigError`, which the
sync loop shows as the waiting reason `CreateContainerConfigError`, as the kubelet does.
ConfigMaps and Secrets are read through a `ConfigSource`, so tests can hand in plain dicts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Protocol

from kajitori.api.core import Container, Pod
from kajitori.api.quantity import cpu_millicores, memory_bytes, parse_quantity
from kajitori.client import ApiClient, NotFoundError


class ContainerConfigError(Exception):
    """The container cannot be configured yet (a referenced ConfigMap/Secret/key is missing)."""


class ConfigSource(Protocol):
    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's data (binaryData decoded as UTF-8 where possible), None if absent."""
        ...

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The Secret's data, decoded from base64; None if absent."""
        ...


class ApiConfigSource:
    """ConfigMaps and Secrets read from the master when a container is created."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        from kajitori.api.core import ConfigMap

        try:
            found = self._client.get(ConfigMap, name, namespace)
        except NotFoundError:
            return None
        data = dict(found.data or {})
        for key, value in (found.binaryData or {}).items():
            data[key] = base64.b64decode(value).decode("utf-8", "replace")
        return data

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        from kajitori.api.core import Secret

        try:
            found = self._client.get(Secret, name, namespace)
        except NotFoundError:
            return None
        return {key: base64.b64decode(value) for key, value in (found.data or {}).items()}


_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_REFERENCE = re.compile(r"\$\$|\$\(([^)]*)\)")
_FIELD_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known names are replaced, unknown ones kept, `$$` escapes."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def field_value(pod: Pod, field_path: str, *, pod_ip: str, host_ip: str) -> str:
    meta = pod.metadata
    simple = {
        "metadata.name": meta.name or "",
        "metadata.namespace": meta.namespace or "",
        "metadata.uid": meta.uid or "",
        "spec.nodeName": pod.spec.nodeName or "",
        "spec.serviceAccountName": pod.spec.serviceAccountName or "default",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if field_path in simple:
        return simple[field_path]
    labelled = _FIELD_LABEL.match(field_path)
    if labelled:
        source = (meta.labels if labelled.group(1) == "labels" else meta.annotations) or {}
        return source.get(labelled.group(2), "")
    raise ContainerConfigError(f"unsupported fieldRef fieldPath {field_path!r}")


def resource_value(pod: Pod, container: Container, resource: str, divisor: str | None) -> str:
    target = container
    resources = target.resources
    kind, _, name = resource.partition(".")
    table = (resources.limits if kind == "limits" else resources.requests) if resources else None
    raw = (table or {}).get(name)
    if raw is None:
        return "0"
    if name == "cpu":
        # Kubernetes rounds CPU up to whole divisors (default divisor 1 core).
        millis = cpu_millicores(raw)
        per = cpu_millicores(divisor or "1")
        return str(-(-millis // per))
    amount = memory_bytes(raw)
    per_unit = int(parse_quantity(divisor or "1"))
    return str(-(-amount // max(per_unit, 1)))


def container_env(
    pod: Pod,
    container: Container,
    source: ConfigSource,
    *,
    pod_ip: str,
    host_ip: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of `container`, in Kubernetes' order: ``base`` (the Services' link variables),
    envFrom, then env (the later wins; ``$(VAR)`` sees all before it)."""
    namespace = pod.metadata.namespace or "default"
    env: dict[str, str] = dict(base or {})
    for from_source in container.envFrom or []:
        prefix = from_source.prefix or ""
        if from_source.configMapRef is not None:
            ref = from_source.configMapRef
            data = source.config_map(namespace, ref.name or "")
            if data is None:
                if ref.optional:
                    continue
                raise ContainerConfigError(f'configmap "{ref.name}" not found')
            values = dict(data)
        elif from_source.secretRef is not None:
            sref = from_source.secretRef
            secret = source.secret(namespace, sref.name or "")
            if secret is None:
                if sref.optional:
                    continue
                raise ContainerConfigError(f'secret "{sref.name}" not found')
            values = {key: value.decode("utf-8", "replace") for key, value in secret.items()}
        else:
            continue
        for key, value in values.items():
            # Keys that are not valid variable names are skipped, as the kubelet does (with an event).
            if _ENV_NAME.match(prefix + key):
                env[prefix + key] = value
    for var in container.env or []:
        if var.valueFrom is None:
            env[var.name] = expand(var.value or "", env)
            continue
        resolved = _value_from(pod, container, var.valueFrom, source, pod_ip=pod_ip, host_ip=host_ip)
        if resolved is not None:
            env[var.name] = resolved
    return env


def _value_from(
    pod: Pod, container: Container, value_from: object, source: ConfigSource, *, pod_ip: str, host_ip: str
) -> str | None:
    from kajitori.api.core import EnvVarSource

    assert isinstance(value_from, EnvVarSource)
    namespace = pod.metadata.namespace or "default"
    if value_from.configMapKeyRef is not None:
        ref = value_from.configMapKeyRef
        data = source.config_map(namespace, ref.name or "")
        if data is None or ref.key not in data:
            if ref.optional:
                return None
            what = f'configmap "{ref.name}" not found' if data is None else f'couldn\'t find key {ref.key} in ConfigMap {namespace}/{ref.name}'
            raise ContainerConfigError(what)
        return data[ref.key]
    if value_from.secretKeyRef is not None:
        sref = value_from.secretKeyRef
        secret = source.secret(namespace, sref.name or "")
        if secret is None or sref.key not in secret:
            if sref.optional:
                return None
            what = f'secret "{sref.name}" not found' if secret is None else f"couldn't find key {sref.key} in Secret {namespace}/{sref.name}"
            raise ContainerConfigError(what)
        return secret[sref.key].decode("utf-8", "replace")
    if value_from.fieldRef is not None:
        return field_value(pod, value_from.fieldRef.fieldPath, pod_ip=pod_ip, host_ip=host_ip)
    if value_from.resourceFieldRef is not None:
        ref_r = value_from.resourceFieldRef
        return resource_value(pod, container, ref_r.resource, ref_r.divisor)
    return None

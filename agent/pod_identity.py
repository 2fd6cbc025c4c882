"""What a pod gets to reach the API as its ServiceAccount: the token volume and the Services' env.

Token volume (the kubelet's ``kube-api-access-*`` projected volume): unless automounting is
off (``spec.automountServiceAccountToken: false``, else the ServiceAccount's own field), every
container gets ``/var/run/secrets/kubernetes.io/serviceaccount`` read-only, holding

- ``token``: a TokenRequest JWT of the pod's ServiceAccount bound to the pod (3607 s, as the
  kubelet asks), asked for with the node's credentials;
- ``ca.crt``: the cluster CA the agent trusts the master with;
- ``namespace``: the pod's namespace.

The directory is ``<pods_root>/<uid>/volumes/kube-api-access/`` and stays the same inode for
the pod's life (the bind mount pins it); files are replaced by rename inside it, so a
container reading ``token`` sees the old one or the new one, never half. ``refresh_in(pod)``
says when the token reaches 80 % of its life; the pod's sync asks again then.

Service env (the kubelet's ``enableServiceLinks``, default true): for each Service with a
cluster IP in the pod's namespace, Docker-link variables (``NGINX_SERVICE_HOST``,
``NGINX_SERVICE_PORT``, ``NGINX_PORT_80_TCP_ADDR``, ...); the ``kubernetes`` Service of
``default`` always, so ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` point at the API
(10.96.0.1:443). The container's own ``env`` comes after and wins.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.env import ContainerConfigError
from agent.runtime import Mount
from kajitori.api.core import Pod
from kajitori.api.registry import by_name
from kajitori.client import ApiClient, ApiError, NotFoundError

log = logging.getLogger(__name__)

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME = "kube-api-access"
TOKEN_SECONDS = 3607  # what the kubelet's projected volume asks for
REFRESH_AT = 0.8
SERVICE_ACCOUNTS = by_name("serviceaccounts")
SERVICES = by_name("services")


@dataclass
class _Issued:
    issued_at: float
    expires_at: float


def _spec_field(pod: Pod, name: str) -> Any:
    return (pod.spec.model_extra or {}).get(name)


class PodIdentity:
    """The token volume and the Services' env of the pods of one node."""

    def __init__(self, client: ApiClient, volume_dir: Callable[[str, str], Path], ca_pem: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._volume_dir = volume_dir
        self._ca_pem = ca_pem
        self._clock = clock
        self._issued: dict[str, _Issued] = {}
        self._automount: dict[str, bool] = {}  # per pod uid, decided once
        self._lock = threading.Lock()

    def ensure(self, pod: Pod) -> float | None:
        """The pod's token volume written (first sync, or after an agent restart) or renewed when due.

        Returns seconds until the next renewal (None: the pod mounts no token); raises
        ContainerConfigError when the first token cannot be had.
        """
        uid = pod.metadata.uid or ""
        with self._lock:
            wanted = self._automount.get(uid)
        if wanted is None:
            wanted = self.automount(pod)
            with self._lock:
                self._automount[uid] = wanted
        if not wanted:
            return None
        if self.refresh_in(pod) is None:
            self.setup(pod)
            return self.refresh_in(pod)
        return self.refresh_if_due(pod)

    def mounts(self, pod: Pod, taken: set[str]) -> tuple[Mount, ...]:
        """The token volume's mount for a container, unless the pod has none or the path is taken."""
        if self.refresh_in(pod) is None or MOUNT_PATH in taken:
            return ()
        return (self.mount(pod),)

    # -- token volume ------------------------------------------------------------

    def automount(self, pod: Pod) -> bool:
        own = _spec_field(pod, "automountServiceAccountToken")
        if own is not None:
            return bool(own)
        try:
            sa = self._client.get_raw(SERVICE_ACCOUNTS, pod.spec.serviceAccountName or "default", pod.metadata.namespace)
        except NotFoundError:
            return True  # the TokenRequest will say what is wrong
        return sa.get("automountServiceAccountToken") is not False

    def setup(self, pod: Pod) -> None:
        """Write ``token``, ``ca.crt`` and ``namespace``; ContainerConfigError if no token can be had."""
        uid = pod.metadata.uid or ""
        target = self._volume_dir(uid, VOLUME)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        _replace(target / "ca.crt", self._ca_pem, 0o644)
        _replace(target / "namespace", (pod.metadata.namespace or "default").encode(), 0o644)
        self._write_token(pod, target)

    def _write_token(self, pod: Pod, target: Path) -> None:
        namespace, account = pod.metadata.namespace or "default", pod.spec.serviceAccountName or "default"
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": TOKEN_SECONDS,
                "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": pod.metadata.name, "uid": pod.metadata.uid},
            },
        }
        now = self._clock()
        try:
            answer = self._client.request("POST", SERVICE_ACCOUNTS.path(namespace, account, "token"), body=body)
        except ApiError as exc:
            raise ContainerConfigError(f'failed to fetch token: serviceaccounts "{account}": {exc}') from exc
        token = str(answer["status"]["token"])
        # The file is 0644 as the kubelet writes it for containers running as any user (the pod owns its volume).
        _replace(target / "token", token.encode(), 0o644)
        expires = now + int((answer.get("spec") or {}).get("expirationSeconds") or TOKEN_SECONDS)
        with self._lock:
            self._issued[pod.metadata.uid or ""] = _Issued(now, expires)

    def refresh_in(self, pod: Pod) -> float | None:
        """Seconds until the pod's token should be renewed (0: now); None if it has none."""
        with self._lock:
            issued = self._issued.get(pod.metadata.uid or "")
        if issued is None:
            return None
        due = issued.issued_at + REFRESH_AT * (issued.expires_at - issued.issued_at)
        return max(0.0, due - self._clock())

    def refresh_if_due(self, pod: Pod) -> float | None:
        """Renew the token when 80 % of its life is gone; return seconds until the next renewal."""
        left = self.refresh_in(pod)
        if left is None or left > 0:
            return left
        try:
            self._write_token(pod, self._volume_dir(pod.metadata.uid or "", VOLUME))
        except ContainerConfigError as exc:
            log.warning("pod %s/%s: renewing its token: %s", pod.metadata.namespace, pod.metadata.name, exc)
            return 10.0
        return self.refresh_in(pod)

    def mount(self, pod: Pod) -> Mount:
        return Mount(host_path=str(self._volume_dir(pod.metadata.uid or "", VOLUME)), container_path=MOUNT_PATH, read_only=True)

    def forget(self, uid: str) -> None:
        with self._lock:
            self._issued.pop(uid, None)
            self._automount.pop(uid, None)

    # -- service env ---------------------------------------------------------------

    def service_env(self, pod: Pod) -> dict[str, str]:
        namespace = pod.metadata.namespace or "default"
        services: dict[str, dict[str, Any]] = {}
        if _spec_field(pod, "enableServiceLinks") is not False:
            for svc in self._client.list_raw(SERVICES, namespace).get("items") or []:
                services[svc["metadata"]["name"]] = svc
        try:
            services["kubernetes"] = self._client.get_raw(SERVICES, "kubernetes", "default")
        except NotFoundError:
            pass
        env: dict[str, str] = {}
        for name in sorted(services):
            env.update(service_link_env(services[name]))
        return env


def service_link_env(svc: dict[str, Any]) -> dict[str, str]:
    """The Docker-link variables of one Service, as the kubelet makes them (none without a cluster IP)."""
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    ports = spec.get("ports") or []
    if not ip or ip == "None" or not ports:
        return {}
    prefix = svc["metadata"]["name"].upper().replace("-", "_")
    first = ports[0]
    env = {
        f"{prefix}_SERVICE_HOST": ip,
        f"{prefix}_SERVICE_PORT": str(first["port"]),
        f"{prefix}_PORT": f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}",
    }
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(port["port"])
        protocol = port.get("protocol", "TCP")
        base = f"{prefix}_PORT_{port['port']}_{protocol.upper()}"
        env[base] = f"{protocol.lower()}://{ip}:{port['port']}"
        env[f"{base}_PROTO"] = protocol.lower()
        env[f"{base}_PORT"] = str(port["port"])
        env[f"{base}_ADDR"] = ip
    return env


def _replace(path: Path, data: bytes, mode: int) -> None:
    """``path`` replaced by ``data`` in one rename (a reader sees the old or the new file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)  # the umask must not narrow it
    os.replace(tmp, path)

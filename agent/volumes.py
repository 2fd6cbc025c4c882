"""A pod's volumes as directories on the node, bind-mounted into its containers.

Layout: `<pods_root>/<pod uid>/volumes/<volume name>/`. emptyDir is an empty directory
shared by every container of the pod (it lives as long as the pod does on this node);
configMap and secret volumes get one file per key (or per `items` entry, at its `path`)
with `defaultMode`/`mode`; hostPath mounts the node's path itself. Volumes are written
when the pod's sandbox is made; `cleanup` removes the pod's directory when the pod goes.

Secrets are private on the node from their first byte: the pods root is 0750 (root's and
its group's; a container reaches its volume through its bind mount, not through the root),
and each file is created with its mode (`os.open` with it, then `fchmod` past the umask)
before any content is written, never written and then chmod-ed.

A `subPath` never leads out of its volume: absolute paths and `..` are refused (the API
refuses them too), and it is walked one component at a time, each resolved with its
symlinks and checked to be still inside the volume before the next directory is made,
so a symlink a container planted (`ln -s /etc data/x`) cannot make the agent create or
mount anything outside (CVE-2017-1002101). What remains is the race where a container
swaps a checked directory for a symlink before Docker mounts it; the kubelet closes it
by mounting through an open file descriptor, which Docker's API cannot take.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path, PurePosixPath

from agent.env import ConfigSource, ContainerConfigError
from agent.runtime import Mount
from kajitori.api.core import Container, KeyToPath, Pod, Volume

log = logging.getLogger(__name__)

PODS_ROOT_MODE = 0o750


class VolumeManager:
    def __init__(self, pods_root: Path, source: ConfigSource) -> None:
        self.pods_root = pods_root
        self._source = source

    def pod_dir(self, uid: str) -> Path:
        return self.pods_root / _component(uid, "pod uid")

    def volume_dir(self, uid: str, volume: str) -> Path:
        return self.pod_dir(uid) / "volumes" / _component(volume, "volume name")

    def _ensure_pods_root(self) -> None:
        self.pods_root.mkdir(parents=True, exist_ok=True, mode=PODS_ROOT_MODE)
        if stat.S_IMODE(self.pods_root.stat().st_mode) != PODS_ROOT_MODE:
            self.pods_root.chmod(PODS_ROOT_MODE)  # made by an older agent (0755), or narrowed by the umask

    def setup(self, pod: Pod) -> None:
        """Write every volume of the pod; ContainerConfigError if a source it needs is missing."""
        self._ensure_pods_root()
        uid = pod.metadata.uid or ""
        for volume in pod.spec.volumes or []:
            self._setup_one(pod, uid, volume)

    def _setup_one(self, pod: Pod, uid: str, volume: Volume) -> None:
        namespace = pod.metadata.namespace or "default"
        target = self.volume_dir(uid, volume.name)
        if volume.hostPath is not None:
            if volume.hostPath.type in ("DirectoryOrCreate",):
                Path(volume.hostPath.path).mkdir(parents=True, exist_ok=True)
            return
        if volume.configMap is not None:
            cm = volume.configMap
            data = self._source.config_map(namespace, cm.name or "")
            if data is None and not cm.optional:
                raise ContainerConfigError(f'configmap "{cm.name}" not found')
            files = {key: value.encode() for key, value in (data or {}).items()}
            self._write_files(target, files, cm.items, cm.defaultMode, f"ConfigMap {namespace}/{cm.name}")
            return
        if volume.secret is not None:
            sec = volume.secret
            secret = self._source.secret(namespace, sec.secretName or "")
            if secret is None and not sec.optional:
                raise ContainerConfigError(f'secret "{sec.secretName}" not found')
            self._write_files(target, secret or {}, sec.items, sec.defaultMode, f"Secret {namespace}/{sec.secretName}")
            return
        # emptyDir and every kind we do not know: an empty directory of the pod's own.
        target.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _write_files(
        target: Path, data: dict[str, bytes], items: list[KeyToPath] | None, default_mode: int, what: str
    ) -> None:
        if items:
            wanted: list[tuple[str, str, int]] = []
            for item in items:
                if item.key not in data:
                    raise ContainerConfigError(f"couldn't find key {item.key} in {what}")
                wanted.append((item.key, item.path, item.mode if item.mode is not None else default_mode))
        else:
            wanted = [(key, key, default_mode) for key in data]
        # Write into a fresh sibling and swap it in, so a container never sees half a volume.
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True, mode=0o700)  # opened to 0755 once complete
        for key, rel_path, mode in wanted:
            path = (staging / rel_path).resolve()
            if staging.resolve() not in path.parents:
                raise ContainerConfigError(f"{what}: item path {rel_path!r} leaves the volume")
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_with_mode(path, data[key], mode)
        staging.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)

    def mounts(self, pod: Pod, container: Container) -> tuple[Mount, ...]:
        self._ensure_pods_root()
        uid = pod.metadata.uid or ""
        volumes = {volume.name: volume for volume in pod.spec.volumes or []}
        mounts: list[Mount] = []
        for mount in container.volumeMounts or []:
            volume = volumes.get(mount.name)
            if volume is None:  # the API refuses these; a stale or hand-made pod may still carry one
                raise ContainerConfigError(f'volumeMount "{mount.name}" names no volume of the pod')
            if volume.hostPath is not None:
                host = Path(volume.hostPath.path)
            else:
                host = self.volume_dir(uid, volume.name)
            if mount.subPath:
                if volume.hostPath is None:
                    host.mkdir(parents=True, exist_ok=True)
                host = inside(host, mount.subPath, create=volume.hostPath is None)
            read_only = bool(mount.readOnly) or volume.configMap is not None or volume.secret is not None
            mounts.append(Mount(host_path=str(host), container_path=mount.mountPath, read_only=read_only))
        return tuple(mounts)

    def cleanup(self, uid: str) -> None:
        """Remove the pod's directory (emptyDir contents included); hostPaths are the node's and stay."""
        try:
            path = self.pod_dir(uid)
        except ContainerConfigError:
            return  # no directory was ever made for such a uid
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            log.debug("removed volumes of pod %s", uid)

    def known_pod_uids(self) -> list[str]:
        if not self.pods_root.is_dir():
            return []
        return [entry.name for entry in self.pods_root.iterdir() if entry.is_dir()]


def _write_with_mode(path: Path, data: bytes, mode: int) -> None:
    """A file that has ``mode`` before its first byte: the umask may only have narrowed the create,
    so ``fchmod`` sets the exact mode while the file is still empty (the staging dir is fresh, so
    a file already there is an earlier item of the same path, truncated: the last one wins)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, mode)
        out.write(data)


def _component(name: str, what: str) -> str:
    """``name`` as one path component, or ContainerConfigError (the API validates these; the agent does not rely on it)."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ContainerConfigError(f"{what} {name!r} is not a valid path component")
    return name


def inside(base: Path, sub_path: str, *, create: bool) -> Path:
    """``base/sub_path`` with its symlinks resolved, or ContainerConfigError if that leaves ``base``.

    With ``create``, missing directories are made one by one, each only after its parent
    was found inside ``base``.
    """
    parts = PurePosixPath(sub_path).parts
    if sub_path.startswith("/") or ".." in parts or "\0" in sub_path:
        raise ContainerConfigError(f"subPath {sub_path!r} must be a relative path without '..'")
    root = Path(os.path.realpath(base))
    current = root
    for part in parts:
        step = current / part
        if create and not os.path.lexists(step):
            step.mkdir()
        real = Path(os.path.realpath(step))
        if real != root and root not in real.parents:
            raise ContainerConfigError(f"subPath {sub_path!r} leads out of its volume (through a symlink)")
        current = real
    return current

"""Fuzz: hostile pod specs through the agent's sync on the fake runtime.

Whatever a pod says (paths in subPath, items and hostPath, odd names, env references,
init containers, restart policies, symlinks a container planted in its emptyDir), the
sync never raises and the agent writes nothing outside its roots: the pods root, and
the hostPath root the pods name. Every file-system write of the process while it syncs
is seen through an audit hook, so a path made by any code, not only volumes.py, counts.
Fixed seed and a CI-sized budget.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.runtime import ContainerConfig
from kajitori.api.core import Pod
from tests.unit.agent.test_pod_sync import BUSYBOX, Harness

EXAMPLES = 200

# -- watching every write ------------------------------------------------------

_WRITES: list[str] | None = None  # set while a sync runs
_WRITE_EVENTS = {
    "os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.replace", "os.symlink", "os.link",
    "os.chmod", "os.chown", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile",
}  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WRITES is None:
        return
    paths: list[Any] = []
    dir_fd = None
    if event in ("os.mkdir", "os.chmod"):
        dir_fd = args[2] if len(args) > 2 else None
    elif event in ("os.remove", "os.rmdir", "shutil.rmtree"):
        dir_fd = args[1] if len(args) > 1 else None
    if event == "open":
        path, mode, flags = [*args, None, None][:3]
        if (isinstance(mode, str) and set(mode) & set("wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS):
            paths.append(path)
    elif event in _WRITE_EVENTS:
        paths.extend(args[:2] if event in ("os.rename", "os.replace", "os.symlink", "os.link") else args[:1])
        if event == "os.symlink":
            paths = paths[1:]  # the link is written, its target is only text
    for path in paths:
        if isinstance(path, (str, bytes, os.PathLike)):
            name = os.fsdecode(path)
            if not os.path.isabs(name):  # shutil.rmtree works relative to directory descriptors
                where = os.readlink(f"/proc/self/fd/{dir_fd}") if isinstance(dir_fd, int) else os.getcwd()
                name = os.path.join(where, name)
            _WRITES.append(name)


sys.addaudithook(_audit)  # hooks cannot be removed: it does nothing outside a sync


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in roots)


# -- pods ----------------------------------------------------------------------

HOSTILE_PATHS = [
    "/etc", "/", "..", "../x", "../../../../tmp/escape", "a/../../b", "a/./b", "./a", "a//b", "link/x",
    "link", "file-link", "inner-link/deeper", "x\x00y", "ü/ñ", "a" * 300, "a/" * 50, "-", " ", "\n",
]  # fmt: skip
text = st.one_of(st.sampled_from(HOSTILE_PATHS), st.text(max_size=20))
names = st.sampled_from(["v", "w", "c", "data"])
HOSTILE_NAMES = ["missing", "..", ".", "a/b", "", "x\x00"]


def _volume(name: str) -> st.SearchStrategy[dict[str, Any]]:
    items = st.lists(st.fixed_dictionaries({"key": st.sampled_from(["key", "nope"]), "path": st.just("k")}), max_size=3)
    return st.one_of(
        st.just({"name": name, "emptyDir": {}}),
        st.builds(lambda i: {"name": name, "configMap": {"name": "present", "items": i or None}}, items),
        st.builds(lambda o: {"name": name, "configMap": {"name": "absent", "optional": o}}, st.booleans()),
        st.builds(lambda o: {"name": name, "secret": {"secretName": "absent", "optional": o}}, st.booleans()),
        # hostPath is the node's own path by design; the pods here name only ones in the host root.
        st.builds(
            lambda p, t: {"name": name, "hostPath": {"path": f"{{host}}/{p}", "type": t}},
            st.sampled_from(["shared", "shared/sub", "made"]),
            st.sampled_from([None, "DirectoryOrCreate", "Directory"]),
        ),
    )


def _container(volume_names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    mount = st.fixed_dictionaries(
        {"name": st.sampled_from(volume_names), "mountPath": st.sampled_from(["/m", "/n"])},
        # Valid to the API, and a way out once a container planted a symlink there.
        optional={"subPath": st.sampled_from(["a", "a/b", "link/x", "inner-link/deeper", "file-link"]), "readOnly": st.booleans()},
    )
    env = st.fixed_dictionaries(
        {"name": st.text(max_size=8)},
        optional={
            "value": st.text(max_size=20),
            "valueFrom": st.one_of(
                st.just({"configMapKeyRef": {"name": "present", "key": "key"}}),
                st.just({"configMapKeyRef": {"name": "absent", "key": "k"}}),
                st.just({"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}),
                st.just({"fieldRef": {"fieldPath": "metadata.nosuch"}}),
            ),
        },
    )
    return st.fixed_dictionaries(
        {"name": names, "image": st.sampled_from([BUSYBOX, BUSYBOX, "not/pulled:1"]), "volumeMounts": st.lists(mount, min_size=1, max_size=3)},
        optional={
            "command": st.lists(st.text(max_size=10), max_size=3),
            "args": st.lists(st.sampled_from(["$(X)", "$(", "$$(X)", "a"]), max_size=3),
            "env": st.lists(env, max_size=3),
            "workingDir": text,
        },
    )


@st.composite
def pods(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str]], list[tuple[str, int, str]]]:
    volume_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    volumes = [draw(_volume(n)) for n in volume_names]
    containers = draw(st.lists(_container(volume_names), min_size=1, max_size=3, unique_by=lambda c: c["name"]))
    init = draw(st.lists(_container(volume_names), max_size=1))
    for c in init:
        c["name"] = "init-" + c["name"]
    spec: dict[str, Any] = {
        "nodeName": "node1",
        "containers": containers,
        "volumes": volumes,
        "restartPolicy": draw(st.sampled_from(["Always", "OnFailure", "Never"])),
    }
    if init:
        spec["initContainers"] = init
    # Symlinks a container could have made in an emptyDir before this sync: (link, target).
    planted = draw(
        st.lists(
            st.tuples(st.sampled_from(["link", "file-link", "inner-link"]), st.sampled_from(["outside", "outside/file", "inside"])),
            max_size=3, unique_by=lambda t: t[0],
        )
    )  # fmt: skip
    uid = draw(st.sampled_from(["uid-1", "0b6c-uid"]))
    # What the API's validation would refuse, set on the parsed pod afterwards: the agent
    # must hold on its own (a pod stored before the API checked, or a hostile API).
    tampering = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("subPath"), st.integers(0, 8), text),
                st.tuples(st.just("itemPath"), st.integers(0, 8), text),
                st.tuples(st.just("mountName"), st.integers(0, 8), st.sampled_from(HOSTILE_NAMES)),
                st.tuples(st.just("volumeName"), st.integers(0, 8), st.sampled_from(HOSTILE_NAMES)),
                st.tuples(st.just("uid"), st.just(0), st.sampled_from(["..", "../outside", "a/b", ""])),
            ),
            max_size=4,
        )
    )
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid}, "spec": spec}, planted, tampering


def _tamper(pod: Pod, tampering: list[tuple[str, int, str]]) -> None:
    mounts = [m for c in [*(pod.spec.initContainers or []), *pod.spec.containers] for m in c.volumeMounts or []]
    volumes = pod.spec.volumes or []
    items = [i for v in volumes for i in ((v.configMap.items if v.configMap else None) or [])]
    for what, index, value in tampering:
        if what == "subPath" and mounts:
            mounts[index % len(mounts)].subPath = value
        elif what == "itemPath" and items:
            items[index % len(items)].path = value
        elif what == "mountName" and mounts:
            mounts[index % len(mounts)].name = value
        elif what == "volumeName" and volumes:
            volumes[index % len(volumes)].name = value
        elif what == "uid":
            pod.metadata.uid = value


def _fill(doc: Any, host: str) -> Any:
    if isinstance(doc, dict):
        return {k: _fill(v, host) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_fill(v, host) for v in doc]
    return doc.replace("{host}", host) if isinstance(doc, str) else doc


@settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
@given(pods())
def test_no_pod_spec_crashes_the_sync_or_writes_outside_its_roots(case: Any) -> None:
    global _WRITES
    doc, planted, tampering = case
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(os.path.realpath(tmp))
        pods_root, host_root, outside = base / "pods", base / "host", base / "outside"
        for d in (pods_root, host_root / "shared", outside):
            d.mkdir(parents=True)
        (outside / "file").write_text("not the pod's")
        try:
            pod = Pod.model_validate(_fill(doc, str(host_root)))
        except pydantic.ValidationError:
            return  # the API would have refused it
        uid = pod.metadata.uid or ""  # planted links go where the pod's own uid puts them
        for volume in pod.spec.volumes or []:
            if volume.emptyDir is not None and "/" not in volume.name and volume.name not in ("", ".", ".."):
                vdir = pods_root / uid / "volumes" / volume.name
                vdir.mkdir(parents=True, exist_ok=True)
                (vdir / "inside").mkdir(exist_ok=True)
                for link, target in planted:
                    os.symlink(base / target if target.startswith("outside") else vdir / target, vdir / link)
        _tamper(pod, tampering)
        uid = pod.metadata.uid or ""
        harness = Harness(pods_root)
        mounts: list[str] = []
        create = harness.runtime.create_container

        def recording(sandbox_id: Any, config: ContainerConfig) -> Any:
            mounts.extend(m.host_path for m in config.mounts)
            return create(sandbox_id, config)

        harness.runtime.create_container = recording  # type: ignore[method-assign]
        before = sorted(str(p) for p in outside.rglob("*"))
        _WRITES = []
        try:
            for _ in range(3):
                harness.sync(pod)
                harness.time.advance(15)
            gone = pod.model_copy(deep=True)
            gone.metadata.deletionTimestamp = "2026-01-01T00:01:00Z"
            harness.sync(gone)
        finally:
            writes, _WRITES = _WRITES, None
        roots = [str(pods_root), str(host_root)]
        assert [w for w in writes if not _inside(w, roots)] == []
        assert [m for m in mounts if not _inside(m, roots)] == []
        assert sorted(str(p) for p in outside.rglob("*")) == before
        if uid not in ("", ".", "..") and "/" not in uid:
            assert not (pods_root / uid).exists()  # the pod's directory went with the pod

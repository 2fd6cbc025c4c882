"""Builds the cluster's container images offline, rebuilding only what changed.

This file owns every image Kajitori runs (no container registry is reachable,
so each one is made here): the recipes (one folder under ``images/`` each), the
Debian root filesystems they start from, and the decision whether to build.

How a build goes, per image, stopping at the first error:

1. Host tools the recipe needs are installed with apt if missing (idempotent).
2. The build context is assembled in a temporary folder: the recipe folder plus
   files made on the host (the static ``pause`` binary, Debian's static
   busybox, Vagrant's public key).
3. Images based on Debian get a root filesystem from ``debootstrap`` (its
   default mirror), cached as a tarball under ``/var/cache/kajitori/rootfs``
   keyed by suite, variant and package list, and imported as
   ``kajitori/rootfs:<key>``.
4. The inputs hash is the SHA-256 of the context's files and the rootfs key.
   If the tagged image already carries it in ``io.kajitori.inputs-hash``,
   nothing is built.
5. Otherwise Docker's classic builder (no BuildKit) builds the Dockerfile; the
   image gets the labels ``io.kajitori.image=<name>`` and the inputs hash.

Run it with the project's venv: ``.venv/bin/python images/build.py [NAME...]``
(no name: every image; ``--force`` rebuilds; ``--list`` prints the names).
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from kajitori.version import PAUSE_IMAGE  # the project is installed in the venv this runs with

IMAGES_DIR = Path(__file__).resolve().parent
CACHE_DIR = Path("/var/cache/kajitori")
IMAGE_LABEL = "io.kajitori.image"
HASH_LABEL = "io.kajitori.inputs-hash"
ROOTFS_LABEL = "io.kajitori.rootfs"
ROOTFS_REPOSITORY = "kajitori/rootfs"
DEBIAN_SUITE = "bookworm"
# Vagrant's key is found by a version-free glob so a new Debian vagrant
# version does not break the build.
VAGRANT_KEY_GLOB = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub"


class BuildError(Exception):
    """A step of an image build failed; the message names the image and the step."""


class Progress:
    """Prints one line per step with the seconds elapsed since the build began."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        began = time.monotonic()
        self.say(f"{text} ...")
        try:
            yield
        except BaseException:
            self.say(f"✗ {text} (failed after {time.monotonic() - began:.1f}s)")
            raise
        self.say(f"✓ {text} ({time.monotonic() - began:.1f}s)")


@dataclass(frozen=True)
class Rootfs:
    """A Debian root filesystem made by debootstrap."""

    packages: tuple[str, ...]
    """Packages added with ``--include`` (their dependencies come along)."""
    variant: str = "minbase"

    @property
    def key(self) -> str:
        """Names the cached tarball and the imported base image; changes with any input."""
        text = "\n".join([DEBIAN_SUITE, self.variant, *sorted(self.packages)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def image(self) -> str:
        return f"{ROOTFS_REPOSITORY}:{self.key}"


@dataclass(frozen=True)
class Recipe:
    """One image: its folder under images/, its tag, and what its build needs."""

    name: str
    """Short name used on the command line and as the folder name."""
    tag: str
    """The image reference the cluster uses; other components rely on it."""
    rootfs: Rootfs | None = None
    """Debian base; None means the Dockerfile starts FROM scratch."""
    host_packages: tuple[str, ...] = ()
    """Debian packages the host needs to assemble the context."""
    prepare: Callable[[Path, Progress], None] | None = field(default=None, compare=False)
    """Adds files made on the host to the build context folder."""

    @property
    def folder(self) -> Path:
        return IMAGES_DIR / self.name


# --- host side ----------------------------------------------------------------------------------


def run(command: Sequence[str], *, what: str, cwd: Path | None = None) -> str:
    """Runs a command, returning its stdout; a failure raises BuildError with its stderr."""
    result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"{what}: {' '.join(command)} exited {result.returncode}\n{result.stderr[-3000:]}")
    return result.stdout


def is_installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip().endswith(" installed")


def apt_get(*args: str, what: str) -> None:
    """apt-get, waiting for a lock held by someone else instead of failing on it."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "-q", "-y", "-o", "DPkg::Lock::Timeout=300", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"{what}: {' '.join(command)} exited {result.returncode}\n{result.stderr[-3000:]}")


def ensure_host_packages(packages: Sequence[str], progress: Progress) -> None:
    missing = [p for p in packages if not is_installed(p)]
    if not missing:
        return
    with progress.step(f"installing host packages {' '.join(missing)} (apt)"):
        try:
            apt_get("install", *missing, what="installing host packages")
        except BuildError:
            # A fresh machine may have no package lists yet.
            apt_get("update", what="updating package lists")
            apt_get("install", *missing, what="installing host packages")


def fetch_deb(package: str, progress: Progress) -> Path:
    """Downloads one .deb into the cache (once) without installing it on the host."""
    debs = CACHE_DIR / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    with progress.step(f"downloading {package} (apt-get download)"):
        try:
            run(["apt-get", "download", "-q", package], what=f"downloading {package}", cwd=debs)
        except BuildError:
            apt_get("update", what="updating package lists")
            run(["apt-get", "download", "-q", package], what=f"downloading {package}", cwd=debs)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        raise BuildError(f"apt-get download {package} left no .deb in {debs}")
    return found[-1]


# --- contexts made on the host ------------------------------------------------------------------


def compile_pause(context: Path, progress: Progress) -> None:
    with progress.step("compiling pause.c (gcc -static -Os)"):
        run(
            ["gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-o", str(context / "pause"),
             str(context / "pause.c")],
            what="compiling pause",
        )


def extract_busybox(context: Path, progress: Progress) -> None:
    deb = fetch_deb("busybox-static", progress)
    with (
        progress.step(f"extracting busybox from {deb.name}"),
        tempfile.TemporaryDirectory(prefix="kajitori-busybox-") as unpacked,
    ):
        run(["dpkg-deb", "-x", str(deb), unpacked], what="unpacking busybox-static")
        shutil.copy2(Path(unpacked) / "bin" / "busybox", context / "busybox")


def copy_vagrant_key(context: Path, progress: Progress) -> None:
    keys = sorted(glob.glob(VAGRANT_KEY_GLOB))
    if not keys:
        raise BuildError(f"no Vagrant public key at {VAGRANT_KEY_GLOB} (is the vagrant package installed?)")
    shutil.copy2(keys[-1], context / "vagrant.pub")
    progress.say(f"  vagrant public key from {keys[-1]}")


RECIPES: tuple[Recipe, ...] = (
    Recipe("pause", PAUSE_IMAGE, host_packages=("gcc", "libc6-dev"), prepare=compile_pause),
    Recipe("busybox", "kajitori/busybox:1", prepare=extract_busybox),
    Recipe("nginx", "nginx:1.22", rootfs=Rootfs(("nginx-light",))),
    Recipe(
        "tools",
        "kajitori/tools:1",
        rootfs=Rootfs(("ca-certificates", "curl", "netcat-openbsd", "dnsutils", "iproute2", "procps",
                       "iputils-ping")),
    ),
    # The official Kubernetes client (Debian's python3-kubernetes), for in-cluster clients in pods.
    # debootstrap resolves no virtual packages: python3-cryptography (via google-auth) needs
    # python3-cffi-backend-api-min/max, which only python3-cffi-backend provides, so it is named.
    Recipe(
        "python-client",
        "kajitori/python-client:1",
        rootfs=Rootfs(("python3", "python3-kubernetes", "python3-cffi-backend")),
    ),
    Recipe(
        "node",
        "kajitori/node:bookworm",
        rootfs=Rootfs((
            "systemd", "systemd-sysv", "dbus", "docker.io", "containerd", "openssh-server", "sudo",
            "python3", "python3-venv", "iptables", "iproute2", "procps", "ca-certificates", "curl",
            "conntrack", "kmod", "iputils-ping", "less",
            # The three-master lab (make lab MASTERS=3): etcd members and the API's virtual IP.
            "etcd-server", "etcd-client", "keepalived",
        )),
        host_packages=("vagrant",),
        prepare=copy_vagrant_key,
    ),
)


# --- root filesystems ---------------------------------------------------------------------------


def ensure_rootfs_image(client: docker.DockerClient, rootfs: Rootfs, progress: Progress) -> None:
    """Makes kajitori/rootfs:<key> exist: from the image, else the cached tarball, else debootstrap."""
    tarball = CACHE_DIR / "rootfs" / f"{DEBIAN_SUITE}-{rootfs.variant}-{rootfs.key}.tar"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    # Two builders at once (make images and a test fixture) must not make the same base twice.
    with open(tarball.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client.images.get(rootfs.image)
            return
        except docker.errors.ImageNotFound:
            pass
        if not tarball.exists():
            ensure_host_packages(["debootstrap"], progress)
            debootstrap(rootfs, tarball, progress)
        with progress.step(f"importing {tarball.name} as {rootfs.image}"):
            changes = [f"LABEL {IMAGE_LABEL}=rootfs {ROOTFS_LABEL}={rootfs.key}", 'CMD ["/bin/bash"]']
            client.api.import_image_from_file(
                str(tarball), repository=ROOTFS_REPOSITORY, tag=rootfs.key, changes=changes
            )


def debootstrap(rootfs: Rootfs, tarball: Path, progress: Progress) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    debs = CACHE_DIR / "debs" / DEBIAN_SUITE
    debs.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"rootfs-{rootfs.key}-", dir=tarball.parent))
    root = work / "root"
    command = [
        "debootstrap", f"--variant={rootfs.variant}", f"--cache-dir={debs}",
        f"--include={','.join(sorted(rootfs.packages))}", DEBIAN_SUITE, str(root),
    ]
    try:
        with progress.step(f"debootstrap {DEBIAN_SUITE} {rootfs.variant} + {len(rootfs.packages)} packages"):
            stream_debootstrap(command, progress)
        with progress.step(f"packing {tarball.name}"):
            # Package caches and lists are not needed in an image and would double its size.
            for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (root / leftovers).glob("*"):
                    if path.is_file():
                        path.unlink()
            partial = tarball.with_suffix(".tar.partial")
            run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(partial), "."],
                what="packing the root filesystem")
            partial.rename(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stream_debootstrap(command: Sequence[str], progress: Progress) -> None:
    """Runs debootstrap, showing its phase changes (not one line per package)."""
    per_package = ("I: Retrieving ", "I: Validating ", "I: Extracting ", "I: Unpacking ", "I: Configuring ")
    tail: list[str] = []
    with subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        shown: set[str] = set()
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-40:], line]
            phase = next((p for p in per_package if line.startswith(p)), None)
            if phase is None:
                if line.startswith(("I: ", "W: ", "E: ")):
                    progress.say(f"  {line}")
            elif phase not in shown:
                shown.add(phase)
                progress.say(f"  {phase.strip()} packages ...")
    if proc.returncode != 0:
        raise BuildError("debootstrap failed:\n" + "\n".join(tail))


# --- images -------------------------------------------------------------------------------------


def inputs_hash(context: Path, recipe: Recipe) -> str:
    """SHA-256 over every file of the context (path, mode, bytes) and the rootfs key."""
    digest = hashlib.sha256()
    digest.update(f"tag={recipe.tag}\nrootfs={recipe.rootfs.key if recipe.rootfs else 'scratch'}\n".encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(context)}\0{path.stat().st_mode & 0o777:o}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def built_hash(client: docker.DockerClient, tag: str) -> str | None:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = image.labels or {}
    return labels.get(HASH_LABEL)


def docker_build(
    client: docker.DockerClient, recipe: Recipe, context: Path, digest: str, progress: Progress
) -> None:
    """Classic builder (what DOCKER_BUILDKIT=0 selects), one progress line per Dockerfile step."""
    buildargs = {"BASE": recipe.rootfs.image} if recipe.rootfs else {}
    labels = {IMAGE_LABEL: recipe.name, HASH_LABEL: digest}
    output: list[str] = []
    stream = client.api.build(
        path=str(context), tag=recipe.tag, labels=labels, buildargs=buildargs,
        rm=True, forcerm=True, decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise BuildError(
                f"docker build {recipe.tag}: {chunk['error'].strip()}\n" + "".join(output[-40:])
            )
        text = chunk.get("stream", "")
        if not text:
            continue
        output.append(text)
        for line in text.splitlines():
            if line.startswith("Step "):
                progress.say(f"  {line}")


def build_image(client: docker.DockerClient, recipe: Recipe, *, force: bool, progress: Progress) -> bool:
    """Builds one image if its inputs changed; returns whether it built."""
    ensure_host_packages(recipe.host_packages, progress)
    with tempfile.TemporaryDirectory(prefix=f"kajitori-image-{recipe.name}-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(recipe.folder, context)
        if recipe.prepare is not None:
            recipe.prepare(context, progress)
        digest = inputs_hash(context, recipe)
        if not force and built_hash(client, recipe.tag) == digest:
            progress.say(f"✓ {recipe.tag} is up to date ({digest[:12]})")
            return False
        if recipe.rootfs is not None:
            ensure_rootfs_image(client, recipe.rootfs, progress)
        with progress.step(f"building {recipe.tag} ({digest[:12]})"):
            docker_build(client, recipe, context, digest, progress)
    return True


def remove_superseded_images(client: docker.DockerClient) -> None:
    """Drops our own images left untagged by a rebuild (and no one else's)."""
    client.images.prune(filters={"dangling": True, "label": IMAGE_LABEL})


def select(names: Sequence[str]) -> list[Recipe]:
    if not names:
        return list(RECIPES)
    by_name = {r.name: r for r in RECIPES} | {r.tag: r for r in RECIPES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(r.name for r in RECIPES)
        raise BuildError(f"unknown image {', '.join(unknown)} (known: {known})")
    chosen = {by_name[n].name for n in names}
    return [r for r in RECIPES if r.name in chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build Kajitori's images offline (only what changed).")
    parser.add_argument("names", nargs="*", help="images to build (short name or tag); default: all")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs hash matches")
    parser.add_argument("--list", action="store_true", help="print name and tag of every image and exit")
    args = parser.parse_args(argv)
    if args.list:
        for recipe in RECIPES:
            print(f"{recipe.name}\t{recipe.tag}")
        return 0
    # The classic builder is the one that works here; any docker CLI child inherits this.
    os.environ["DOCKER_BUILDKIT"] = "0"
    progress = Progress()
    try:
        recipes = select(args.names)
        client = docker.from_env(timeout=900)
        built = [r.tag for r in recipes if build_image(client, r, force=args.force, progress=progress)]
        if built:
            remove_superseded_images(client)
    except (BuildError, docker.errors.DockerException) as exc:
        progress.say(f"✗ image build failed: {exc}")
        return 1
    progress.say(f"✓ images ready ({len(built)} built, {len(recipes) - len(built)} up to date)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

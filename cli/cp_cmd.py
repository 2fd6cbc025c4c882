"""Command `kajitori cp SRC DST`: files into and out of a pod's container, as kubectl does it (tar through exec).

``POD:/path`` (or ``NS/POD:/path``) names a path in the pod, anything else a local one.
Out of the pod: ``tar cf - PATH`` runs there and its archive is unpacked here under DST
(the pod's path prefix replaced by DST). Into the pod: the local file or directory is
packed here under the name it gets there, and ``tar xmf - -C DIR`` unpacks it. Only
regular files and directories are unpacked locally, never outside DST (a link or a
``..`` in an archive is skipped, as kubectl skips them).
"""

from __future__ import annotations

import asyncio
import posixpath
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import typer

from cli import stream_session
from cli.app import app
from cli.options import Kubeconfig, Namespace
from cli.session import CliError
from kajitori.config import ClientConfig
from kajitori.streaming import remote_command

_CHUNK = 1 << 16


def split_remote(spec: str, namespace: str) -> tuple[str, str, str] | None:
    """``[NS/]POD:PATH`` -> (namespace, pod, path); None for a local path."""
    head, sep, path = spec.partition(":")
    if not sep or not head:
        return None
    ns, slash, pod = head.rpartition("/")
    if not path:
        raise CliError(f"{spec}: a path in the pod is needed after ':'")
    return (ns if slash else namespace), pod, path


class _Remote:
    def __init__(self, config: ClientConfig, namespace: str, pod: str, container: str | None) -> None:
        self.config, self.namespace, self.pod, self.container = config, namespace, pod, container

    async def run(
        self,
        command: list[str],
        *,
        stdin: AsyncIterator[bytes] | None = None,
        stdout: IO[bytes] | None = None,
    ) -> tuple[int, bytes]:
        """The exit code and the stderr of ``command`` (less tar's note about the leading '/')."""
        errors = bytearray()

        def keep(data: bytes) -> None:
            if stdout is not None:
                stdout.write(data)

        code = await remote_command.run(
            self.config, self.namespace, self.pod, command=command, container=self.container, stdin=stdin,
            stdout=keep, stderr=errors.extend,
        )  # fmt: skip
        kept = [
            line
            for line in bytes(errors).splitlines(keepends=True)
            if b"leading '/'" not in line and b"leading `/'" not in line
        ]
        return code, b"".join(kept[:1])  # tar's first complaint is the one that says what went wrong


async def _chunks(archive: IO[bytes]) -> AsyncIterator[bytes]:
    archive.seek(0)
    while chunk := archive.read(_CHUNK):
        yield chunk
        await asyncio.sleep(0)


async def copy_into(remote: _Remote, source: Path, dest: str) -> None:
    if not source.exists():
        raise CliError(f"{source} doesn't exist in local filesystem")
    is_dir, _ = await remote.run(["test", "-d", dest])
    directory, name = (
        (dest, source.name)
        if is_dir == 0
        else (posixpath.dirname(dest) or "/", posixpath.basename(dest.rstrip("/")))
    )
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as archive:
        with tarfile.open(fileobj=archive, mode="w") as tar:
            tar.add(source, arcname=name)
        code, errors = await remote.run(["tar", "xmf", "-", "-C", directory], stdin=_chunks(archive))
    if code:
        raise CliError(errors.decode(errors="replace").strip() or f"tar in the pod exited with {code}")


async def copy_out(remote: _Remote, source: str, dest: Path) -> None:
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as archive:
        code, errors = await remote.run(["tar", "cf", "-", source], stdout=archive)
        if code:
            raise CliError(errors.decode(errors="replace").strip() or f"tar in the pod exited with {code}")
        archive.seek(0)
        target = dest / posixpath.basename(source.rstrip("/")) if dest.is_dir() else dest
        _unpack(archive, source.strip("/"), target)


def _unpack(archive: IO[bytes], prefix: str, target: Path) -> None:
    """Each member ``PREFIX[/rest]`` to ``TARGET[/rest]``; nothing may land outside TARGET."""
    with tarfile.open(fileobj=archive, mode="r|") as tar:
        for member in tar:
            name = member.name.strip("/")
            if name != prefix and not name.startswith(prefix + "/"):
                continue
            rest = name[len(prefix) :].strip("/")
            if ".." in rest.split("/"):
                typer.echo(f"warning: skipping {member.name}: outside the destination", err=True)
                continue
            path = target / rest if rest else target
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                path.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file always has data
                with path.open("wb") as out:
                    while chunk := extracted.read(_CHUNK):
                        out.write(chunk)
                path.chmod(member.mode & 0o777)
            else:
                typer.echo(
                    f"warning: skipping {member.name}: only regular files and directories are copied",
                    err=True,
                )


@app.command()
def cp(
    src: str = typer.Argument(..., help="POD:/path, NS/POD:/path, or a local path."),
    dst: str = typer.Argument(..., help="POD:/path, NS/POD:/path, or a local path."),
    container: str = typer.Option(None, "-c", "--container", help="Container (the pod's first by default)."),
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Copy files and directories into and out of a container (tar through exec: the container needs tar)."""
    config, ns = stream_session.load(kubeconfig, namespace)
    try:
        from_pod, to_pod = split_remote(src, ns), split_remote(dst, ns)
    except CliError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if (from_pod is None) == (to_pod is None):
        typer.echo(
            "error: one of src or dest must be a local file specification and the other a remote one (POD:/path)",
            err=True,
        )
        raise typer.Exit(1)
    if to_pod is not None:
        target_ns, pod, path = to_pod
        stream_session.run_stream(copy_into(_Remote(config, target_ns, pod, container), Path(src), path))
    elif from_pod is not None:
        source_ns, pod, path = from_pod
        stream_session.run_stream(copy_out(_Remote(config, source_ns, pod, container), path, Path(dst)))
    sys.stdout.flush()

"""Files only their owner may read (keys, tokens, kubeconfigs, the store), private from creation.

A file is created with its final mode by ``os.open(..., mode)``, never written first and
chmod-ed after: between the two another local user could open it and keep the
descriptor. Writes go to a side file that is renamed over the target, so a crash never
leaves half a key. A private directory is made 0700; one found wider (made by an older
version) is tightened, because every file inside inherits its exposure.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) and leave it 0700: no one but the owner lists or enters it."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(PRIVATE_DIR)
    return path


def create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist; tighten it if it does (files other programs fill)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(PRIVATE_FILE)


def write_file(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> Path:
    """Replace ``path`` with ``data``, the new file having ``mode`` from its first byte on."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink()  # a stale side file may have another mode; O_EXCL below makes a fresh one
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return path

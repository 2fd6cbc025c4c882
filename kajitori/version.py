"""The release's identity, kept once: its version, the Kubernetes version it speaks, the pause image.

The API server answers `/version` with `version_info()`, the agent reports `GIT_VERSION` as its
kubelet version, `kajitori version --client` prints the same record without loading the server,
and pyproject.toml reads `__version__` from here; the agent's sandboxes and a node joined over
SSH use `PAUSE_IMAGE` (built by `make images` from images/pause).
"""

from __future__ import annotations

__version__ = "0.1.0"

KUBERNETES_VERSION = "1.28.0"
"""The Kubernetes API the models and the server follow (their unmodelled-field lists are v1.28's;
kubectl's dispatcher picks its minor). Protobuf tables of a later version read newer clients'
bodies without changing this."""

GIT_VERSION = f"v{KUBERNETES_VERSION}-kajitori.{__version__}"
"""Kubernetes-shaped (`v1.28.0-kajitori.0.1.0`), so tools that parse a server or kubelet version keep working."""

PAUSE_IMAGE = "kajitori/pause:3.9"
"""The image of every pod's sandbox, built by `make images` from images/pause."""


def version_info() -> dict[str, str]:
    """A fresh copy of the `/version` record (kube-apiserver's version.Info fields)."""
    major, minor, _ = KUBERNETES_VERSION.split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-11-21T00:00:00Z",
        "goVersion": "python",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }

"""Where a client finds the master: kubeconfig files (server URL + bearer token).

Lookup order, as kubectl: ``--kubeconfig``, then ``$KAJITORI_CONFIG``, then
``~/.kajitori/config``. The file is standard kubeconfig YAML, so kubectl and the
official Python client read the same file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path("~/.kajitori/config")
ENV_VAR = "KAJITORI_CONFIG"


class ConfigError(Exception):
    """No usable kubeconfig; the message says which file and what is wrong."""


@dataclass(frozen=True)
class ClientConfig:
    server: str
    token: str | None = None
    namespace: str = "default"
    source: str = ""


def resolve_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return DEFAULT_PATH.expanduser()


def load(explicit: str | os.PathLike[str] | None = None) -> ClientConfig:
    path = resolve_path(explicit)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no kubeconfig at {path}: pass --kubeconfig, set ${ENV_VAR}, or run `make lab` to create one"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc}") from None
    try:
        return _from_doc(doc, str(path))
    except (KeyError, TypeError, IndexError, StopIteration) as exc:
        raise ConfigError(f"kubeconfig {path} is incomplete: missing {exc}") from None


def _from_doc(doc: dict[str, Any], source: str) -> ClientConfig:
    current = doc.get("current-context") or doc["contexts"][0]["name"]
    context = next(c["context"] for c in doc["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == context["cluster"])
    user: dict[str, Any] = next((u["user"] for u in doc.get("users") or [] if u["name"] == context.get("user")), {})
    return ClientConfig(
        server=cluster["server"].rstrip("/"),
        token=user.get("token"),
        namespace=context.get("namespace") or "default",
        source=source,
    )


def render(server: str, token: str, *, user: str = "admin", cluster: str = "kajitori") -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user, "namespace": "default"}}],
        "current-context": cluster,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(path: str | os.PathLike[str], server: str, token: str, *, user: str = "admin") -> Path:
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(render(server, token, user=user))
    tmp.chmod(0o600)
    tmp.replace(target)
    return target

"""Where a client finds the master: kubeconfig files (server URL, the CA to trust, a bearer token or client certificate).

Lookup order, as kubectl: ``--kubeconfig``, then ``$KAJITORI_CONFIG``, then
``~/.kajitori/config``. The file is standard kubeconfig YAML, so kubectl and the
official Python client read the same file: the master's CA travels as
``certificate-authority-data`` (base64 of the PEM); ``certificate-authority`` (a file,
relative to the kubeconfig) and ``insecure-skip-tls-verify`` are read too.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kajitori.private_files import write_file

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
    ca_pem: bytes | None = None
    """The PEM of the CA the server's certificate must chain to; None: the system's CAs."""
    insecure: bool = False
    """Skip certificate checks (``insecure-skip-tls-verify``), as kubectl allows."""
    client_cert_pem: bytes | None = None
    """The client certificate (``client-certificate-data``): the user is its CN, the groups its O fields."""
    client_key_pem: bytes | None = None

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx's ``verify=`` (and ``http.client.HTTPSConnection(context=)``) take."""
        if self.client_cert_pem and self.client_key_pem:
            context = ssl.create_default_context(cadata=self.ca_pem.decode("ascii")) if self.ca_pem else ssl.create_default_context()
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            load_client_certificate(context, self.client_cert_pem, self.client_key_pem)
            return context
        if self.insecure:
            return False
        if self.ca_pem is None:
            return True
        return ssl_context_for(self.ca_pem)


def load_client_certificate(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """ssl loads a key only from a file: a 0600 one in a private temporary directory, gone at once."""
    with tempfile.TemporaryDirectory(prefix="kajitori-cert-") as tmp:
        cert_path, key_path = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        write_file(cert_path, cert_pem)
        write_file(key_path, key_pem)
        context.load_cert_chain(str(cert_path), str(key_path))


def ssl_context_for(ca_pem: bytes) -> ssl.SSLContext:
    """A client context that trusts exactly this CA and checks the host name."""
    context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    return context


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
        ca_pem=_ca_pem(cluster, source),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        client_cert_pem=_data(user, "client-certificate", source),
        client_key_pem=_data(user, "client-key", source),
    )


def _data(user: dict[str, Any], field: str, source: str) -> bytes | None:
    """``FIELD-data`` (base64) or ``FIELD`` (a file, relative to the kubeconfig)."""
    if user.get(f"{field}-data"):
        try:
            return base64.b64decode(user[f"{field}-data"], validate=True)
        except ValueError as exc:
            raise ConfigError(f"kubeconfig {source}: {field}-data is not base64: {exc}") from None
    if user.get(field):
        path = Path(user[field]).expanduser()
        if not path.is_absolute() and source:
            path = Path(source).parent / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"kubeconfig {source}: cannot read {field} {path}: {exc.strerror}") from None
    return None


def _ca_pem(cluster: dict[str, Any], source: str) -> bytes | None:
    if cluster.get("certificate-authority-data"):
        try:
            return base64.b64decode(cluster["certificate-authority-data"], validate=True)
        except ValueError as exc:
            raise ConfigError(f"kubeconfig {source}: certificate-authority-data is not base64: {exc}") from None
    if cluster.get("certificate-authority"):
        path = Path(cluster["certificate-authority"]).expanduser()
        if not path.is_absolute() and source:
            path = Path(source).parent / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"kubeconfig {source}: cannot read certificate-authority {path}: {exc.strerror}") from None
    return None


def render(
    server: str,
    token: str | None,
    *,
    user: str = "admin",
    cluster: str = "kajitori",
    ca_pem: bytes | None = None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
) -> str:
    credentials: dict[str, Any] = {}
    if token:
        credentials["token"] = token
    if client_cert_pem and client_key_pem:
        credentials["client-certificate-data"] = base64.b64encode(client_cert_pem).decode("ascii")
        credentials["client-key-data"] = base64.b64encode(client_key_pem).decode("ascii")
    entry: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user, "namespace": "default"}}],
        "current-context": cluster,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(
    path: str | os.PathLike[str],
    server: str,
    token: str | None,
    *,
    user: str = "admin",
    ca_pem: bytes | None = None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
) -> Path:
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from creation: the file carries a bearer token or a private key.
    text = render(server, token, user=user, ca_pem=ca_pem, client_cert_pem=client_cert_pem, client_key_pem=client_key_pem)
    return write_file(target, text.encode())

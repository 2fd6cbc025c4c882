"""A node's own kubeconfig for tests and benchmarks: a client certificate of the master's CA.

A real node gets ``system:node:<name>`` in ``system:nodes`` by joining (a bootstrap token, a
CertificateSigningRequest the master signs: ``kajitori node join``); the tests' and benches'
agents run on the same identity, made directly from the CA in the master's data dir with
the function ``kajitori certs issue --node`` uses (``master.apiserver.certs``), so the Node
authorizer and NodeRestriction judge them as they judge a joined node. The kube-proxy's
identity (``system:kube-proxy``) is the one the master writes itself at start,
``kubeconfigs/proxy.kubeconfig``, as the lab hands it to its nodes.
"""

from __future__ import annotations

from pathlib import Path

from kajitori import config
from master.apiserver.certs import node_identity, write_kubeconfig


def node_kubeconfig(data_dir: Path, node: str, out: Path, server_url: str | None = None) -> Path:
    """Writes ``out`` (0600): node ``node``'s kubeconfig at ``server_url`` (default: the master's
    ``admin.kubeconfig`` server), with a fresh certificate of the CA in ``data_dir/pki``."""
    user, groups = node_identity(node)
    url = server_url or config.load(data_dir / "admin.kubeconfig").server
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_kubeconfig(out, data_dir=data_dir, server_url=url, user=user, groups=groups)


def proxy_kubeconfig(data_dir: Path) -> Path:
    """The kube-proxy's kubeconfig (``system:kube-proxy``) the master wrote at start."""
    return data_dir / "kubeconfigs" / "proxy.kubeconfig"

"""kubeadm's token discovery: the cluster CA read from ``kube-public/cluster-info``, trusted only if signed and pinned.

A joining node that was given no CA file asks the API server for the ``cluster-info``
ConfigMap without credentials and without checking the server's certificate (it has
nothing to check it with yet). It then trusts what it read only if (1) the ConfigMap holds
``jws-kubeconfig-<token id>`` and that is the token's signature of its ``kubeconfig``
(``kajitori.jws``): only someone holding the token's secret could have made it, so the
content came from the cluster; and (2) the CA in that kubeconfig hashes to one of the pins
(``kajitori.ca_pin``). The token's secret never leaves the node in this step: it only
checks a signature. Refusals are `DiscoveryError` with the reason in kubeadm's sense.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import yaml

from kajitori import ca_pin, jws
from kajitori.bootstrap_token import BootstrapToken

PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"


class DiscoveryError(Exception):
    """cluster-info could not be read, is not signed by this token, or its CA matches no pin."""


def fetch_ca(server: str, token: BootstrapToken, pins: list[str], *, timeout: float = 10.0) -> bytes:
    """The cluster CA (PEM) from ``server``'s signed cluster-info, checked against ``pins`` (at least one)."""
    if not pins:
        raise DiscoveryError("token discovery needs a --discovery-token-ca-cert-hash to check the CA it reads")
    try:
        # Nothing to verify the server with yet: what is read is checked by signature and pin below.
        answer = httpx.get(server.rstrip("/") + PATH, verify=False, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"cannot read cluster-info from {server}: {exc}") from None
    if answer.status_code != 200:
        raise DiscoveryError(f"cluster-info at {server} answered {answer.status_code}")
    try:
        data: dict[str, Any] = answer.json().get("data") or {}
    except ValueError:
        raise DiscoveryError(f"cluster-info at {server} is not JSON") from None
    kubeconfig = data.get("kubeconfig")
    signature = data.get(jws.KEY_PREFIX + token.id)
    if not isinstance(kubeconfig, str):
        raise DiscoveryError("cluster-info has no kubeconfig")
    if not isinstance(signature, str):
        raise DiscoveryError(f"there is no JWS signed token in the cluster-info ConfigMap for token ID {token.id!r}")
    if not jws.verify_detached(signature, kubeconfig.encode(), token.id, token.secret):
        raise DiscoveryError(f"failed to verify JWS signature of received cluster info object, can't trust this API Server (token ID {token.id!r})")
    try:
        doc = yaml.safe_load(kubeconfig)
        ca_pem = base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"], validate=True)
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
        raise DiscoveryError("cluster-info's kubeconfig has no certificate-authority-data") from None
    try:
        ca_pin.check_pinned(ca_pem, pins)
    except ca_pin.PinError as exc:
        raise DiscoveryError(str(exc)) from None
    return ca_pem

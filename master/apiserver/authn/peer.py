"""The verified client certificate of a connection, handed to the app in its ASGI scope.

uvicorn keeps the TLS object to itself, so the master's protocols read the peer's
certificate once per connection (the handshake is over by ``connection_made``) and put
its subject in every request's scope under ``SCOPE_KEY``. The server asks for a
certificate without requiring one (``ssl.CERT_OPTIONAL``) and verifies any it is given
against the cluster CA, so one that does not chain to it fails the handshake.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

from master.apiserver.authn import ClientCertificate, certificate_from_peercert

SCOPE_KEY = "kajitori.client_certificate"


def peer_certificate(transport: asyncio.BaseTransport) -> ClientCertificate | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    return certificate_from_peercert(ssl_object.getpeercert())


def scope_certificate(scope: Any) -> ClientCertificate | None:
    cert = scope.get(SCOPE_KEY)
    return cert if isinstance(cert, ClientCertificate) else None


class ClientCertWSProtocol(WSProtocol):
    """uvicorn's wsproto protocol with the connection's client certificate in the scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._client_certificate = peer_certificate(transport)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        self.scope[SCOPE_KEY] = self._client_certificate  # type: ignore[literal-required]

"""Bootstrap token cleaner: an expired bootstrap token's Secret is deleted (kube-controller-manager's tokencleaner).

It owns the Secrets of type ``bootstrap.kubernetes.io/token`` in ``kube-system``
(``kajitori.bootstrap_token``). A token past its ``expiration`` already gets 401 from the
authenticator; deleting its Secret keeps ``kajitori token list`` (and ``kube-system``) to
the tokens that still work, as Kubernetes does. A token without an expiration (``--ttl 0``)
is kept; an unreadable expiration counts as expired (the authenticator refuses it too).
A token not yet expired waits in the queue until it is (``Requeue``), so a token made
with ``--ttl 15m`` is gone a moment after its fifteen minutes. The delete names the uid it
judged, so a Secret made anew under the same name in between is left alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kajitori import bootstrap_token
from kajitori.api.core import Secret
from kajitori.client import ConflictError, NotFoundError
from kajitori.controller import Controller, Requeue
from kajitori.informer import object_key, split_key
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)


def is_bootstrap_token(secret: Secret) -> bool:
    return secret.metadata.namespace == bootstrap_token.NAMESPACE and secret.type == bootstrap_token.SECRET_TYPE


class BootstrapTokenCleaner:
    def __init__(self, ctx: LoopContext) -> None:
        self.ctx = ctx
        self.secrets = ctx.informers.informer(Secret)
        self.controller = Controller("tokencleaner", self.reconcile, informers=[self.secrets])
        self.secrets.add_handlers(self._enqueue, lambda _old, new: self._enqueue(new))

    def _enqueue(self, secret: Secret) -> None:
        if is_bootstrap_token(secret):
            self.controller.enqueue(object_key(secret))

    def reconcile(self, key: str) -> None:
        secret = self.secrets.get(key)
        if secret is None or not is_bootstrap_token(secret):
            return
        data = bootstrap_token.secret_data(secret.to_dict())
        value = data.get("expiration")
        if value is None:
            return  # never expires
        now = datetime.fromtimestamp(self.ctx.clock.time(), UTC)
        if not bootstrap_token.expired(data, now):
            left = (bootstrap_token.parse_expiration(value) - now).total_seconds()
            raise Requeue(max(left, 0.001))
        namespace, name = split_key(key)
        try:
            self.ctx.client.delete(Secret, name, namespace, uid=secret.metadata.uid)
        except (NotFoundError, ConflictError):
            return  # gone already, or another Secret of that name now (its own event brings it here)
        log.info("deleted expired bootstrap token secret %s (expiration %s)", key, value)

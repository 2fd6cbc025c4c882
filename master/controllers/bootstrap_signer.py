"""Bootstrap signer: ``kube-public/cluster-info`` carries one JWS of its kubeconfig per signing bootstrap token.

As kube-controller-manager's bootstrapsigner: for every unexpired bootstrap token Secret in
``kube-system`` whose ``usage-bootstrap-signing`` is ``true``, ``jws-kubeconfig-<token id>``
is the token's detached HS256 signature of the ConfigMap's ``kubeconfig`` (``kajitori.jws``);
signatures of tokens that are gone, expired or no longer signing are removed. One key, the
ConfigMap; every token Secret's change and the ConfigMap's own bring it back (level-triggered,
written only when the signatures differ).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kajitori import bootstrap_token, jws
from kajitori.api.core import ConfigMap, Secret
from kajitori.controller import Controller
from master.controllers.bootstrap_token_cleaner import is_bootstrap_token
from master.controllers.context import LoopContext

log = logging.getLogger(__name__)

NAMESPACE = "kube-public"
NAME = "cluster-info"
KEY = f"{NAMESPACE}/{NAME}"


class BootstrapSigner:
    def __init__(self, ctx: LoopContext) -> None:
        self.ctx = ctx
        self.secrets = ctx.informers.informer(Secret)
        self.configmaps = ctx.informers.informer(ConfigMap)
        self.controller = Controller("bootstrapsigner", self.reconcile, informers=[self.secrets, self.configmaps])
        self.secrets.add_handlers(self._on_secret, lambda _old, new: self._on_secret(new), self._on_secret)
        self.configmaps.add_handlers(self._on_configmap, lambda _old, new: self._on_configmap(new))

    def _on_secret(self, secret: Secret) -> None:
        if is_bootstrap_token(secret):
            self.controller.enqueue(KEY)

    def _on_configmap(self, cm: ConfigMap) -> None:
        if cm.metadata.namespace == NAMESPACE and cm.metadata.name == NAME:
            self.controller.enqueue(KEY)

    def signatures(self, payload: bytes) -> dict[str, str]:
        now = datetime.fromtimestamp(self.ctx.clock.time(), UTC)
        out: dict[str, str] = {}
        for secret in self.secrets.list():
            if not is_bootstrap_token(secret):
                continue
            data = bootstrap_token.secret_data(secret.to_dict())
            token_id, token_secret = data.get("token-id", ""), data.get("token-secret", "")
            if data.get("usage-bootstrap-signing") != "true" or not token_id or not token_secret or bootstrap_token.expired(data, now):
                continue
            out[jws.KEY_PREFIX + token_id] = jws.sign_detached(payload, token_id, token_secret)
        return out

    def reconcile(self, key: str) -> None:
        cm = self.configmaps.get(key)
        if cm is None:
            return
        data = dict(cm.data or {})
        payload = data.get("kubeconfig")
        if payload is None:
            return
        wanted = self.signatures(payload.encode())
        current = {k: v for k, v in data.items() if k.startswith(jws.KEY_PREFIX)}
        if current == wanted:
            return
        updated = cm.model_copy(deep=True)
        updated.data = {**{k: v for k, v in data.items() if not k.startswith(jws.KEY_PREFIX)}, **wanted}
        self.ctx.client.update(updated)  # compare-and-swap: a conflict is retried with the newer ConfigMap
        log.info("%s signed for %d token(s)", KEY, len(wanted))

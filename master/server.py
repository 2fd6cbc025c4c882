"""`kajitori master`: the API server and, in threads beside it, the scheduler and controllers.

The API server owns the event loop of the main thread and speaks HTTPS with a
certificate of the master's own CA (``master.apiserver.tls``). Controllers are ordinary
clients of the API (they list, watch and write over HTTP with the admin token), the
way kube-controller-manager is; so they could run in another process unchanged.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from kajitori.gc_pauses import GCPauses
from kajitori.metrics import COMPONENTS
from kajitori.private_files import ensure_private_dir
from master.apiserver import spdy_portforward, streams
from master.apiserver.app import ServerState, create_app
from master.apiserver.auth import ensure_credentials
from master.apiserver.authn.bootstrap import BootstrapTokenAuthenticator
from master.apiserver.authn.peer import ClientCertWSProtocol
from master.apiserver.authz import Authorizer
from master.apiserver.authz.admission import Admission
from master.apiserver.certs import issue_component_kubeconfigs, issue_kubelet_client
from master.apiserver.http_protocol import bounded_protocol
from master.apiserver.metrics_scraper import MetricsScraper
from master.apiserver.node_proxy import NodeProxy
from master.apiserver.resources import ResourceAPI
from master.apiserver.serviceaccount_tokens import ServiceAccountTokens, ensure_signing_key
from master.apiserver.tls import ServingFiles, ensure_serving_cert
from master.apiserver.writes import Writes
from master.bootstrap import ensure_defaults, ensure_rbac_defaults
from master.cluster_dns import start_cluster_dns
from master.cluster_info import ensure_cluster_info
from master.master_endpoints import start_master_endpoints
from master.resource_usage import UsageStore
from master.settings import MasterSettings
from master.store import SQLiteStore, Store, StoreError, encryption
from master.store.etcd import EtcdStore
from master.store.timed import TimedStore
from master.ui import install as install_ui

log = logging.getLogger(__name__)

# Started after the API answers; each returns a stop function. Filled by master.loops.
ControllerStarter = Callable[[MasterSettings], Callable[[], None]]


def open_store(settings: MasterSettings) -> Store:
    try:
        # Secrets encrypted at rest by the data dir's EncryptionConfiguration (made on first start).
        transformer = encryption.load(settings.data_dir)
    except encryption.EncryptionError as exc:
        raise StoreError(str(exc)) from exc
    # Every read and write timed for /metrics (etcd_request_duration_seconds), whichever store.
    return TimedStore(_open_backend(settings, transformer))


def _open_backend(settings: MasterSettings, transformer: Any) -> Store:
    if settings.store.backend == "etcd":
        return EtcdStore(
            settings.store.etcd_servers,
            cafile=settings.store.etcd_cafile,
            certfile=settings.store.etcd_certfile,
            keyfile=settings.store.etcd_keyfile,
            history=settings.watch_history,
            history_bytes=settings.watch_history_bytes,
            compaction_interval_s=settings.store.etcd_compaction_interval_s,
            startup_timeout_s=settings.store.etcd_startup_timeout_s,
            request_timeout_s=settings.store.etcd_request_timeout_s,
            watch_deadline_s=settings.store.etcd_watch_deadline_s,
            transformer=transformer,
        )
    return SQLiteStore(
        settings.data_dir / "state.db",
        history=settings.watch_history,
        history_bytes=settings.watch_history_bytes,
        transformer=transformer,
    )


def build_state(settings: MasterSettings, serving: ServingFiles) -> ServerState:
    store = open_store(settings)
    api = ResourceAPI(store)
    tokens = ensure_credentials(
        settings.data_dir, settings.public_url, ca_pem=serving.ca_pem, loopback_url=settings.server_url
    ) if settings.auth else None
    advertise = settings.advertised_host
    ensure_defaults(api, advertise_ip=advertise, port=settings.port, dns=settings.dns_listen is not None)
    def lookup(key: str) -> dict[str, Any] | None:
        stored = store.get(key)
        return stored.obj if stored is not None else None

    service_accounts = ServiceAccountTokens(ensure_signing_key(settings.data_dir), lookup)
    state = ServerState(
        store=store, api=api, tokens=tokens, writes=Writes(own_thread=settings.store.backend == "etcd"), service_accounts=service_accounts
    )
    state.authenticators.append(service_accounts.authenticator)
    # New nodes' bootstrap tokens (kube-system Secrets), as kube-apiserver's --enable-bootstrap-token-auth.
    state.authenticators.append(BootstrapTokenAuthenticator(lookup))
    if settings.auth:
        ensure_rbac_defaults(api)
        if settings.authorization:
            state.authorizer = Authorizer(store)
            api.admit = Admission(state.authorizer).admit
        issue_component_kubeconfigs(settings.data_dir, settings.server_url, serving)
        ensure_cluster_info(api, settings.public_url, serving.ca_pem)
    # The agents are reached on the master's own client certificate (they ask the master whether it may).
    proxy = NodeProxy(api, issue_kubelet_client(settings.data_dir) if settings.auth else None)
    state.proxy = proxy
    state.usage = UsageStore()
    state.background.append(MetricsScraper(api, proxy, state.usage, resolution_s=settings.metric_resolution_s).start)
    return state


def server_config(app: ASGIApp, settings: MasterSettings, serving: ServingFiles | None) -> uvicorn.Config:
    """How uvicorn serves the API: httptools with bounded request heads (master.apiserver.http_protocol)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http=bounded_protocol(max_header_bytes=settings.max_header_bytes, header_timeout_s=settings.header_timeout_s),
        # wsproto, not websockets: the latter refuses kubectl's subprotocol "SPDY/3.1+portforward.k8s.io"
        # ("/" is no token character), and kubectl then falls back to SPDY, which is not served.
        ws=ClientCertWSProtocol,
        timeout_graceful_shutdown=2,
        # kube-apiserver's IdleTimeout (90 s, Go's http.DefaultTransport keeps idle connections as
        # long). uvicorn's 5 s closed a client's keep-alive connection while the client, on a loaded
        # machine, was about to send its next request on it: the request met a closed socket
        # (RemoteDisconnected in the fuzz test, whose requests share one connection).
        timeout_keep_alive=90,
        ssl_certfile=str(serving.cert) if serving else None,
        ssl_keyfile=str(serving.key) if serving else None,
        # Ask for a client certificate, verified against the cluster CA, without requiring one (tokens stay).
        ssl_ca_certs=str(serving.ca_cert) if serving else None,
        ssl_cert_reqs=ssl.CERT_OPTIONAL if serving else ssl.CERT_NONE,
    )


def freeze_startup_heap() -> None:
    """Keep what startup built out of the garbage collector's full passes from now on.

    The modules, the app and its routes, the models and the store (about 105,000 objects)
    live as long as the process, yet every full collection walked them again: with 1,000
    watches open, full collections of 270,000 objects took 40-100 ms, during which the
    API answered nothing (the bench's max write latency). Frozen (``gc.freeze``, what
    forking servers do before they fork), a full pass walks only what came later: 27 ms
    instead of 63 ms at 1,000 watches (``python_gc_duration_seconds{generation="2"}`` in
    /metrics). Collected first, so no garbage is frozen with them."""
    gc.collect()
    gc.freeze()
    log.info("froze %d objects built at startup out of the collector's full passes", gc.get_freeze_count())


# How long a master asked to stop gives its own loops to hand over while it still serves.
HANDOVER_BUDGET_S = 5.0


class HandOverServer(uvicorn.Server):
    """uvicorn's server, whose shutdown (SIGTERM, as systemd's stop and a machine's halt send)
    first runs `hand_over` while the API is still served.

    The master's own loops reach the API through this server (the loopback kubeconfig). Stopped
    after it, they could neither release their leader Leases nor delete this master's own Lease,
    so the other masters waited for both to expire (4 s, 6 s) before leading and before dropping
    its address from the ``kubernetes`` and ``kube-dns`` Endpoints: a graceful halt looked like a
    crash. kube-apiserver too leaves the Endpoints before it stops serving, and client-go's
    leader election releases its Lease on a graceful stop (ReleaseOnCancel). uvicorn re-raises
    SIGTERM once it has shut down, so nothing after ``server.run()`` runs on it."""

    def __init__(self, config: uvicorn.Config, hand_over: Callable[[], None]) -> None:
        super().__init__(config)
        self._hand_over = hand_over

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            # Bounded: a hand-over that hangs (the store gone) must not hold the stop.
            await asyncio.wait_for(asyncio.to_thread(self._hand_over), HANDOVER_BUDGET_S)
        except TimeoutError:
            log.warning("this master's loops did not stop within %.0f s; stopping the API server anyway", HANDOVER_BUDGET_S)
        await super().shutdown(sockets)


def run(settings: MasterSettings, *, controllers: ControllerStarter | None = None) -> None:
    ensure_private_dir(settings.data_dir)  # the store holds every Secret: only the master's user may look
    serving = ensure_serving_cert(settings.data_dir, settings.advertised_host, settings.endpoint_host)
    try:
        state = build_state(settings, serving)
    except StoreError as exc:
        log.error("cannot open the store: %s", exc)
        raise SystemExit(1) from None
    app = create_app(state)
    if isinstance(state.proxy, NodeProxy):
        streams.install(app, streams.PodStreams(state.proxy, spdy_portforward.serve))
    install_ui(app)  # /ui/: the web view's files (master.ui); the pages read the API with the user's token
    stops: list[Callable[[], None]] = []
    cluster_dns: list[Callable[[], None]] = []
    stopping = threading.Lock()

    def hand_over() -> None:
        """Stop this master's loops, cluster DNS last: its own Lease deleted and the leader Leases
        released first, so the Endpoints stop sending queries here before it stops answering them."""
        with stopping:
            ordered = sorted(stops, key=lambda stop: stop in cluster_dns)
            stops.clear()
            for stop in ordered:
                stop()

    server = HandOverServer(server_config(app, settings, serving), hand_over)

    def start_controllers() -> None:
        # Wait until uvicorn listens, then start the loops that talk to it.
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.should_exit:
            return
        if settings.auth:
            # This master's Lease and the masters' Endpoints, on every master (not leader-elected).
            stops.append(start_master_endpoints(settings))
        if settings.dns_listen is not None:
            cluster_dns.append(start_cluster_dns(settings))
            stops.append(cluster_dns[-1])
        if controllers is not None:
            stops.append(controllers(settings))

    threading.Thread(target=start_controllers, name="controller-starter", daemon=True).start()
    log.info(
        "API server listening on %s:%d (advertised as %s, kubeconfigs at %s), data in %s",
        settings.host, settings.port, settings.server_url, settings.public_url, settings.data_dir,
    )  # fmt: skip
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    GCPauses().install(COMPONENTS)  # python_gc_duration_seconds in /metrics
    freeze_startup_heap()
    try:
        server.run()
    finally:
        for stop in stops:
            stop()
        state.writes.close()
        if state.reads is not None:
            state.reads.close()
        state.store.close()
        log.info("master stopped")

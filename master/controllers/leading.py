"""The master's loops behind leader election: of all masters sharing one store, only the
holder of Lease ``kube-system/kube-controller-manager`` runs the controllers and only the
holder of ``kube-system/kube-scheduler`` runs the scheduler (two Leases, as Kubernetes'
two processes have), each started when this master becomes leader and stopped when it
stops leading (``kajitori.leader_election`` has the rules). Each Lease is held on the
identity of the loops it elects (``system:kube-controller-manager``, ``system:kube-scheduler``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kajitori import config
from kajitori.client import ApiClient
from kajitori.events import EventRecorder
from kajitori.leader_election import LeaderElectionConfig, LeaderElector, default_identity
from master.settings import MasterSettings

log = logging.getLogger(__name__)

Stop = Callable[[], None]
StartLoops = Callable[..., Stop]


class _Loops:
    """Starts a set of loops when leading, stops them when not (never two sets at once)."""

    def __init__(self, start: Callable[[], Stop]) -> None:
        self._start = start
        self._stop: Stop | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = self._start()

    def stop(self) -> None:
        with self._lock:
            stop, self._stop = self._stop, None
        if stop is not None:
            stop()


def start_when_leading(settings: MasterSettings, start_loops: StartLoops) -> Stop:
    le = settings.leader_election
    cfg = LeaderElectionConfig(le.lease_duration_s, le.renew_deadline_s, le.retry_period_s)
    cfg.check()
    # A try that hangs must end before the Lease could expire, so that a leader cut off
    # from the API still notices in time that it has to stop.
    try_timeout = max(0.2, min(cfg.retry_period_s, cfg.lease_duration_s - cfg.renew_deadline_s))
    identity = le.identity or default_identity()
    # (Lease, the identity that holds it, which loops): each Lease is taken and renewed by the
    # component it elects, on its own certificate, as kube-scheduler and kube-controller-manager do.
    leases: list[tuple[str, str, dict[str, bool]]] = [
        ("kube-controller-manager", "controller-manager", {"controllers": True, "scheduler": False})
    ]
    if settings.controllers.scheduler:
        leases.append(("kube-scheduler", "scheduler", {"controllers": False, "scheduler": True}))
    clients: list[ApiClient] = []
    electors = []
    for name, component, which in leases:
        kubeconfig = config.load(settings.component_kubeconfig(component))
        client = ApiClient(kubeconfig, timeout=try_timeout, user_agent=f"kajitori-leader-election/{component}")
        events = ApiClient(kubeconfig, user_agent=f"kajitori-leader-election/{component}")
        clients += [client, events]
        loops = _Loops(lambda which=which: start_loops(settings, **which))  # type: ignore[misc]
        elector = LeaderElector(
            client,
            name,
            identity=identity,
            on_started_leading=loops.start,
            on_stopped_leading=loops.stop,
            config=cfg,
            recorder=EventRecorder(events, name),
        )
        electors.append(elector.start())
    log.info("leader election as %s (lease %.1f s, renew deadline %.1f s, retry %.1f s)", identity,
             cfg.lease_duration_s, cfg.renew_deadline_s, cfg.retry_period_s)  # fmt: skip

    def stop() -> None:
        # Every elector at once: each stops its loops, then releases its Lease, so that on a
        # graceful stop both Leases are taken over at the others' next try, not one after the other.
        stopping = [threading.Thread(target=elector.stop, name=f"stop-{elector.name}") for elector in electors]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for client in clients:
            client.close()

    return stop

"""The master's control loops (controllers and scheduler), started beside the API server: ``start_all(settings)``.

Every loop is a client of the API like any other (it could run in its own process):
one ApiClient with the admin kubeconfig, one shared informer per kind, one event
recorder per component. Each loop enabled in ``settings.controllers`` is built, then
the informers start, then each loop's workers start once the caches it reads have
synced. ``start_all`` returns the function that stops them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kajitori import config
from kajitori.client import ApiClient
from kajitori.events import EventRecorder
from master.controllers.bootstrap_token_cleaner import BootstrapTokenCleaner
from master.controllers.clusterrole_aggregation import ClusterRoleAggregationController
from master.controllers.context import LoopContext
from master.controllers.cronjob import CronJobController
from master.controllers.csr_approving import CSRApprovingController
from master.controllers.csr_signing import CSRSigningController
from master.controllers.daemonset import DaemonSetController
from master.controllers.deployment import DeploymentController
from master.controllers.endpoints import EndpointsController
from master.controllers.event_ttl import EventTTLController
from master.controllers.garbage_collector import GarbageCollector
from master.controllers.hpa import HorizontalPodAutoscalerController
from master.controllers.informers import InformerFactory
from master.controllers.job import JobController
from master.controllers.leading import start_when_leading
from master.controllers.load_balancer import LoadBalancerController
from master.controllers.namespace import NamespaceController
from master.controllers.node_lifecycle import NodeLifecycleController
from master.controllers.persistentvolume import PersistentVolumeController
from master.controllers.replicaset import ReplicaSetController, ReplicationControllerController
from master.controllers.serviceaccounts import ServiceAccountsController
from master.controllers.statefulset import StatefulSetController
from master.scheduler.scheduler import Scheduler
from master.settings import MasterSettings

log = logging.getLogger(__name__)


def start_all(settings: MasterSettings) -> Callable[[], None]:
    """Start every enabled loop now, or, with leader election, whenever this master leads."""
    if settings.leader_election.enabled:
        return start_when_leading(settings, start_loops)
    return start_loops(settings)


def start_loops(settings: MasterSettings, *, controllers: bool = True, scheduler: bool = True) -> Callable[[], None]:
    """Start the controllers and/or the scheduler (one informer factory for both); return their stop."""
    # One line per API call would drown the log (and cost time at a thousand pods).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    loops = settings.controllers
    client = ApiClient(config.load(settings.loopback_kubeconfig), user_agent="kajitori-controller-manager")
    factory = InformerFactory(client)
    recorder = EventRecorder(client, "controller-manager")
    ctx = LoopContext(client=client, informers=factory, recorder=recorder, settings=loops)
    # (enabled?, the loop's class) in start order; every class takes the shared context.
    loop_table: list[tuple[bool, Callable[[LoopContext], Any]]] = [
        (loops.replicaset, ReplicaSetController),
        (loops.replicationcontroller, ReplicationControllerController),
        (loops.deployment, DeploymentController),
        (loops.daemonset, DaemonSetController),
        (loops.job, JobController),
        (loops.cronjob, CronJobController),
        (loops.statefulset, StatefulSetController),
        (loops.horizontal_pod_autoscaler, lambda c: HorizontalPodAutoscalerController(c, sync_period_s=c.settings.hpa_sync_period_s)),
        (loops.persistentvolume, PersistentVolumeController),
        (loops.endpoints, EndpointsController),
        (loops.load_balancer, LoadBalancerController),
        (loops.node_lifecycle, NodeLifecycleController),
        (loops.garbage_collector, GarbageCollector),
        (loops.namespace, NamespaceController),
        (loops.event_ttl, EventTTLController),
        (loops.serviceaccount, ServiceAccountsController),
        (loops.clusterrole_aggregation, ClusterRoleAggregationController),
        (loops.csr_approving, CSRApprovingController),
        (loops.bootstrap_token_cleaner, BootstrapTokenCleaner),
        (loops.csr_signing, lambda ctx: CSRSigningController(ctx, pki=settings.data_dir / "pki")),
    ]
    running = [make(ctx).controller for enabled, make in loop_table if enabled and controllers]
    scheduling = None
    if loops.scheduler and scheduler:
        scheduler_ctx = LoopContext(
            client=client, informers=factory, recorder=EventRecorder(client, "default-scheduler"), settings=loops
        )
        scheduling = Scheduler(scheduler_ctx, percentage_of_nodes_to_score=loops.percentage_of_nodes_to_score)
    factory.start()
    for controller in running:
        controller.start()
    if scheduling is not None:
        scheduling.start()
    log.info("started %d controller(s)%s", len(running), " and the scheduler" if scheduling else "")

    def stop() -> None:
        if scheduling is not None:
            scheduling.stop()
        for controller in running:
            controller.stop()
        factory.stop()
        client.close()

    return stop

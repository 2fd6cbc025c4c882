"""The master's control loops (controllers and scheduler), started beside the API server: ``start_all(settings)``.

Every loop is a client of the API like any other (it could run in its own process):
the controllers run as ``system:kube-controller-manager`` and the scheduler as
``system:kube-scheduler``, each with its own certificate of the cluster CA
(``MasterSettings.component_kubeconfig``), its own ApiClient, shared informers and
event recorder, and only the rights RBAC gives that user (``master.apiserver.authz.defaults``).
Each loop enabled in ``settings.controllers`` is built, then the informers start, then
each loop's workers start once the caches it reads have synced. ``start_all`` returns the function that stops them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kajitori import config
from kajitori.client import ApiClient
from kajitori.events import EventRecorder
from master.controllers.bootstrap_signer import BootstrapSigner
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
    """Start the controllers and/or the scheduler, each on its own identity; return their stop."""
    # One line per API call would drown the log (and cost time at a thousand pods).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stops: list[Callable[[], None]] = []
    if controllers:
        stops.append(start_controllers(settings))
    if scheduler and settings.controllers.scheduler:
        stops.append(start_scheduler(settings))

    def stop() -> None:
        for each in reversed(stops):
            each()

    return stop


def start_controllers(settings: MasterSettings) -> Callable[[], None]:
    """The controllers as ``system:kube-controller-manager`` (its own client and informers, as its own process would)."""
    loops = settings.controllers
    client = ApiClient(config.load(settings.component_kubeconfig("controller-manager")), user_agent="kajitori-controller-manager")
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
        (loops.bootstrap_signer, BootstrapSigner),
        (loops.csr_signing, lambda ctx: CSRSigningController(ctx, pki=settings.data_dir / "pki")),
    ]
    running = [make(ctx).controller for enabled, make in loop_table if enabled]
    factory.start()
    for controller in running:
        controller.start()
    log.info("started %d controller(s)", len(running))

    def stop() -> None:
        for controller in running:
            controller.stop()
        factory.stop()
        client.close()

    return stop


def start_scheduler(settings: MasterSettings) -> Callable[[], None]:
    """The scheduler as ``system:kube-scheduler``, on its own client and informers."""
    client = ApiClient(config.load(settings.component_kubeconfig("scheduler")), user_agent="kajitori-scheduler")
    factory = InformerFactory(client)
    loops = settings.controllers
    ctx = LoopContext(client=client, informers=factory, recorder=EventRecorder(client, "default-scheduler"), settings=loops)
    scheduling = Scheduler(ctx, percentage_of_nodes_to_score=loops.percentage_of_nodes_to_score)
    factory.start()
    scheduling.start()
    log.info("started the scheduler")

    def stop() -> None:
        scheduling.stop()
        factory.stop()
        client.close()

    return stop

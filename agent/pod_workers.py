"""Pod workers: every pod bound to the node is synced by one worker at a time, pods in parallel.

Keys are `namespace/name`. Anything that may change a pod (its object in the informer, an
event of one of its containers, a probe result, the end of a back-off, the periodic relist)
only adds the key to a de-duplicating work queue; a pool of threads takes keys off it and
calls `PodSyncer.sync` with the pod from the informer's cache. The queue never hands one key
to two threads, so a pod's sync is never concurrent with itself (the kubelet's pod_workers
guarantee), while other pods proceed. A sync that fails (master or runtime unreachable) is
retried with the queue's per-key back-off; a sync that asks for a later look (a back-off
ends) is re-added after that delay. A key whose pod left the cache needs no worker: the
housekeeping loop removes what is left of it.

The loop is the one every controller runs (``kajitori.controller.Controller``): `_reconcile`
is its reconcile, a later look is a ``Requeue``, and runtime errors are its transient errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.pod_sync import PodSyncer
from agent.runtime import ContainerRuntimeError
from kajitori.api.core import Pod
from kajitori.controller import Controller, Requeue
from kajitori.informer import Informer
from kajitori.workqueue import WorkQueue

UID_INDEX = "uid"


class PodWorkers:
    def __init__(
        self, syncer: PodSyncer, informer: Informer[Pod], *, workers: int = 16, observe: Callable[[Pod, float], None] | None = None
    ) -> None:
        self.syncer = syncer
        self.observe = observe
        """Told of each completed sync and its seconds (the agent's metrics)."""
        self.informer = informer
        self.queue = WorkQueue(base_delay_s=0.5, max_delay_s=30.0, qps=100.0, burst=200)
        self.controller = Controller(
            "pod-worker", self._reconcile, workers=workers, queue=self.queue, transient=(ContainerRuntimeError,)
        )
        informer.add_index(UID_INDEX, lambda pod: [pod.metadata.uid or ""])

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def wake(self, key: str) -> None:
        self.queue.add(key)

    def wake_uid(self, uid: str) -> None:
        for pod in self.informer.by_index(UID_INDEX, uid):
            self.queue.add(f"{pod.metadata.namespace}/{pod.metadata.name}")

    def wake_all(self) -> None:
        for key in list(self.informer.keys()):
            self.queue.add(key)

    def _reconcile(self, key: str) -> None:
        pod = self.informer.get(key)
        if pod is None:
            return
        started = time.perf_counter()
        again = self.syncer.sync(pod)
        if self.observe is not None:
            self.observe(pod, time.perf_counter() - started)
        if again is not None:
            # The sync succeeded: its past failures are forgotten even though it looks again later.
            self.queue.forget(key)
            raise Requeue(again)

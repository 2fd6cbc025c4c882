"""The controller loop: informers feed keys into a work queue, workers reconcile them.

``reconcile(key)`` is level-triggered and idempotent: it reads the informers' caches,
compares desired with observed state, and writes through the API client. Its outcome
decides what happens to the key:

- returns normally: done, the key's backoff is forgotten;
- raises ``Requeue(after_s)``: look again later without counting a failure (waiting
  for something expected, such as a grace period);
- raises one of the loop's ``transient`` errors (its external system is unreachable) or
  an ``ApiError``: one warning line, retried with the key's exponential backoff;
- raises anything else: logged with its traceback and retried the same way.

No object can stop a worker: whatever escapes the bookkeeping too (a requeue the queue
refuses) is logged and the key retried with backoff, and the worker takes the next key.

Workers start only after every informer has synced, so a reconcile never acts on
a half-filled cache. A bad spec is not an exception: the reconciler records a Warning
Event on the object and returns, and the object's next change wakes it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from kajitori.client import ApiError, ConflictError
from kajitori.seams import Synced
from kajitori.workqueue import WorkQueue

log = logging.getLogger(__name__)


class Requeue(Exception):
    def __init__(self, after_s: float) -> None:
        super().__init__(f"requeue after {after_s}s")
        self.after_s = after_s


class Controller:
    def __init__(
        self,
        name: str,
        reconcile: Callable[[str], None],
        *,
        informers: Iterable[Synced] = (),
        workers: int = 1,
        queue: WorkQueue | None = None,
        transient: tuple[type[Exception], ...] = (),
    ) -> None:
        self.name = name
        self.transient = transient
        self.reconcile = reconcile
        self.informers = list(informers)
        self.workers = workers
        self.queue = (queue if queue is not None else WorkQueue()).named(name)  # an empty WorkQueue is falsy (len 0)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    def start(self) -> Controller:
        t = threading.Thread(target=self._start_workers, name=f"{self.name}-start", daemon=True)
        t.start()
        return self

    def _start_workers(self) -> None:
        for informer in self.informers:
            while not informer.wait_synced(1.0):
                if self._stop.is_set():
                    return
        log.info("%s: caches synced, starting %d worker(s)", self.name, self.workers)
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.queue.shutdown()

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                self.process(key)
            finally:
                self.queue.done(key)

    def process(self, key: str) -> None:
        """One reconcile with the queue bookkeeping (also what tests call); never raises."""
        try:
            self._process(key)
        except Exception:
            log.exception("%s: %s: handling the outcome of its reconcile failed", self.name, key)
            self.queue.add_rate_limited(key)

    def _process(self, key: str) -> None:
        try:
            self.reconcile(key)
            self.queue.forget(key)
        except Requeue as req:
            self.queue.add_after(key, req.after_s)
        except ConflictError:
            # Our cache was stale; the watch will bring the new version, so retry soon.
            log.debug("%s: %s: conflict, retrying", self.name, key)
            self.queue.add_rate_limited(key)
        except ApiError as exc:
            log.warning("%s: %s: API error %s: %s (retry %d)", self.name, key, exc.code, exc.message, self.queue.failures(key) + 1)
            self.queue.add_rate_limited(key)
        except self.transient as exc:
            log.warning("%s: %s: %s (retry %d)", self.name, key, exc, self.queue.failures(key) + 1)
            self.queue.add_rate_limited(key)
        except Exception:
            log.exception("%s: reconciling %s failed (retry %d)", self.name, key, self.queue.failures(key) + 1)
            self.queue.add_rate_limited(key)

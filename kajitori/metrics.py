"""Process-wide Prometheus metrics of the components a process runs (work queues, scheduler).

``COMPONENTS`` is one registry per process: the scheduler registers its counters here at
import, and the work queues are read at scrape time (``named_queues()``), so a queue's
bookkeeping costs two integer increments and nothing else. The master's ``/metrics``
(``master/apiserver/metrics.py``) serves this registry after the API server's own.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kajitori.workqueue import named_queues

# Go's client_golang writes no *_created samples; neither do we (kube-apiserver's text has none).
disable_created_metrics()
COMPONENTS = CollectorRegistry(auto_describe=True)


class WorkQueueCollector(Collector):
    """client-go's work-queue metrics, by queue name (the controller's)."""

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue", labels=["name"])
        adds = CounterMetricFamily("workqueue_adds_total", "Total number of adds handled by workqueue", labels=["name"])
        retries = CounterMetricFamily("workqueue_retries_total", "Total number of retries handled by workqueue", labels=["name"])
        for queue in sorted(named_queues(), key=lambda q: q.name):
            depth.add_metric([queue.name], len(queue))
            adds.add_metric([queue.name], queue.adds)
            retries.add_metric([queue.name], queue.retries)
        yield from (depth, adds, retries)

    def describe(self) -> Iterator[Metric]:
        return iter(())


COMPONENTS.register(WorkQueueCollector())

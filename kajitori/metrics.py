"""Process-wide Prometheus metrics of the components a process runs (work queues, scheduler).

``COMPONENTS`` is one registry per process: the scheduler registers its counters here at
import, and the work queues are read at scrape time (``named_queues()``), so a queue's
bookkeeping costs two integer increments and nothing else. The master's ``/metrics``
(``master/apiserver/metrics.py``) serves this registry after the API server's own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from kajitori.workqueue import named_queues

# Go's client_golang writes no *_created samples; neither do we (kube-apiserver's text has none).
disable_created_metrics()
COMPONENTS = CollectorRegistry(auto_describe=True)


def cumulative_buckets(bounds: Sequence[float], counts: Sequence[float]) -> list[tuple[str, float]]:
    """A histogram's ``le`` buckets as Prometheus writes them (cumulative, the bound as Go
    formats it) from a count per bucket, the last one for +Inf."""
    cumulative, buckets = 0.0, []  # float: prometheus_client writes counts as floats
    for bound, in_bucket in zip([*bounds, float("inf")], counts, strict=True):
        cumulative += in_bucket
        buckets.append((floatToGoString(bound), cumulative))
    return buckets


class Histogram:
    """A count per bucket and a sum, observed with a bisect and two adds (no lock: the
    caller's), turned into Prometheus' buckets only when scraped."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0.0] * (len(buckets) + 2)  # per bucket (the last +Inf), then the sum

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.buckets, seconds)] += 1
        self.counts[-1] += seconds

    @property
    def sum(self) -> float:
        return self.counts[-1]

    def samples(self) -> tuple[list[tuple[str, float]], float]:
        """The cumulative buckets and the sum, for ``HistogramMetricFamily.add_metric``."""
        return cumulative_buckets(self.buckets, self.counts[:-1]), self.counts[-1]


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

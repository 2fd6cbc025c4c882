"""The master's resource-metrics scraper: every Ready node's agent, every resolution period, as metrics-server.

Each period (``--metric-resolution``, 15 s by default, metrics-server's default) the
scraper reads the Nodes from the store, and for each Ready one gets its agent's
``/metrics/resource`` through the node proxy's link (the node's InternalIP and kubelet
port, its published certificate, the master's kubelet client certificate: what logs and exec use), all nodes at
once, each bounded by a timeout shorter than the period. The answers go into the
``UsageStore`` the metrics.k8s.io API serves from; a node that is gone or not Ready is
forgotten, one that fails to answer keeps its last samples until it is forgotten (its
rate simply ages, as metrics-server keeps serving its last good point).

It runs as a task on the API server's event loop (started with the app), so it reads the
store as the request handlers do and holds no thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kajitori.api.registry import by_path
from master.apiserver import errors
from master.apiserver.node_proxy import NodeProxy
from master.apiserver.resources import ResourceAPI
from master.resource_usage import ParseError, UsageStore, parse

log = logging.getLogger(__name__)

NODES = by_path("", "v1", "nodes")
DEFAULT_RESOLUTION_S = 15.0


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class MetricsScraper:
    def __init__(self, api: ResourceAPI, proxy: NodeProxy, usage: UsageStore, *, resolution_s: float = DEFAULT_RESOLUTION_S) -> None:
        self.api = api
        self.proxy = proxy
        self.usage = usage
        self.resolution_s = resolution_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Callable[[], Awaitable[None]]:
        """Start scraping on the running loop; return the stop (ServerState.background)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="metrics-scraper")
        return self.stop

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.scrape_once()
            except Exception:  # one bad round must not end the scraping
                log.exception("scraping the nodes' resource metrics failed")
            await asyncio.sleep(max(0.0, self.resolution_s - (time.monotonic() - started)))

    async def scrape_once(self) -> None:
        items, _ = self.api.store.list(NODES.collection, None)
        ready = [n.obj for n in items if is_ready(n.obj)]
        self.usage.forget({str(n["metadata"]["name"]) for n in ready})
        await asyncio.gather(*(self._scrape(node) for node in ready))

    async def _scrape(self, node: dict[str, Any]) -> None:
        name = str(node["metadata"]["name"])
        try:
            base, client = self.proxy.node_agent(node)
            answer = await client.get(
                f"{base}/metrics/resource", headers=self.proxy.headers, timeout=max(1.0, min(10.0, self.resolution_s * 0.8))
            )
            if answer.status_code != 200:
                log.info("node %s answered %d to its resource metrics scrape", name, answer.status_code)
                return
            self.usage.record(name, parse(answer.text, now=time.time()))
        except errors.ApiError as exc:  # no address or certificate published (a hollow node): nothing to scrape
            log.debug("no resource metrics from node %s: %s", name, exc)
        except ParseError as exc:
            log.info("no resource metrics from node %s: %s", name, exc)
        except Exception as exc:  # the agent unreachable, a timeout: its last samples stay
            log.info("scraping node %s failed: %s", name, type(exc).__name__ if not str(exc) else exc)

"""Where the API's writes run with a store across the network: side by side, so one stuck write
holds only itself, and one at a time only within a kind whose strategy allocates."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from kajitori.api.registry import by_path
from master.apiserver.errors import ApiError
from master.apiserver.resources import ResourceAPI
from master.apiserver.writes import Writes
from master.store import Fence, SQLiteStore

PODS = by_path("", "v1", "pods")
LEASES = by_path("coordination.k8s.io", "v1", "leases")
SERVICES = by_path("", "v1", "services")
LIMIT_S = 30.0  # only keeps a broken run from hanging


def test_a_stuck_write_does_not_hold_the_writes_of_others() -> None:
    release = threading.Event()

    def stuck(resource: object) -> str:
        release.wait(LIMIT_S)
        return "stuck"

    async def scenario() -> None:
        writes = Writes(own_thread=True)
        try:
            first = asyncio.ensure_future(writes.run(stuck, PODS))
            # A Lease renewal and another pod's write go through while the first write hangs.
            assert await asyncio.wait_for(writes.run(lambda r: "lease", LEASES), LIMIT_S) == "lease"
            assert await asyncio.wait_for(writes.run(lambda r: "pod", PODS), LIMIT_S) == "pod"
            assert not first.done()
            release.set()
            assert await first == "stuck"
        finally:
            release.set()
            writes.close()

    asyncio.run(scenario())


class SlowCreates(SQLiteStore):
    """The real store, with each create taking a while (etcd's round trip): allocations that
    were not one at a time would all read the same taken addresses."""

    def create(self, key: str, obj: dict[str, Any], *, fence: Fence | None = None) -> Any:
        time.sleep(0.05)
        return super().create(key, obj, fence=fence)


def test_of_services_created_at_once_asking_one_cluster_ip_only_one_gets_it(tmp_path: Path) -> None:
    api = ResourceAPI(SlowCreates(tmp_path / "state.db"))
    api.create(by_path("", "v1", "namespaces"), None, {"metadata": {"name": "default"}})

    async def scenario() -> list[Any]:
        writes = Writes(own_thread=True)
        try:
            body = {"spec": {"clusterIP": "10.96.100.100", "ports": [{"port": 80}]}}
            return await asyncio.gather(
                *(writes.run(api.create, SERVICES, "default", {**body, "metadata": {"name": f"s{i}"}}) for i in range(8)),
                return_exceptions=True,
            )
        finally:
            writes.close()

    results = asyncio.run(scenario())
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(created) == 1 and len(refused) == 7, results
    assert all(r.code == 422 and "already allocated" in str(r) for r in refused)

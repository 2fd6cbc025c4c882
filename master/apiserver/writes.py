"""Where the API's writes run: on the event loop, or on a pool of writer threads.

With the embedded SQLite store a write is memory plus one local fsync, so it runs on
the loop like everything else. With etcd a write is a network round trip and etcd's
own fsync, then a wait until this master's cache has seen it: run on the loop, every
get, list and watch event of the master would queue behind it. So those writes run on
writer threads, and reads and watch fan-out go on while etcd works.

Writes run side by side: each is one compare-and-swap transaction in etcd, so two writes
of one object never lose each other, and a write that hangs (a member that answers
nothing, until the client's timeout moves it on) holds only its own request. It once was
ONE writer thread, and one stuck write held every write of the master, Lease renewals
included, for up to 20 s. What still needs one-at-a-time is the allocators' check-then-store
(a Service's ClusterIP and NodePorts, a Node's pod CIDR are picked from what is stored):
writes of a kind whose strategy ``allocates`` take that kind's lock, on the loop, so a
waiting write holds no thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kajitori.api.registry import Resource
from master.apiserver.strategies import strategy_for

T = TypeVar("T")

WRITER_THREADS = 16


class Writes:
    def __init__(self, *, own_thread: bool, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="api-writes") if own_thread else None
        self._kind_locks: dict[str, asyncio.Lock] = {}

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._pool is None:
            return fn(*args, **kwargs)
        # The request's context (its user, for admission) goes along to the writer thread.
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        lock = self._lock_for(args[0] if args else None)
        if lock is None:
            return await loop.run_in_executor(self._pool, call)
        async with lock:
            return await loop.run_in_executor(self._pool, call)

    def _lock_for(self, resource: object) -> asyncio.Lock | None:
        """The lock of an allocating kind (writes of one kind that picks from what is stored), else None."""
        if not isinstance(resource, Resource) or not strategy_for(resource).allocates:
            return None
        return self._kind_locks.setdefault(resource.kind, asyncio.Lock())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

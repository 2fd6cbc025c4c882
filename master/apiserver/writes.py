"""Where the API's writes run: on the event loop, or on one thread of their own.

With the embedded SQLite store a write is memory plus one local fsync, so it runs on
the loop like everything else. With etcd a write is a network round trip and etcd's
own fsync, then a wait until this master's cache has seen it: run on the loop, every
get, list and watch event of the master would queue behind it. So those writes run on
ONE writer thread: reads and watch fan-out go on while etcd works, and writes still
happen one after another, in the order the loop handed them over, exactly as on the
loop (the allocators' check-then-store relies on that within a master).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Writes:
    def __init__(self, *, own_thread: bool) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="api-writes") if own_thread else None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._pool is None:
            return fn(*args, **kwargs)
        # The request's context (its user, for admission) goes along to the writer thread.
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(context.run, fn, *args, **kwargs))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

"""WebSocket stream upgrades refused a moment ago, so kubectl's SPDY retry reads the same reason.

kubectl 1.30 and later fall back to a SPDY ``POST`` of the very same URL whenever a
WebSocket upgrade is refused, whatever the reason, and print the answer to that second
request. SPDY is not served, so without this the user would read "use a newer kubectl"
instead of ``container not found ("x")``. A refusal is kept for a few seconds, keyed by
the client's address and the URL, and handed out once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from master.apiserver.errors import ApiError

KEEP_S = 30.0
MAX_KEPT = 1024


class RecentRefusals:
    def __init__(self, *, keep_s: float = KEEP_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._keep_s = keep_s
        self._clock = clock
        self._kept: dict[tuple[str, str], tuple[float, ApiError]] = {}

    def remember(self, client: str, url: str, error: ApiError) -> None:
        now = self._clock()
        if len(self._kept) >= MAX_KEPT:
            self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
        self._kept[(client, url)] = (now + self._keep_s, error)

    def recall(self, client: str, url: str) -> ApiError | None:
        kept = self._kept.pop((client, url), None)
        if kept is None or kept[0] < self._clock():
            return None
        return kept[1]

"""Commands: rollout (filled in by its issue)."""

from __future__ import annotations

from kajitori.cli.main import app  # noqa: F401

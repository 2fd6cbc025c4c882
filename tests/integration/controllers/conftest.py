"""A master WITH its controllers and scheduler per test, and hollow nodes whose heartbeats the test controls
(the fixtures live in tests/support/cluster.py, shared with the CLI's tests)."""

from __future__ import annotations

from tests.support.cluster import client, cluster_master, hollow, wait_for

__all__ = ["client", "cluster_master", "hollow", "wait_for"]

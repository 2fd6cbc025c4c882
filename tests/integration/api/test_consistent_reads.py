"""Reads without a resourceVersion are consistent across masters (issue 12; KEP-2340).

Two real masters share one real etcd. A write acknowledged by master A must be visible in
an immediate GET and LIST through master B, although B serves reads from a cache fed by
its own etcd watch: B first takes etcd's current revision and waits until its cache has
reached it. Before that, B's cache could lag A's acknowledgement by the time its watch
took to deliver the write, and a read in between missed it.

A read with resourceVersion=0 stays served from the cache at once (it may be stale, as
in Kubernetes); a read naming a revision B has not reached waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kajitori.client import ApiClient, ApiError, NotFoundError
from tests.support.etcd_process import EtcdProcess
from tests.support.ha_cluster import two_masters_on_one_etcd
from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration

WRITES = 200
NAMESPACE = "default"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


@dataclass
class TwoMasters:
    etcd: EtcdProcess
    a: MasterProcess
    b: MasterProcess


@pytest.fixture
def two(tmp_path: Path) -> Iterator[TwoMasters]:
    with two_masters_on_one_etcd(tmp_path) as (etcd, a, b):
        yield TwoMasters(etcd, a, b)


def config_map(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": name}}


def listed(client: ApiClient, params: dict[str, str] | None = None) -> set[str]:
    body = client.request("GET", CONFIGMAPS, params=params)
    return {item["metadata"]["name"] for item in body.get("items") or []}


def test_a_write_through_one_master_is_read_at_once_through_the_other(two: TwoMasters) -> None:
    a, b = two.a.client(), two.b.client()
    missed_get: list[str] = []
    missed_list: list[str] = []
    stale_value: list[str] = []
    try:
        for i in range(WRITES):
            name = f"cr-{i}"
            created = a.request("POST", CONFIGMAPS, body=config_map(name))
            try:
                got = b.request("GET", f"{CONFIGMAPS}/{name}")
            except NotFoundError:
                missed_get.append(name)
            else:
                if got["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]:
                    stale_value.append(name)
            if name not in listed(b):
                missed_list.append(name)
            # An update through A, then B's GET must show the new value (not the created one).
            updated = a.request(
                "PUT",
                f"{CONFIGMAPS}/{name}",
                body={
                    **config_map(name),
                    "data": {"n": "changed"},
                    "metadata": {"name": name, "resourceVersion": created["metadata"]["resourceVersion"]},
                },
            )
            try:
                after = b.request("GET", f"{CONFIGMAPS}/{name}")
                if after["metadata"]["resourceVersion"] != updated["metadata"]["resourceVersion"]:
                    stale_value.append(name + " (update)")
            except NotFoundError:
                missed_get.append(name + " (update)")
        print(
            f"{WRITES} writes through A: GET through B missed {len(missed_get)}, LIST missed {len(missed_list)}, GET stale {len(stale_value)}"
        )
        assert (missed_get, missed_list, stale_value) == ([], [], [])
    finally:
        a.close()
        b.close()


def test_resource_version_0_is_served_from_the_cache_and_a_newer_one_waits(two: TwoMasters) -> None:
    a, b = two.a.client(), two.b.client()
    try:
        created = a.request("POST", CONFIGMAPS, body=config_map("rv-check"))
        rv = int(created["metadata"]["resourceVersion"])
        # "0": any state is fine; it answers (from the cache) whatever it has.
        b.request("GET", CONFIGMAPS, params={"resourceVersion": "0"})
        # Not older than the write's revision: B waits for its cache, then it holds the write.
        assert "rv-check" in listed(b, {"resourceVersion": str(rv), "resourceVersionMatch": "NotOlderThan"})
        got = b.request("GET", f"{CONFIGMAPS}/rv-check", params={"resourceVersion": str(rv)})
        assert got["metadata"]["resourceVersion"] == str(rv)
        # A revision etcd has not reached yet: 504 Too large resource version, after the wait.
        with pytest.raises(ApiError) as too_large:
            b.request(
                "GET",
                CONFIGMAPS,
                params={"resourceVersion": str(rv + 100_000), "resourceVersionMatch": "NotOlderThan"},
            )
        assert too_large.value.code == 504 and "Too large resource version" in str(too_large.value)
        assert [c.get("reason") for c in too_large.value.causes] == ["ResourceVersionTooLarge"]  # kube-apiserver's cause
    finally:
        a.close()
        b.close()

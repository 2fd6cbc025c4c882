"""python_gc_duration_seconds: every collector pass is counted under its generation, with its length."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry, generate_latest

from kajitori.gc_pauses import GCPauses


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    found = {}
    for family in registry.collect():
        for sample in family.samples:
            found[sample.name, sample.labels.get("generation", "") + "/" + sample.labels.get("le", "")] = sample.value
    return found


def test_a_full_pass_is_counted_with_its_length() -> None:
    registry = CollectorRegistry()
    pauses = GCPauses().install(registry)
    try:
        garbage = []
        for _ in range(2000):  # cycles, so the pass has something to walk and free
            node: list[object] = []
            node.append(node)
            garbage.append(node)
        del garbage, node
        gc.collect()
        gc.collect()
        found = samples(registry)
        text = generate_latest(registry)
    finally:
        pauses.uninstall(registry)
    assert found["python_gc_duration_seconds_count", "2/"] >= 2
    assert found["python_gc_duration_seconds_sum", "2/"] > 0
    # cumulative buckets end at the count
    assert found["python_gc_duration_seconds_bucket", "2/+Inf"] == found["python_gc_duration_seconds_count", "2/"]
    assert b'python_gc_duration_seconds_count{generation="2"}' in text
    # uninstalled: no longer counted
    before = pauses.generations[2].sum
    gc.collect()
    assert pauses.generations[2].sum == before

"""The scraper's arithmetic (master.resource_usage) on recorded /metrics/resource answers: CPU is the rate between
two samples' own timestamps, a restart or a counter going back starts over, a half-measured pod is not reported."""

from __future__ import annotations

from agent.resource_stats import ContainerSample, NodeSample, ResourceSampler
from master.resource_usage import UsageStore, cpu_quantity, memory_quantity, node_metrics, parse, pod_metrics

T0 = 1_700_000_000.0


def answer(node_cpu: float, containers: list[tuple[str, str, float, int, float]], at: float) -> str:
    """A recorded agent answer: containers as (pod, container, cpu seconds, memory, started)."""
    samples = [ContainerSample("default", pod, c, cpu, mem, started, at) for pod, c, cpu, mem, started in containers]
    sampler = ResourceSampler(lambda: samples, lambda: NodeSample(node_cpu, 2 * 1024**3, at))
    sampler.sample_once()
    return sampler.text().decode()


def test_cpu_is_the_rate_between_the_samples_timestamps_not_the_scrapes() -> None:
    store = UsageStore()
    store.record("n1", parse(answer(100.0, [("web", "app", 10.0, 50 * 1024**2, T0 - 60)], T0), now=T0 + 99))
    assert store.nodes() == {} and store.pods() == {}  # one sample is no rate
    store.record("n1", parse(answer(103.0, [("web", "app", 10.5, 60 * 1024**2, T0 - 60)], T0 + 10), now=T0 + 500))
    node = store.nodes()["n1"]
    assert (round(node.cpu_cores, 6), node.window, node.memory_bytes) == (0.3, 10.0, 2 * 1024**3)
    app = store.pods()[("default", "web")]["app"]
    assert (round(app.cpu_cores, 6), app.memory_bytes, app.at) == (0.05, 60 * 1024**2, T0 + 10)


def test_the_same_sample_scraped_twice_keeps_the_last_real_pair() -> None:
    store = UsageStore()
    for at, cpu in ((T0, 10.0), (T0 + 10, 12.0), (T0 + 10, 12.0)):
        store.record("n1", parse(answer(0, [("web", "app", cpu, 1, T0 - 60)], at), now=at))
    assert round(store.pods()[("default", "web")]["app"].cpu_cores, 6) == 0.2


def test_a_restarted_container_or_a_counter_going_back_has_no_rate_until_its_next_sample() -> None:
    store = UsageStore()
    store.record("n1", parse(answer(0, [("web", "app", 10.0, 1, T0 - 60), ("web", "side", 5.0, 1, T0 - 60)], T0), now=T0))
    # app restarted (new start time, counter from zero): the pod is half-measured, so not reported
    store.record("n1", parse(answer(0, [("web", "app", 0.2, 1, T0 + 5), ("web", "side", 6.0, 1, T0 - 60)], T0 + 10), now=T0))
    assert store.pods() == {}
    store.record("n1", parse(answer(0, [("web", "app", 1.2, 1, T0 + 5), ("web", "side", 7.0, 1, T0 - 60)], T0 + 20), now=T0))
    assert {c: round(u.cpu_cores, 6) for c, u in store.pods()[("default", "web")].items()} == {"app": 0.1, "side": 0.1}
    store.record("n1", parse(answer(0, [("web", "app", 0.5, 1, T0 + 5), ("web", "side", 8.0, 1, T0 - 60)], T0 + 30), now=T0))
    assert store.pods() == {}  # the counter went back: no rate


def test_nodes_not_kept_are_forgotten_and_containers_gone_from_a_node_too() -> None:
    store = UsageStore()
    for at in (T0, T0 + 10):
        store.record("n1", parse(answer(at - T0, [("web", "app", at - T0, 1, 0)], at), now=at))
        store.record("n2", parse(answer(at - T0, [], at), now=at))
    store.record("n1", parse(answer(30, [], T0 + 20), now=T0 + 20))
    assert store.pods() == {}
    store.forget({"n1"})
    assert set(store.nodes()) == {"n1"}


def test_metrics_objects_use_metrics_servers_units() -> None:
    assert cpu_quantity(0.25) == "250000000n" and memory_quantity(10 * 1024**2 + 5) == "10240Ki"
    store = UsageStore()
    for at in (T0, T0 + 15):
        store.record("n1", parse(answer((at - T0) * 0.5, [("web", "app", (at - T0) * 0.1, 4096, 0)], at), now=at))
    node = node_metrics("n1", store.nodes()["n1"], {"a": "b"}, T0 + 16)
    assert node["usage"] == {"cpu": "500000000n", "memory": "2097152Ki"} and node["window"] == "15s"
    assert node["timestamp"] == "2023-11-14T22:13:35Z" and node["metadata"]["labels"] == {"a": "b"}
    pod = pod_metrics("default", "web", store.pods()[("default", "web")], None, T0 + 16)
    assert pod["containers"] == [{"name": "app", "usage": {"cpu": "100000000n", "memory": "4Ki"}}]

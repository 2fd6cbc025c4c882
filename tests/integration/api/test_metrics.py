"""The master's /metrics in Prometheus text, read as an operator reads it (issue 11).

A master with its controllers and scheduler: `kubectl get --raw /metrics` (1.32, 1.33)
answers kube-apiserver's metric names — requests by verb, resource and code with their
latency histogram, stored objects per resource, open watches — and the components' work
queues and scheduling attempts; without a token it is a 401 Status like every other path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.master_process import MasterProcess
from tests.support.processes import PROCESS_TIMEOUT_S

pytestmark = pytest.mark.integration


def _kubectl_dir() -> Path | None:
    found = shutil.which("kubectl")
    return Path(os.path.realpath(found)).parent if found else None


KUBECTLS = [v for v in ("1.32", "1.33") if (d := _kubectl_dir()) and (d / f"kubectl.{v}").exists()]


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterProcess]:
    """A master with its controllers and scheduler (their work queues and attempts are measured)."""
    proc = MasterProcess(tmp_path_factory.mktemp("metrics-master")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(master: MasterProcess) -> Iterator[httpx.Client]:
    token = master.client().config.token
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, timeout=20, verify=master.tls()) as client:
        yield client


def sample(text: str, metric: str, /, **labels: str) -> float | None:
    """The value of the sample with exactly these labels among its own (others may be there too)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != metric:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return None


def metrics(http: httpx.Client) -> str:
    r = http.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def wait_for_sample(http: httpx.Client, metric: str, /, **labels: str) -> float:
    """The sample's value once it is at least 1 (a count that something happened)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while time.monotonic() < deadline:
        value = sample(metrics(http), metric, **labels)
        if value is not None and value >= 1:
            return value
        time.sleep(0.2)
    raise AssertionError(f"no {metric} {labels} of at least 1 in /metrics")


def test_metrics_need_a_token(master: MasterProcess) -> None:
    r = httpx.get(f"{master.url}/metrics", verify=master.tls())
    assert r.status_code == 401 and r.json()["kind"] == "Status"


def test_requests_and_storage_are_counted(http: httpx.Client) -> None:
    before = metrics(http)
    listed = sample(before, "apiserver_request_total", verb="LIST", resource="configmaps", code="200") or 0
    stored = sample(before, "apiserver_storage_objects", resource="configmaps")
    assert stored is not None
    assert http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "m1"}, "data": {"a": "1"}}).status_code == 201
    assert http.get("/api/v1/namespaces/default/configmaps").status_code == 200
    assert http.get("/api/v1/namespaces/default/configmaps/nope").status_code == 404
    after = metrics(http)
    # The garbage collector's informer may list ConfigMaps too: ours is one of the new ones.
    assert (sample(after, "apiserver_request_total", verb="LIST", resource="configmaps", subresource="", code="200") or 0) >= listed + 1
    assert (sample(after, "apiserver_request_total", verb="POST", resource="configmaps", code="201") or 0) >= 1
    assert (sample(after, "apiserver_request_total", verb="GET", resource="configmaps", code="404") or 0) >= 1
    assert sample(after, "apiserver_storage_objects", resource="configmaps") == stored + 1
    assert (sample(after, "apiserver_request_duration_seconds_bucket", verb="LIST", resource="configmaps", le="+Inf") or 0) >= 1
    assert sample(after, "apiserver_request_duration_seconds_count", verb="POST", resource="configmaps") is not None
    assert "_created" not in after
    # Paths that are not resources count under resource "", whatever a client asks for.
    assert http.get("/no/such/thing").status_code == 404
    assert "thing" not in metrics(http)


def test_store_operations_are_timed_by_operation_and_type(http: httpx.Client) -> None:
    before = metrics(http)
    created = sample(before, "etcd_request_duration_seconds_count", operation="create", type="configmaps") or 0
    body = {"metadata": {"name": "timed"}, "data": {"a": "1"}}
    assert http.post("/api/v1/namespaces/default/configmaps", json=body).status_code == 201
    assert http.delete("/api/v1/namespaces/default/configmaps/timed").status_code == 200
    assert http.get("/apis/apps/v1/namespaces/default/deployments/nope").status_code == 404
    after = metrics(http)
    assert (sample(after, "etcd_request_duration_seconds_count", operation="create", type="configmaps") or 0) >= created + 1
    assert (sample(after, "etcd_request_duration_seconds_count", operation="delete", type="configmaps") or 0) >= 1
    assert (sample(after, "etcd_request_duration_seconds_bucket", operation="get", type="deployments.apps", le="+Inf") or 0) >= 1
    assert sample(after, "etcd_request_duration_seconds_sum", operation="create", type="configmaps") is not None


def test_open_watches_are_long_running_requests(tmp_master: MasterProcess) -> None:
    # A master without controllers: every open watch is this test's.
    tmp_master.start()
    token = tmp_master.client().config.token
    with httpx.Client(base_url=tmp_master.url, headers={"Authorization": f"Bearer {token}"}, timeout=20, verify=tmp_master.tls()) as http:
        labels = {"verb": "WATCH", "resource": "configmaps"}
        assert sample(metrics(http), "apiserver_longrunning_requests", **labels) is None
        with http.stream("GET", "/api/v1/namespaces/default/configmaps?watch=true") as watch:
            assert watch.status_code == 200
            assert sample(metrics(http), "apiserver_longrunning_requests", **labels) == 1
            assert sample(metrics(http), "apiserver_registered_watchers", group="", version="v1", kind="ConfigMap") == 1
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while sample(metrics(http), "apiserver_longrunning_requests", **labels) != 0:
            assert time.monotonic() < deadline, "the watch never ended on the server"
            time.sleep(0.1)
        assert sample(metrics(http), "apiserver_request_total", code="200", **labels) == 1
        assert sample(metrics(http), "apiserver_registered_watchers", kind="ConfigMap") == 0
        assert sample(metrics(http), "apiserver_request_duration_seconds_count", **labels) is None  # not timed


def test_work_queues_and_scheduler_are_measured(http: httpx.Client) -> None:
    pod = {"metadata": {"name": "waits"}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    assert http.post("/api/v1/namespaces/default/pods", json=pod).status_code == 201
    # No node: the scheduler's attempt is unschedulable.
    assert wait_for_sample(http, "scheduler_schedule_attempts_total", result="unschedulable", profile="default-scheduler") >= 1
    assert wait_for_sample(http, "scheduler_scheduling_attempt_duration_seconds_count", result="unschedulable") >= 1
    deployment = {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}},
        },
    }
    assert http.post("/apis/apps/v1/namespaces/default/deployments", json=deployment).status_code == 201
    assert wait_for_sample(http, "workqueue_adds_total", name="deployment") >= 1
    assert sample(metrics(http), "workqueue_depth", name="deployment") is not None
    assert sample(metrics(http), "workqueue_retries_total", name="replicaset") is not None


def test_garbage_collector_passes_are_timed(http: httpx.Client) -> None:
    # The master collects once at startup, before it freezes what startup built: a full pass.
    assert wait_for_sample(http, "python_gc_duration_seconds_count", generation="2") >= 1
    assert (sample(metrics(http), "python_gc_duration_seconds_sum", generation="2") or 0) > 0
    assert sample(metrics(http), "python_gc_duration_seconds_bucket", generation="0", le="+Inf") is not None


@pytest.mark.skipif(not KUBECTLS, reason="kubectl.1.32 / kubectl.1.33 are not installed")
@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_get_raw_metrics(master: MasterProcess, tmp_path: Path, version: str) -> None:
    binary = _kubectl_dir() / f"kubectl.{version}"  # type: ignore[operator]
    env = {**os.environ, "KUBECONFIG": str(master.kubeconfig), "HOME": str(tmp_path)}
    proc = subprocess.run([str(binary), "get", "--raw", "/metrics"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "# TYPE apiserver_request_total counter" in proc.stdout
    assert "# TYPE apiserver_request_duration_seconds histogram" in proc.stdout
    assert sample(proc.stdout, "apiserver_storage_objects", resource="namespaces") is not None

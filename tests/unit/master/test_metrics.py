"""The API server's request labels and counts (master/apiserver/metrics.py), without a server."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from master.apiserver.metrics import ApiMetrics, request_labels


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "expected"),
    [
        pytest.param("GET", "/api/v1/namespaces/d/pods/p", b"", b"", ("GET", "pods", "", False), id="get"),
        pytest.param("GET", "/api/v1/namespaces/d/pods", b"", b"", ("LIST", "pods", "", False), id="list"),
        pytest.param("GET", "/api/v1/pods", b"watch=true", b"", ("WATCH", "pods", "", True), id="watch"),
        pytest.param("GET", "/api/v1/watch/namespaces/d/pods", b"", b"", ("WATCH", "pods", "", True), id="watch-path"),
        pytest.param("GET", "/api/v1/namespaces", b"", b"", ("LIST", "namespaces", "", False), id="namespaces"),
        pytest.param("PUT", "/api/v1/namespaces/x/status", b"", b"", ("PUT", "namespaces", "status", False), id="namespace-status"),
        pytest.param("DELETE", "/apis/apps/v1/namespaces/d/deployments", b"", b"", ("DELETECOLLECTION", "deployments", "", False), id="deletecollection"),
        pytest.param(
            "PATCH", "/apis/apps/v1/namespaces/d/deployments/x", b"", b"application/apply-patch+yaml", ("APPLY", "deployments", "", False), id="apply"
        ),
        pytest.param("GET", "/api/v1/namespaces/d/pods/x/exec", b"", b"", ("CONNECT", "pods", "exec", True), id="exec"),
        pytest.param("GET", "/api/v1/namespaces/d/pods/x/log", b"follow=true", b"", ("GET", "pods", "log", True), id="log-follow"),
        pytest.param("GET", "/api/v1/namespaces/d/widgets/x", b"", b"", ("GET", "", "", False), id="unknown-resource"),
        pytest.param("GET", "/openapi/v3/api/v1", b"", b"", ("GET", "", "", False), id="non-resource"),
        pytest.param("GET", "/", b"", b"", ("GET", "", "", False), id="root"),
    ],
)
def test_request_labels(method: str, path: str, query: bytes, content_type: bytes, expected: tuple[str, str, str, bool]) -> None:
    assert request_labels(method, path, query, content_type) == expected


class NoStore:
    def list(self, collection: str, namespace: str | None = None) -> tuple[list[object], int]:
        return [], 0


def test_counts_become_kube_apiserver_families() -> None:
    metrics = ApiMetrics(NoStore())  # type: ignore[arg-type]
    metrics.count("GET", "pods", "", 200, 0.003)
    metrics.count("GET", "pods", "", 200, 0.03)
    metrics.count("GET", "pods", "", 404, 100.0)
    metrics.count("WATCH", "pods", "", 200, None)
    families = {f.name: f for f in text_string_to_metric_families(metrics.text().decode())}
    requests = {(s.labels["verb"], s.labels["code"]): s.value for s in families["apiserver_request"].samples}
    assert requests == {("GET", "200"): 2, ("GET", "404"): 1, ("WATCH", "200"): 1}
    buckets = {s.labels["le"]: s.value for s in families["apiserver_request_duration_seconds"].samples if s.name.endswith("_bucket")}
    assert (buckets["0.005"], buckets["0.05"], buckets["60.0"], buckets["+Inf"]) == (1, 2, 2, 3)
    count = [s.value for s in families["apiserver_request_duration_seconds"].samples if s.name.endswith("_count")]
    assert count == [3]
    assert {s.labels["resource"] for s in families["apiserver_storage_objects"].samples} >= {"pods", "deployments.apps"}

"""The commonest invalid objects are refused in Kubernetes' words, at Kubernetes' field paths (issue 11).

Each case is a create through the API of a real master: a 422 Invalid Status whose
``details.causes[].field`` is the path kube-apiserver names, whose cause message is its
words with values quoted as Go quotes them, and whose message reads as kubectl prints it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.master_process import MasterProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def http(master: MasterProcess) -> Iterator[httpx.Client]:
    token = master.client().config.token
    with httpx.Client(base_url=master.url, headers={"Authorization": f"Bearer {token}"}, timeout=20, verify=master.tls()) as client:
        yield client


def _pod_spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "a", "image": "busybox:1"}], **extra}


def _deployment(selector: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": _pod_spec()},
        },
    }


CASES = [
    pytest.param(
        "/api/v1/namespaces/default/pods",
        {"metadata": {"name": "dup"}, "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "c", "image": "y"}]}},
        "spec.containers[1].name",
        'Duplicate value: "c"',
        id="duplicate-container-name",
    ),
    pytest.param(
        "/api/v1/namespaces/default/pods",
        {"metadata": {"name": "dup-init"}, "spec": {"initContainers": [{"name": "c", "image": "x"}], "containers": [{"name": "c", "image": "y"}]}},
        "spec.containers[0].name",
        'Duplicate value: "c"',
        id="init-and-app-container-share-a-name",
    ),
    pytest.param(
        "/api/v1/namespaces/default/pods",
        {"metadata": {"name": "mount"}, "spec": {"containers": [{"name": "c", "image": "x", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}},
        "spec.containers[0].volumeMounts[0].name",
        'Not found: "nope"',
        id="mount-names-no-volume",
    ),
    pytest.param(
        "/api/v1/namespaces/default/pods",
        {"metadata": {"name": "vols"}, "spec": _pod_spec(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}])},
        "spec.volumes[1].name",
        'Duplicate value: "v"',
        id="duplicate-volume",
    ),
    pytest.param(
        "/api/v1/namespaces/default/services",
        {"metadata": {"name": "ports"}, "spec": {"ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}},
        "spec.ports[1].name",
        'Duplicate value: "http"',
        id="duplicate-service-port-name",
    ),
    pytest.param(
        "/apis/apps/v1/namespaces/default/deployments",
        _deployment({"app": "a"}, {"app": "b", "tier": "web"}),
        "spec.template.metadata.labels",
        'Invalid value: map[string]string{"app":"b", "tier":"web"}: `selector` does not match template `labels`',
        id="selector-mismatch",
    ),
    pytest.param(
        "/apis/apps/v1/namespaces/default/deployments",
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "c", "image": "y"}]}},
            },
        },
        "spec.template.spec.containers[1].name",
        'Duplicate value: "c"',
        id="duplicate-container-in-a-template",
    ),
]


@pytest.mark.parametrize(("path", "body", "field", "words"), CASES)
def test_invalid_objects_are_refused_at_their_field(http: httpx.Client, path: str, body: dict[str, Any], field: str, words: str) -> None:
    r = http.post(path, json=body)
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert [(c["field"], c["message"], c["reason"]) for c in status["details"]["causes"]] == [(field, words, "FieldValueInvalid")]
    assert status["message"].endswith(f" is invalid: {field}: {words}")
    assert http.get(f"{path}/{body['metadata']['name']}").status_code == 404

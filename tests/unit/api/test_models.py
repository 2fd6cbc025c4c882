"""API models: Kubernetes' defaults and validation messages that name the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kajitori.api import Deployment, Pod, Secret, Service
from kajitori.api.quantity import cpu_millicores, memory_bytes


def pod(**spec: object) -> dict[str, object]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.22"}], **spec}}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("nginx", "Always", id="no-tag"),
        pytest.param("nginx:latest", "Always", id="latest"),
        pytest.param("nginx:1.22", "IfNotPresent", id="tag"),
        pytest.param("localhost:5000/nginx", "Always", id="registry-port-no-tag"),
        pytest.param("nginx@sha256:abc", "IfNotPresent", id="digest"),
    ],
)
def test_image_pull_policy_defaults_from_the_tag(image: str, policy: str) -> None:
    p = Pod.model_validate({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}})
    assert p.spec.containers[0].imagePullPolicy == policy


def test_pod_defaults() -> None:
    p = Pod.model_validate(pod()).to_dict()
    assert p["spec"]["restartPolicy"] == "Always"
    assert p["spec"]["terminationGracePeriodSeconds"] == 30
    assert p["spec"]["dnsPolicy"] == "ClusterFirst"
    assert p["status"]["phase"] == "Pending"


def test_unknown_fields_are_kept() -> None:
    doc = pod()
    doc["spec"]["priorityClassName"] = "high"  # type: ignore[index]
    assert Pod.model_validate(doc).to_dict()["spec"]["priorityClassName"] == "high"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        pytest.param(
            {"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]},
            None,
            'containers[1].name: Duplicate value: "a"',
            id="duplicate-container",
        ),
        pytest.param(
            {"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]},
            None,
            'containers[0].volumeMounts[0].name: Not found: "v"',
            id="mount-without-volume",
        ),
        pytest.param({"containers": [{"name": "A_b", "image": "x"}]}, ("spec", "containers", 0, "name"), "DNS-1123", id="bad-container-name"),
        pytest.param({"containers": []}, ("spec", "containers"), "at least one container", id="no-containers"),
        pytest.param({"containers": [{"name": "a"}]}, ("spec", "containers", 0, "image"), "Field required", id="missing-image"),
        pytest.param(
            {"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]},
            ("spec", "containers", 0, "ports", 0, "containerPort"),
            "between 1 and 65535",
            id="port-range",
        ),
        pytest.param(
            {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "lots"}}}]},
            ("spec", "containers", 0, "resources", "limits", "cpu"),
            "quantity",
            id="bad-quantity",
        ),
    ],
)
def test_pod_validation_names_the_problem(spec: dict[str, object], field: tuple[object, ...] | None, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        Pod.model_validate({"metadata": {"name": "p"}, "spec": spec})
    error = info.value.errors()[0]
    assert words in str(error["msg"])
    if field is not None:
        assert tuple(error["loc"]) == field


def test_bad_name_and_labels() -> None:
    with pytest.raises(ValidationError, match=r"metadata\.name"):
        Pod.model_validate({**pod(), "metadata": {"name": "Bad_Name"}})
    with pytest.raises(ValidationError, match="label value"):
        Pod.model_validate({**pod(), "metadata": {"name": "p", "labels": {"app": "-x-"}}})
    with pytest.raises(ValidationError, match="label key"):
        Pod.model_validate({**pod(), "metadata": {"name": "p", "labels": {"a b": "x"}}})


def test_service_defaults() -> None:
    s = Service.model_validate({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}).to_dict()
    assert s["spec"]["type"] == "ClusterIP"
    assert s["spec"]["ports"][0] == {"protocol": "TCP", "port": 80, "targetPort": 80}
    assert s["spec"]["sessionAffinity"] == "None"


def test_service_needs_port_names_when_several() -> None:
    with pytest.raises(ValidationError, match=r"ports\[0\]\.name: Required value"):
        Service.model_validate({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": 81}]}})


def test_deployment_defaults_and_selector() -> None:
    doc = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
        },
    }
    d = Deployment.model_validate(doc).to_dict()
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["revisionHistoryLimit"] == 10
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    doc["spec"]["selector"] = {"matchLabels": {"app": "other"}}  # type: ignore[index]
    with pytest.raises(ValidationError, match="`selector` does not match template `labels`"):
        Deployment.model_validate(doc)
    doc["spec"]["selector"] = {"matchLabels": {"app": "web"}}  # type: ignore[index]
    doc["spec"]["replicas"] = -1  # type: ignore[index]
    with pytest.raises(ValidationError) as info:
        Deployment.model_validate(doc)
    assert info.value.errors()[0]["loc"] == ("spec", "replicas")


def test_secret_string_data_is_folded_into_data() -> None:
    s = Secret.model_validate({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}).to_dict()
    assert s["data"] == {"password": "aHVudGVyMg=="}
    assert "stringData" not in s
    with pytest.raises(ValidationError, match="base64"):
        Secret.model_validate({"metadata": {"name": "s"}, "data": {"k": "not base64!"}})


@pytest.mark.parametrize(
    ("text", "millicores"),
    [pytest.param("500m", 500, id="milli"), pytest.param("2", 2000, id="whole"), pytest.param("0.1", 100, id="decimal"), pytest.param(1.5, 1500, id="float")],
)
def test_cpu_quantities(text: str | float, millicores: int) -> None:
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(
    ("text", "n"),
    [pytest.param("128Mi", 128 * 2**20, id="Mi"), pytest.param("1G", 10**9, id="G"), pytest.param("1Gi", 2**30, id="Gi"), pytest.param("1000", 1000, id="bytes")],
)
def test_memory_quantities(text: str, n: int) -> None:
    assert memory_bytes(text) == n

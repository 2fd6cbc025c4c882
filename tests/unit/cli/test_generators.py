"""The objects `create deployment`, `run` and `expose` generate, the label/annotate
decisions, and the api-resources layout: pure functions, no server."""

from __future__ import annotations

import pytest

from cli.discovery_cmd import ApiResource, resource_rows
from cli.generators import (
    container_name_for,
    deployment_for,
    parse_env,
    parse_key_values,
    parse_port,
    parse_protocol,
    parse_replicas,
    parse_restart,
    parse_service_type,
    parse_target_port,
    pod_for,
    service_for,
)
from cli.labels_cmd import ANNOTATION, LABEL, metadata_patch, split_args
from cli.session import CliError
from kajitori.api import Deployment, Pod, Service


def test_deployment_is_kubectls_with_app_label_selector_and_template() -> None:
    d = deployment_for("web", ["nginx:1.22"], replicas=3, port=80)
    assert d["metadata"] == {"creationTimestamp": None, "labels": {"app": "web"}, "name": "web"}
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert d["spec"]["template"]["metadata"]["labels"] == {"app": "web"}
    assert d["spec"]["template"]["spec"]["containers"] == [
        {"image": "nginx:1.22", "name": "nginx", "resources": {}, "ports": [{"containerPort": 80}]}
    ]
    assert d["status"] == {}
    # What the API's model makes of it: a valid Deployment, nothing unknown.
    Deployment.model_validate(d)


def test_deployment_command_and_several_images() -> None:
    d = deployment_for("job", ["busybox"], command=["sh", "-c", "date"], namespace="team")
    assert d["metadata"]["namespace"] == "team"
    assert d["spec"]["template"]["spec"]["containers"][0]["command"] == ["sh", "-c", "date"]
    multi = deployment_for("m", ["busybox:1", "registry:5000/busybox:2", "nginx"])
    assert [c["name"] for c in multi["spec"]["template"]["spec"]["containers"]] == ["busybox", "busybox-2", "nginx"]
    with pytest.raises(CliError, match="multiple --image"):
        deployment_for("m", ["a", "b"], command=["date"])
    with pytest.raises(CliError, match='"image" not set'):
        deployment_for("m", [])


@pytest.mark.parametrize(
    ("image", "name"),
    [("nginx", "nginx"), ("nginx:1.22", "nginx"), ("localhost:5000/team/my_app:2", "my-app"),
     ("busybox@sha256:abc", "busybox"), ("Registry/UPPER.Case", "upper-case")],
)  # fmt: skip
def test_container_name_from_image(image: str, name: str) -> None:
    assert container_name_for(image) == name


def test_run_pod_is_labelled_run_name_with_args_env_port() -> None:
    pod = pod_for("web", "busybox", restart="Never", port=8080, env=parse_env(["A=1", "B=x=y"]), arguments=["sleep", "9"])
    assert pod["metadata"]["labels"] == {"run": "web"}
    container = pod["spec"]["containers"][0]
    assert container == {
        "image": "busybox", "name": "web", "resources": {}, "args": ["sleep", "9"],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "x=y"}], "ports": [{"containerPort": 8080}],
    }  # fmt: skip
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["dnsPolicy"] == "ClusterFirst"
    Pod.model_validate(pod)


def test_run_labels_replace_run_label_and_command_flag() -> None:
    pod = pod_for("web", "busybox", labels={"app": "x", "tier": "db"}, arguments=["sh"], as_command=True)
    assert pod["metadata"]["labels"] == {"app": "x", "tier": "db"}
    assert pod["spec"]["containers"][0]["command"] == ["sh"]
    assert "args" not in pod["spec"]["containers"][0]


def _deployment(**labels: str) -> dict[str, object]:
    return {
        "metadata": {"name": "web", "labels": labels},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP", "name": "dns"}]},
        ]}}},
    }  # fmt: skip


def test_expose_deployment_takes_its_selector_and_labels() -> None:
    svc = service_for("Deployment", _deployment(app="web", tier="front"), port=8080, target_port=80, service_type="NodePort")
    assert svc["metadata"] == {"creationTimestamp": None, "labels": {"app": "web", "tier": "front"}, "name": "web"}
    assert svc["spec"] == {
        "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 80}], "selector": {"app": "web"}, "type": "NodePort",
    }  # fmt: skip
    Service.model_validate(svc)


def test_expose_without_port_uses_the_objects_ports_named_when_several() -> None:
    svc = service_for("Deployment", _deployment(), name="other")
    assert svc["metadata"]["name"] == "other" and "labels" not in svc["metadata"]
    assert svc["spec"]["ports"] == [
        {"name": "port-1", "port": 80, "protocol": "TCP", "targetPort": 80},
        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
    ]
    assert "type" not in svc["spec"]


def test_expose_pod_selects_its_labels_and_service_its_selector() -> None:
    pod = {"metadata": {"name": "p", "labels": {"run": "p"}}, "spec": {"containers": [{"name": "p"}]}}
    assert service_for("Pod", pod, port=80, protocol="UDP")["spec"]["selector"] == {"run": "p"}
    assert service_for("Pod", pod, port=80, protocol="UDP")["spec"]["ports"][0]["protocol"] == "UDP"
    svc = {"metadata": {"name": "s"}, "spec": {"selector": {"app": "s"}, "ports": [{"port": 443, "targetPort": 8443}]}}
    made = service_for("Service", svc, name="s2")
    assert made["spec"]["selector"] == {"app": "s"}
    assert made["spec"]["ports"] == [{"port": 443, "protocol": "TCP", "targetPort": 443}]


def test_expose_refusals() -> None:
    with pytest.raises(CliError, match="has no labels"):
        service_for("Pod", {"metadata": {"name": "p"}, "spec": {}}, port=80)
    with pytest.raises(CliError, match="couldn't find port"):
        service_for("Pod", {"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{}]}})
    with pytest.raises(CliError, match="matchExpressions"):
        service_for("ReplicaSet", {"metadata": {"name": "r"}, "spec": {"selector": {
            "matchLabels": {"a": "b"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]}}}, port=80)  # fmt: skip
    with pytest.raises(CliError, match="cannot expose a Node"):
        service_for("Node", {"metadata": {"name": "n"}}, port=80)


def test_flag_values_give_one_line_errors_naming_the_flag() -> None:
    assert parse_port("80") == 80 and parse_replicas("0") == 0 and parse_target_port("http") == "http"
    assert parse_target_port("8080") == 8080
    assert parse_service_type("nodeport") == "NodePort" and parse_protocol("udp") == "UDP"
    assert parse_key_values("app=web,tier=") == {"app": "web", "tier": ""}
    for call, flag in [
        (lambda: parse_port("http"), "--port"), (lambda: parse_port("70000"), "--port"),
        (lambda: parse_replicas("-1"), "--replicas"), (lambda: parse_target_port("Bad_Name"), "--target-port"),
        (lambda: parse_service_type("LoadBalancer"), "--type"), (lambda: parse_protocol("SCTP"), "--protocol"),
        (lambda: parse_restart("Sometimes"), "--restart"), (lambda: parse_env(["NOVALUE"]), "--env"),
        (lambda: parse_key_values("a"), "--labels"), (lambda: parse_key_values("a=b c"), "--labels"),
    ]:  # fmt: skip
        with pytest.raises(CliError) as info:
            call()
        assert flag in str(info.value) and "\n" not in str(info.value)


def test_label_args_split_and_checked() -> None:
    assert split_args(["deploy", "web", "a=b", "c-"], LABEL) == (["deploy", "web"], {"a": "b"}, ["c"])
    assert split_args(["pod/x", "note=any text / at all"], ANNOTATION)[1] == {"note": "any text / at all"}
    with pytest.raises(CliError, match="at least one label update"):
        split_args(["pods", "x"], LABEL)
    with pytest.raises(CliError, match="invalid label spec"):
        split_args(["pods", "x", "a=not valid"], LABEL)
    with pytest.raises(CliError, match="can not both modify and remove a label"):
        split_args(["pods", "x", "a=b", "a-"], LABEL)


def test_overwrite_refusals_as_kubectl_words_them() -> None:
    with pytest.raises(CliError) as info:
        metadata_patch({"k": "v"}, {"k": "w"}, [], overwrite=False, verb=LABEL)
    assert str(info.value) == "'k' already has a value (v), and --overwrite is false"
    with pytest.raises(CliError) as info:
        metadata_patch({"k": "v"}, {"k": "w"}, [], overwrite=False, verb=ANNOTATION)
    assert str(info.value) == "--overwrite is false but found the following declared annotation(s): 'k' already has a value (v)"
    # The same value again is no conflict, and no change.
    assert metadata_patch({"k": "v"}, {"k": "v"}, [], overwrite=False, verb=LABEL) == ({}, [])
    patch, notes = metadata_patch({"k": "v", "x": "1"}, {"k": "w", "n": "1"}, ["x", "gone"], overwrite=True, verb=LABEL)
    assert patch == {"k": "w", "n": "1", "x": None}
    assert notes == ['label "gone" not found.']


def test_api_resources_grouped_core_first_then_by_name() -> None:
    def r(name: str, group: str, kind: str, short: tuple[str, ...] = (), namespaced: bool = True) -> ApiResource:
        return ApiResource(name, short, group, f"{group}/v1" if group else "v1", namespaced, kind, ("get", "list"), ())

    resources = [r("jobs", "batch", "Job"), r("pods", "", "Pod", ("po",)), r("deployments", "apps", "Deployment", ("deploy",)),
                 r("nodes", "", "Node", ("no",), False)]  # fmt: skip
    headers, rows = resource_rows(resources, wide=False, sort_by=None)
    assert headers == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert rows == [
        ["nodes", "no", "v1", "false", "Node"], ["pods", "po", "v1", "true", "Pod"],
        ["deployments", "deploy", "apps/v1", "true", "Deployment"], ["jobs", "", "batch/v1", "true", "Job"],
    ]  # fmt: skip
    assert [row[0] for row in resource_rows(resources, wide=False, sort_by="kind")[1]] == ["deployments", "jobs", "nodes", "pods"]
    wide_headers, wide_rows = resource_rows(resources[:1], wide=True, sort_by=None)
    assert wide_headers[-2:] == ["VERBS", "CATEGORIES"] and wide_rows[0][-2] == "[get list]"

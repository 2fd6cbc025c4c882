"""Container environments as Kubernetes computes them."""

from __future__ import annotations

import pytest

from agent.env import ContainerConfigError, container_env, expand
from kajitori.api.core import Pod


class Source:
    def __init__(self) -> None:
        self.maps = {"settings": {"MODE": "fast", "bad key": "x", "LEVEL": "3"}}
        self.secrets = {"creds": {"password": b"s3cret"}}

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return self.maps.get(name)

    def secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        return self.secrets.get(name)


def pod_with(container: dict[str, object]) -> Pod:
    return Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "team", "uid": "u-1", "labels": {"app": "web"}},
            "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "busybox:1", **container}]},
        }
    )


def env_of(container: dict[str, object]) -> dict[str, str]:
    pod = pod_with(container)
    return container_env(pod, pod.spec.containers[0], Source(), pod_ip="10.244.1.5", host_ip="192.168.56.11")


def test_env_from_then_env_with_value_from_and_expansion() -> None:
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}, {"secretRef": {"name": "creds"}}],
            "env": [
                {"name": "CFG_MODE", "value": "slow"},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "URL", "value": "http://$(IP):80/$(MISSING)/$$(IP)"},
            ],
        }
    )
    assert env == {
        "CFG_MODE": "slow",
        "CFG_LEVEL": "3",
        "password": "s3cret",
        "IP": "10.244.1.5",
        "NODE": "node1",
        "NS": "team",
        "APP": "web",
        "PW": "s3cret",
        "URL": "http://10.244.1.5:80/$(MISSING)/$(IP)",
    }


@pytest.mark.parametrize(
    ("container", "message"),
    [
        pytest.param({"envFrom": [{"configMapRef": {"name": "absent"}}]}, 'configmap "absent" not found', id="envFrom-configmap"),
        pytest.param({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "nope"}}}]},
                     "couldn't find key nope", id="configmap-key"),
        pytest.param({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}]},
                     'secret "absent" not found', id="secret"),
    ],
)  # fmt: skip
def test_missing_sources_are_config_errors(container: dict[str, object], message: str) -> None:
    with pytest.raises(ContainerConfigError, match=message):
        env_of(container)


def test_optional_sources_may_be_missing() -> None:
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "absent", "optional": True}}],
            "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}}],
        }
    )
    assert env == {}


def test_expand_keeps_unknown_references() -> None:
    assert expand("$(A)-$(B)", {"A": "1"}) == "1-$(B)"

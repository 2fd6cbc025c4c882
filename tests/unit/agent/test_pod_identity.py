"""The token volume's renewal at 80 % of its life and the kubelet's Docker-link variables of a Service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.pod_identity import PodIdentity, service_link_env
from kajitori.api.core import Pod


class TokenApi:
    """Answers TokenRequests with numbered tokens; counts them."""

    def __init__(self) -> None:
        self.issued = 0

    def request(self, method: str, path: str, *, body: Any = None) -> Any:
        assert method == "POST" and path.endswith("/serviceaccounts/default/token")
        assert body["spec"]["boundObjectRef"] == {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "u1"}
        self.issued += 1
        return {"spec": {"expirationSeconds": body["spec"]["expirationSeconds"]}, "status": {"token": f"token-{self.issued}"}}


def pod(**spec: Any) -> Pod:
    return Pod.model_validate({"metadata": {"name": "web", "namespace": "team", "uid": "u1"},
                               "spec": {"serviceAccountName": "default", "containers": [{"name": "c", "image": "i"}], **spec}})  # fmt: skip


def test_the_token_is_written_then_renewed_at_80_percent_of_its_life(tmp_path: Path) -> None:
    now = [1000.0]
    api = TokenApi()
    identity = PodIdentity(api, lambda uid, vol: tmp_path / uid / vol, b"CA", clock=lambda: now[0])  # type: ignore[arg-type]
    p = pod(automountServiceAccountToken=True)
    assert identity.ensure(p) == pytest.approx(0.8 * 3607)
    volume = tmp_path / "u1" / "kube-api-access"
    assert {f.name: f.read_bytes() for f in volume.iterdir()} == {"token": b"token-1", "ca.crt": b"CA", "namespace": b"team"}
    now[0] += 0.8 * 3607 - 1
    assert identity.ensure(p) == pytest.approx(1)
    assert api.issued == 1
    now[0] += 1
    assert identity.ensure(p) == pytest.approx(0.8 * 3607)
    assert (volume / "token").read_bytes() == b"token-2"
    assert identity.mounts(p, set())[0].container_path == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert identity.mounts(p, set())[0].read_only


def test_automount_off_writes_nothing(tmp_path: Path) -> None:
    api = TokenApi()
    identity = PodIdentity(api, lambda uid, vol: tmp_path / uid / vol, b"CA")  # type: ignore[arg-type]
    p = pod(automountServiceAccountToken=False)
    assert identity.ensure(p) is None
    assert identity.mounts(p, set()) == ()
    assert api.issued == 0


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        pytest.param(
            {"metadata": {"name": "kubernetes"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}},
            {
                "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
                "KUBERNETES_PORT": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
                "KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
            },
            id="kubernetes",
        ),
        pytest.param(
            {"metadata": {"name": "my-dns"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}]}},
            {
                "MY_DNS_SERVICE_HOST": "10.96.0.10", "MY_DNS_SERVICE_PORT": "53", "MY_DNS_PORT": "udp://10.96.0.10:53",
                "MY_DNS_PORT_53_UDP": "udp://10.96.0.10:53", "MY_DNS_PORT_53_UDP_PROTO": "udp", "MY_DNS_PORT_53_UDP_PORT": "53",
                "MY_DNS_PORT_53_UDP_ADDR": "10.96.0.10",
            },
            id="unnamed-udp-port",
        ),
        pytest.param({"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}, {}, id="headless"),
    ],
)  # fmt: skip
def test_service_link_env(service: dict[str, Any], expected: dict[str, str]) -> None:
    assert service_link_env(service) == expected

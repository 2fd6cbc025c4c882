"""One pass of the ingress controller on filled caches, a fake nginx and a recording client:
what it writes to nginx, which Events and which status writes it makes."""

from __future__ import annotations

import base64
from pathlib import Path

from kajitori.api.core import Endpoints, Secret, Service
from kajitori.api.networking import Ingress, IngressClass
from net.ingress.controller import IngressController, IngressSettings
from tests.unit.controllers.fakes import FakeInformers, RecordingClient, RecordingRecorder


class FakeNginx:
    """Accepts any configuration without the word "broken" (a certificate file of Secret broken-tls)."""

    def __init__(self) -> None:
        self.running: Path | None = None
        self.checked: list[str] = []
        self.reloads: list[str] = []

    def ensure_running(self, config: Path) -> None:
        self.running = config

    def check(self, config: Path) -> str | None:
        text = config.read_text()
        self.checked.append(text)
        return 'cannot load certificate "broken": PEM_read_bio_X509_AUX() failed' if "broken" in text else None

    def reload(self, config: Path) -> None:
        self.reloads.append(config.read_text())


def ingress(name: str, host: str, service: str, *, klass: str = "kajitori", secret: str | None = None) -> Ingress:
    spec: dict[str, object] = {
        "ingressClassName": klass,
        "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}],
    }  # fmt: skip
    if secret:
        spec["tls"] = [{"hosts": [host], "secretName": secret}]
    return Ingress.model_validate({"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 1}, "spec": spec})


def make(tmp_path: Path, *ingresses: Ingress) -> tuple[IngressController, FakeNginx, RecordingClient, RecordingRecorder]:
    informers, nginx, client, recorder = FakeInformers(), FakeNginx(), RecordingClient(), RecordingRecorder()
    informers.informer(IngressClass).add(
        IngressClass.model_validate({"metadata": {"name": "kajitori"}, "spec": {"controller": "kajitori.io/ingress-nginx"}}),
        IngressClass.model_validate({"metadata": {"name": "other"}, "spec": {"controller": "acme.io/other"}}),
    )
    informers.informer(Service).add(Service.model_validate({"metadata": {"name": "web", "namespace": "default"},
                                                            "spec": {"ports": [{"port": 80}]}}))  # fmt: skip
    informers.informer(Endpoints).add(Endpoints.model_validate({
        "metadata": {"name": "web", "namespace": "default"}, "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}],
    }))  # fmt: skip
    pem = base64.b64encode(b"x").decode()
    informers.informer(Secret).add(Secret.model_validate({"metadata": {"name": "broken-tls", "namespace": "default"},
                                                          "type": "kubernetes.io/tls", "data": {"tls.crt": pem, "tls.key": pem}}))  # fmt: skip
    informers.informer(Ingress).add(*ingresses)
    settings = IngressSettings(config_dir=tmp_path, publish_addresses=["192.168.56.11", "192.168.56.12"])
    controller = IngressController(client, nginx, settings, informers=informers, recorder=recorder)
    return controller, nginx, client, recorder


def test_a_pass_serves_our_class_reloads_once_and_publishes_status(tmp_path: Path) -> None:
    controller, nginx, client, recorder = make(tmp_path, ingress("ours", "a.test", "web"), ingress("theirs", "b.test", "web", klass="other"))
    controller.sync()
    config = (tmp_path / "nginx.conf").read_text()
    assert "server_name a.test;" in config and "b.test" not in config
    assert nginx.reloads == [config] and nginx.running == tmp_path / "nginx.conf"
    assert [(verb, name) for verb, _, name in client.verbs()] == [("update_status", "ours")]
    status = client.writes[0][3].status.loadBalancer.to_dict()
    assert status == {"ingress": [{"ip": "192.168.56.11"}, {"ip": "192.168.56.12"}]}
    assert recorder.events == [("Normal", "ours", "Sync", "generation 1 served by nginx")]
    controller.sync()  # nothing changed: no check, no reload, no new Event
    assert len(nginx.checked) == 1 and len(nginx.reloads) == 1 and len(recorder.events) == 1
    changed = ingress("ours", "a2.test", "web")
    changed.metadata.generation = 2
    controller.ingresses.add(changed)  # type: ignore[attr-defined]
    controller.sync()
    assert "server_name a2.test;" in nginx.reloads[-1]
    assert recorder.events[-1] == ("Normal", "ours", "Sync", "generation 2 served by nginx")


def test_an_ingress_nginx_refuses_is_left_out_with_a_warning_and_the_others_served(tmp_path: Path) -> None:
    controller, nginx, client, recorder = make(
        tmp_path, ingress("good", "a.test", "web"), ingress("bad", "bad.test", "web", secret="broken-tls")
    )
    controller.sync()
    config = (tmp_path / "nginx.conf").read_text()
    assert "server_name a.test;" in config and "bad.test" not in config
    assert nginx.reloads == [config]
    assert recorder.events == [
        ("Warning", "bad", "RejectedByNginx",
         'left out of nginx\'s configuration: cannot load certificate "broken": PEM_read_bio_X509_AUX() failed'),
        ("Normal", "good", "Sync", "generation 1 served by nginx"),
    ]  # fmt: skip
    assert [(verb, name) for verb, _, name in client.verbs()] == [("update_status", "good")]
    assert list((tmp_path / "certs").iterdir()) == []  # the refused certificate is not kept
    checks = len(nginx.checked)
    controller.sync()
    assert len(recorder.events) == 2  # reported once
    assert len(nginx.checked) == checks and len(nginx.reloads) == 1  # nothing changed: no new check, no reload


def test_a_missing_service_is_reported_once(tmp_path: Path) -> None:
    controller, _nginx, _client, recorder = make(tmp_path, ingress("lost", "a.test", "nope"))
    controller.sync()
    controller.sync()
    assert recorder.events == [
        ("Normal", "lost", "Sync", "generation 1 served by nginx"),
        ("Warning", "lost", "ServiceNotFound", "service default/nope not found"),
    ]
    assert 'return 503 "service default/nope not found\\n";' in (tmp_path / "nginx.conf").read_text()


def test_the_publish_services_address_is_the_status_once_it_has_one(tmp_path: Path) -> None:
    controller, _nginx, client, _recorder = make(tmp_path, ingress("ours", "a.test", "web"))
    controller.settings.publish_service = "kube-system/ingress-nginx"
    controller.sync()  # the Service does not exist (yet): the configured addresses
    assert client.writes[-1][3].status.loadBalancer.to_dict() == {"ingress": [{"ip": "192.168.56.11"}, {"ip": "192.168.56.12"}]}
    front = Service.model_validate({"metadata": {"name": "ingress-nginx", "namespace": "kube-system"},
                                    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
                                    "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.200"}]}}})  # fmt: skip
    controller.services.add(front)  # type: ignore[attr-defined]
    published = client.writes[-1][3]
    controller.ingresses.add(published)  # type: ignore[attr-defined]  # the informer brings the status back
    controller.sync()
    assert client.writes[-1][3].status.loadBalancer.to_dict() == {"ingress": [{"ip": "192.168.56.200"}]}
